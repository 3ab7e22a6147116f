/**
 * The image resource's resolved input shape, shared by the provider (providers/packer/index.ts) and
 * its pure helpers. Plain data only: every value is JSON, paths are relative to the project root.
 */

/** Base image selection: an explicit id, or the newest image matching a name filter and owners. */
export interface BaseImage {
    /** Explicit base image id (`ami-…`) in the build region; wins over `nameFilter`. */
    id?: string;
    /** Image name filter, e.g. `debian-12-amd64-*`. */
    nameFilter?: string;
    /** Owner account ids (or `amazon`, `self`, `aws-marketplace`) for the name filter. */
    owners?: string[];
}

/** Every input after defaults were applied (what `check` returns). */
/** How an instance Packer launches (the builder, its boot test) is placed and reached: the same for both. */
export interface LaunchSettings {
    subnetId: string;
    vpcId: string;
    /** Ask for a public IP on the instance even where the subnet maps none (Packer's associate_public_ip_address). */
    associatePublicIpAddress: boolean;
    /** How Packer reaches the instance: one of {@link SSH_INTERFACES}, or "" for its default (public IP, else private). */
    sshInterface: string;
    sshCidrs: string[];
    ec2Endpoint: string;
    emulator: boolean;
    sshHost: string;
    sshPort: number;
    sshUsername: string;
}

export interface ResolvedImageInputs extends LaunchSettings {
    templateDir: string;
    region: string;
    copyRegions: string[];
    instanceType: string;
    couchbaseEdition: string;
    couchbaseVersion: string;
    /** `download` (Couchbase's release URL, sha256-checked), `repository`, or a folder holding the `.deb`. */
    couchbasePackageSource: string;
    /**
     * sha256 the downloaded package must have (download mode): the stack's pin, or `""` for the
     * project's table (providers/packer/couchbasePackages.ts); `check` resolves `""` to the table's
     * value. Empty in the other modes.
     */
    couchbasePackageSha256: string;
    /** CPU architecture of the image, `amd64` or `arm64`: which package download mode fetches. */
    architecture: string;
    /** URL of Couchbase's couchbase-release .deb (repository mode). */
    couchbaseReleaseUrl: string;
    /** Pinned sha256 of that .deb, 64 lowercase hex (repository mode; empty otherwise). */
    couchbaseReleaseSha256: string;
    /** Pinned fingerprints of the signing keys it ships, 40 uppercase hex each (repository mode). */
    couchbaseKeyFingerprints: string[];
    baseImage: BaseImage;
    agentArtifact: string;
    agentSha256: string;
    agentVersion: string;
    agentUnit: string;
    namePrefix: string;
    stack: string;
    release: string;
    environment: string;
    owner: string;
    ttlHours: number;
    extraTags: Record<string, string>;
    kmsKeyId: string;
    buildTimeoutMinutes: number;
    providerVersion: string;
    /** The resource's own URN (set by the PackerImage class): where build progress is logged. Optional. */
    resourceUrn?: string;
}

/** The couchbase-release .deb's URL, as the template's default (`couchbase_release_url`). */
export const COUCHBASE_RELEASE_URL = "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb";

/**
 * Inputs that pin Couchbase's apt repository. They shape the image only when
 * `couchbasePackageSource` is `repository`: only then are they passed to Packer and fingerprinted.
 */
export const REPOSITORY_FIELDS = ["couchbaseReleaseUrl", "couchbaseReleaseSha256", "couchbaseKeyFingerprints"] as const;

/**
 * Inputs that choose and check the downloaded package. They shape the image only when
 * `couchbasePackageSource` is `download`: only then are they passed to Packer and fingerprinted.
 */
export const DOWNLOAD_FIELDS = ["couchbasePackageSha256", "architecture"] as const;

/** The package sources that are no folder. */
export const PACKAGE_SOURCE_MODES = ["download", "repository"] as const;

/**
 * Packer's `ssh_interface` values the project supports: which address of the builder SSH goes to.
 * (`session_manager` needs an instance profile and the SSM plugin on the machine running Packer: not supported.)
 */
export const SSH_INTERFACES = ["public_ip", "private_ip", "public_dns", "private_dns"] as const;

/** Defaults for every optional input (documented on PackerImageArgs). */
export const DEFAULTS = {
    templateDir: "images/aws",
    copyRegions: [] as string[],
    instanceType: "t3.medium",
    couchbaseEdition: "enterprise",
    couchbasePackageSource: "download",
    couchbasePackageSha256: "",
    architecture: "amd64",
    couchbaseReleaseUrl: COUCHBASE_RELEASE_URL,
    couchbaseReleaseSha256: "",
    couchbaseKeyFingerprints: [] as string[],
    baseImage: { nameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*", owners: ["099720109477"] } as BaseImage,
    agentVersion: "",
    agentUnit: "agent/dp-agent.service",
    namePrefix: "couchbase-cloud-server",
    release: "",
    ttlHours: 72,
    extraTags: {} as Record<string, string>,
    kmsKeyId: "",
    subnetId: "",
    vpcId: "",
    associatePublicIpAddress: false,
    sshInterface: "",
    ec2Endpoint: "",
    emulator: false,
    sshHost: "",
    sshPort: 0,
    sshUsername: "ubuntu",
    buildTimeoutMinutes: 90,
} as const;

/**
 * Input fields whose change forces a new image (they are part of the fingerprint; the repository
 * pins only in repository mode, see {@link buildFields}). The rest change tags or build-time
 * settings only and are applied by `update` without a rebuild.
 */
export const BUILD_FIELDS: readonly (keyof ResolvedImageInputs)[] = [
    "templateDir",
    "region",
    "instanceType",
    "couchbaseEdition",
    "couchbaseVersion",
    "couchbasePackageSource",
    ...REPOSITORY_FIELDS,
    ...DOWNLOAD_FIELDS,
    "baseImage",
    "agentSha256",
    "agentUnit",
    "namePrefix",
    "stack",
    "release",
    "kmsKeyId",
    "sshUsername",
];

/** The engine's placeholder for a value not known yet (validate.ts re-exports it as UNKNOWN). */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/**
 * The build-defining fields for a given package source: {@link BUILD_FIELDS}, without the
 * repository pins unless the package comes from the repository, and without the download fields
 * unless it is downloaded (the fields of another mode are neither passed to Packer nor
 * fingerprinted, so changing them rebuilds nothing). A source not known yet (preview) keeps all.
 */
export function buildFields(couchbasePackageSource: unknown): readonly (keyof ResolvedImageInputs)[] {
    if (typeof couchbasePackageSource !== "string" || couchbasePackageSource === UNKNOWN_VALUE) return BUILD_FIELDS;
    const unused: readonly string[] = [
        ...(couchbasePackageSource === "repository" ? [] : REPOSITORY_FIELDS),
        ...(couchbasePackageSource === "download" ? [] : DOWNLOAD_FIELDS),
    ];
    return BUILD_FIELDS.filter((f) => !unused.includes(f));
}

/** Resolved inputs as the image provider sees them (after `check`): providers/packer/provider.ts. */
export interface ImageProviderInputs extends ResolvedImageInputs {
    /** Computed by `check`: sha256 of the whole build-defining input set. */
    fingerprint?: string;
    /** Computed by `check`: part name → sha256, so a diff can name what changed. */
    fingerprintParts?: Record<string, string>;
    /** Set by the engine: the serialized provider. */
    __provider?: string;
    /**
     * Literal values of config keys set as secrets (`pulumi config set --secret`), a secret
     * input (encrypted in state): masked in every line this provider prints or logs. Not part
     * of the image.
     */
    secretValues?: string[];
}

/** Outputs: the inputs plus what the build produced.  */
export interface ImageProviderOutputs extends ImageProviderInputs {
    imageId: string;
    imageName: string;
    snapshotIds: string[];
    fingerprint: string;
    fingerprintParts: Record<string, string>;
    packerVersion: string;
    pluginVersion: string;
    createdAt: string;
    tags: Record<string, string>;
    /** Project-relative path of the build log (empty when the image was adopted). */
    buildLog: string;
    /**
     * Set by `read` (refresh) when the image was deregistered out of band but snapshots of it
     * remain: the resource stays in state so the next `up` (a rebuild) or `destroy` deletes them.
     */
    deregistered?: boolean;
}
