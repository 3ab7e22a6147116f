/**
 * The image resource's resolved input shape, shared by the provider (providers/packer/index.ts) and
 * its pure helpers. Plain data only: every value is JSON, paths are relative to the project root.
 */

import { COUCHBASE_RELEASE_URL, INPUTS } from "../../pipeline/inputs";

/** Base image selection: an explicit id, or the newest image matching a name filter and owners. */
export interface BaseImage {
    /** Explicit base image id (`ami-…`) in the build region; wins over `nameFilter`. */
    id?: string;
    /** Image name filter, e.g. `debian-12-amd64-*`. */
    nameFilter?: string;
    /** Owner account ids (or `amazon`, `self`, `aws-marketplace`) for the name filter. */
    owners?: string[];
}

/**
 * How an instance Packer launches (the builder, its boot test) is placed and reached: the same
 * for both. None of these shapes the image except `sshUsername`.
 */
export interface LaunchSettings {
    /** Subnet for the instance. Defaults to the default VPC's. Build-time only, no rebuild. */
    subnetId: string;
    /** VPC for the instance. Defaults to the default VPC; needs `subnetId` in another VPC. Build-time only, no rebuild. */
    vpcId: string;
    /**
     * Ask for a public IP on the instance even where the subnet maps none on launch (a public
     * subnet of a custom VPC; Packer's `associate_public_ip_address`). Defaults to false: the
     * subnet decides. No rebuild.
     */
    associatePublicIpAddress: boolean;
    /**
     * Which address of the instance Packer's SSH goes to: one of {@link SSH_INTERFACES}, or ""
     * (the default: the public IP if it has one, else the private IP). `private_ip` for a private
     * subnet reached from inside the VPC (a runner there, a VPN). No rebuild.
     */
    sshInterface: string;
    /** CIDRs allowed to SSH to the instance (never `0.0.0.0/0` or `::/0`). Required. Build-time only, no rebuild. */
    sshCidrs: string[];
    /**
     * EC2 endpoint override (the local emulator, `http://127.0.0.1:<port>`). Reaches Packer as
     * `AWS_ENDPOINT_URL_EC2` and the template's `ec2_endpoint`. Defaults to AWS. No rebuild.
     */
    ec2Endpoint: string;
    /** Emulator mode: Packer skips credential, region and metadata validation. Defaults to false. No rebuild. */
    emulator: boolean;
    /** SSH host override (local sandbox, `127.0.0.1`). Defaults to the instance's address. No rebuild. */
    sshHost: string;
    /** SSH port override. Defaults to 0: Packer's 22. No rebuild. */
    sshPort: number;
    /** SSH user on the base image. Defaults to `ubuntu`. Forces a rebuild (of the image). */
    sshUsername: string;
}

/**
 * Every input of the image resource after defaults were applied (what `check` returns), each
 * documented once here: PackerImageArgs (providers/packer/index.ts) is derived from it. Paths are
 * relative to the project root; absolute paths are rejected, because inputs are stored in state
 * and must be the same on every machine. Defaults: {@link DEFAULTS}.
 */
export interface ResolvedImageInputs extends LaunchSettings {
    /**
     * Folder with the Packer template (`*.pkr.hcl`) and its scripts. Defaults to `images/aws`.
     * The files that go into the image are fingerprinted: every file under it except those its
     * `.imageignore` lists (CI script, README, test fixtures; see providers/packer/imageFiles.ts)
     * and the ignore file itself. An edit, rename or mode change of a fingerprinted file forces a
     * rebuild; of an ignored one, nothing.
     */
    templateDir: string;
    /** Build region, e.g. `eu-west-1`. Required. Forces a rebuild. */
    region: string;
    /**
     * Regions the program copies the image to (AmiCopy). Used only to validate that the build region
     * is not among them and that none is duplicated. Defaults to none. No rebuild.
     */
    copyRegions: string[];
    /** Builder instance type. Defaults to the stack key's default (pipeline/inputs.ts), `t3.large`. Forces a rebuild. */
    instanceType: string;
    /** Couchbase edition: `enterprise` or `community`. Defaults to `enterprise`. Forces a rebuild. */
    couchbaseEdition: string;
    /** Couchbase Server version, exactly `X.Y.Z` (e.g. `8.0.0`). Required. Forces a rebuild. */
    couchbaseVersion: string;
    /**
     * Where the `couchbase-server` package comes from: `download` (the exact `.deb` for the
     * version, edition and architecture from Couchbase's release URL, refused unless its sha256
     * matches `couchbasePackageSha256`), `repository` (Couchbase's apt repository), or a relative
     * folder holding a `.deb` (whose content is fingerprinted). Defaults to `download`. Forces a
     * rebuild.
     */
    couchbasePackageSource: string;
    /**
     * sha256 (64 hex digits) the downloaded package must have, for a package the project's table
     * (providers/packer/couchbasePackages.ts, Couchbase Server Enterprise) lacks: the value
     * Couchbase publishes at `<package URL>.sha256`. Defaults to `""`: the table's value, which
     * `check` fills in; a package neither has fails `check`, as does a pin that differs from the
     * table. Used, and forces a rebuild, only when `couchbasePackageSource` is `download`.
     */
    couchbasePackageSha256: string;
    /**
     * CPU architecture of the image, `amd64` or `arm64`: which package `download` fetches (the
     * base image and instance type must match it). Defaults to `amd64`. Forces a rebuild in
     * download mode.
     */
    architecture: string;
    /**
     * URL (https) of Couchbase's `couchbase-release` .deb, which carries the apt signing keys.
     * Defaults to the template's {@link COUCHBASE_RELEASE_URL}. Used, and forces a rebuild, only
     * when `couchbasePackageSource` is `repository`.
     */
    couchbaseReleaseUrl: string;
    /**
     * Pinned sha256 of that .deb (64 hex digits, stored lowercase; `sha256sum` of a trusted
     * download). Required when `couchbasePackageSource` is `repository` (the build fails closed
     * without it); defaults to `""`. Forces a rebuild in repository mode.
     */
    couchbaseReleaseSha256: string;
    /**
     * Pinned fingerprints (40 hex digits each; spaces are stripped, letters uppercased) of the
     * signing keys the .deb ships (`gpg --show-keys` on its key files); they must match exactly.
     * Required when `couchbasePackageSource` is `repository`; defaults to none. Forces a rebuild in
     * repository mode (order and duplicates aside).
     */
    couchbaseKeyFingerprints: string[];
    /**
     * Base image: `{id}` or `{nameFilter, owners}`. Defaults to Ubuntu 24.04 LTS
     * (`ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*`, owner Canonical
     * `099720109477`), the template's default. Forces a rebuild.
     */
    baseImage: BaseImage;
    /**
     * Size of the gp3 root volume in GiB (8 to 16384). Defaults to 0: the template's default (30).
     * Passed to Packer and fingerprinted only when set, so images built before this input existed
     * keep their fingerprint. Forces a rebuild.
     */
    rootVolumeSize: number;
    /**
     * Root device name of the base image (`/dev/sda1` on Ubuntu, `/dev/xvda` on Debian), which
     * the root volume mapping resizes. Defaults to `""`: the template's default (`/dev/sda1`).
     * Passed and fingerprinted only when set. Forces a rebuild.
     */
    rootDeviceName: string;
    /** Relative path to the gzipped agent binary (`dp-agent.gz`). Required. No rebuild by itself. */
    agentArtifact: string;
    /**
     * sha256 (64 lowercase hex) of the agent artifact; `check` verifies the file against it.
     * Required. Forces a rebuild.
     */
    agentSha256: string;
    /** Agent version label, recorded in outputs and tags only. Defaults to `""`. No rebuild. */
    agentVersion: string;
    /** Relative path to the agent's systemd unit. Defaults to `agent/dp-agent.service`. Forces a rebuild (content). */
    agentUnit: string;
    /**
     * Image name prefix; the name is `<prefix>-<release or stack>-<fingerprint[0:12]>`. Defaults to
     * `couchbase-cloud-server`. Forces a rebuild (image names are immutable).
     */
    namePrefix: string;
    /** Pulumi stack name (tag `Stack`, part of the name). Required. Forces a rebuild. */
    stack: string;
    /**
     * Release name for production images (e.g. `v0.1.17`); used in the name instead of the stack,
     * and the image never expires. Defaults to none. Forces a rebuild.
     */
    release: string;
    /** `dev`, `stage`, `prod` or `local` (tag `Environment`). Required. Tags only, no rebuild. */
    environment: string;
    /** Who asked for the image (tag `Owner`). Required. Tags only, no rebuild. */
    owner: string;
    /**
     * Hours until the janitor may delete the image (tag `ExpiresAt`); `0` or a release/prod image
     * means `never`. Defaults to 72. Tags only, no rebuild.
     */
    ttlHours: number;
    /** Extra tags on the image, its snapshots and the builder. Defaults to none. Tags only, no rebuild. */
    extraTags: Record<string, string>;
    /** KMS key (id or ARN) for the build region's encrypted image. Defaults to the account's EBS key. Forces a rebuild. */
    kmsKeyId: string;
    /** The provider's own deadline for `packer build`, in minutes. Defaults to 90. No rebuild. */
    buildTimeoutMinutes: number;
    /** Set by the PackerImage class: the provider behaviour version (providers/packer/index.ts). */
    providerVersion: string;
    /** The resource's own URN (set by the PackerImage class): where build progress is logged. Optional. */
    resourceUrn?: string;
}

/** The couchbase-release .deb's URL, as the template's default (`couchbase_release_url`): pipeline/inputs.ts. */
export { COUCHBASE_RELEASE_URL };

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

/**
 * Defaults for every optional input (documented on {@link ResolvedImageInputs}). Where a stack
 * configuration key feeds the input, its default is the key's (pipeline/inputs.ts): one value for
 * the program and for a PackerImage used on its own. Computed when the module loads, so the
 * provider's serialized text holds these values, not the table.
 */
export const DEFAULTS = {
    templateDir: INPUTS.templateDir.default,
    copyRegions: [] as string[],
    instanceType: INPUTS.instanceType.default as string,
    couchbaseEdition: INPUTS.couchbaseEdition.default as string,
    couchbasePackageSource: INPUTS.couchbasePackageSource.default as string,
    couchbasePackageSha256: "",
    architecture: "amd64",
    couchbaseReleaseUrl: COUCHBASE_RELEASE_URL,
    couchbaseReleaseSha256: INPUTS.couchbaseReleaseSha256.default as string,
    couchbaseKeyFingerprints: [] as string[],
    baseImage: { nameFilter: INPUTS.baseImageNameFilter.default, owners: [...INPUTS.baseImageOwners.default] } as BaseImage,
    rootVolumeSize: INPUTS.rootVolumeSize.default as number,
    rootDeviceName: INPUTS.rootDeviceName.default as string,
    agentVersion: "",
    agentUnit: "agent/dp-agent.service",
    namePrefix: INPUTS.namePrefix.default as string,
    release: INPUTS.release.default as string,
    ttlHours: INPUTS.ttlHours.default as number,
    extraTags: {} as Record<string, string>,
    kmsKeyId: "",
    subnetId: INPUTS.subnetId.default as string,
    vpcId: INPUTS.vpcId.default as string,
    associatePublicIpAddress: INPUTS.associatePublicIpAddress.default as boolean,
    sshInterface: INPUTS.sshInterface.default as string,
    ec2Endpoint: INPUTS.ec2Endpoint.default as string,
    emulator: INPUTS.emulator.default as boolean,
    sshHost: INPUTS.sshHost.default as string,
    sshPort: INPUTS.sshPort.default as number,
    sshUsername: INPUTS.sshUsername.default as string,
    buildTimeoutMinutes: INPUTS.buildTimeoutMinutes.default as number,
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
    "rootVolumeSize",
    "rootDeviceName",
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
