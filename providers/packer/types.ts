/**
 * The image resource's resolved input shape, shared by the provider (providers/packerImage.ts) and
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
export interface ResolvedImageInputs {
    templateDir: string;
    region: string;
    copyRegions: string[];
    instanceType: string;
    couchbaseEdition: string;
    couchbaseVersion: string;
    couchbasePackageSource: string;
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
    subnetId: string;
    vpcId: string;
    sshCidrs: string[];
    ec2Endpoint: string;
    emulator: boolean;
    sshHost: string;
    sshPort: number;
    sshUsername: string;
    buildTimeoutMinutes: number;
    providerVersion: string;
}

/** Defaults for every optional input (documented on PackerImageArgs). */
export const DEFAULTS = {
    templateDir: "images/aws",
    copyRegions: [] as string[],
    instanceType: "t3.medium",
    couchbaseEdition: "enterprise",
    couchbasePackageSource: "repository",
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
    ec2Endpoint: "",
    emulator: false,
    sshHost: "",
    sshPort: 0,
    sshUsername: "ubuntu",
    buildTimeoutMinutes: 90,
} as const;

/**
 * Input fields whose change forces a new image (they are part of the fingerprint). The rest change
 * tags or build-time settings only and are applied by `update` without a rebuild.
 */
export const BUILD_FIELDS: readonly (keyof ResolvedImageInputs)[] = [
    "templateDir",
    "region",
    "instanceType",
    "couchbaseEdition",
    "couchbaseVersion",
    "couchbasePackageSource",
    "baseImage",
    "agentSha256",
    "agentUnit",
    "namePrefix",
    "stack",
    "release",
    "kmsKeyId",
    "sshUsername",
];
