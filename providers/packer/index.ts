/**
 * The Couchbase Server image as a Pulumi resource (`pulumi-nodejs:dynamic/packer:Image`): a
 * dynamic resource whose provider (providers/packer/provider.ts) wraps `packer build`. This
 * module is what programs import: the arguments, the resource class and its outputs. The
 * provider's code is loaded only when its serialized text is not remembered yet
 * (providers/providerText.ts), so a no-change run does not load the build machinery at all.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BaseImage } from "./types";
import { providerText } from "../providerText";

/**
 * Version of this provider's behaviour, stored in every image's inputs and outputs. Bump it
 * whenever `delete`, `read` or `update` change, so existing stacks pick up the new code with one
 * `pulumi up` (a no-op update) before `pulumi destroy` runs it (docs/provider.md, "Upgrading the
 * provider").
 */
export const PROVIDER_VERSION = "1.1.0";

export type { BaseImage };

/**
 * Arguments of {@link PackerImage}. Paths are relative to the project root (the process working
 * directory of both drivers); absolute paths are rejected, because inputs are stored in state and
 * must be the same on every machine.
 */
export interface PackerImageArgs {
    /**
     * Folder with the Packer template (`*.pkr.hcl`) and its scripts. Defaults to `images/aws`.
     * The files that go into the image are fingerprinted: every file under it except those its
     * `.imageignore` lists (CI script, README, test fixtures; see providers/packer/imageFiles.ts)
     * and the ignore file itself. An edit, rename or mode change of a fingerprinted file forces a
     * rebuild; of an ignored one, nothing.
     */
    templateDir?: pulumi.Input<string>;
    /** Build region, e.g. `eu-west-1`. Forces a rebuild. */
    region: pulumi.Input<string>;
    /**
     * Regions the program copies the image to (AmiCopy). Used only to validate that the build region
     * is not among them and that none is duplicated. Defaults to none. No rebuild.
     */
    copyRegions?: pulumi.Input<pulumi.Input<string>[]>;
    /** Builder instance type. Defaults to `t3.medium`. Forces a rebuild. */
    instanceType?: pulumi.Input<string>;
    /** Couchbase edition: `enterprise` or `community`. Defaults to `enterprise`. Forces a rebuild. */
    couchbaseEdition?: pulumi.Input<string>;
    /** Couchbase Server version, `X.Y.Z` (e.g. `8.0.0`). Required. Forces a rebuild. */
    couchbaseVersion: pulumi.Input<string>;
    /**
     * Where the `couchbase-server` package comes from: `download` (the exact `.deb` for the
     * version, edition and architecture from Couchbase's release URL, refused unless its sha256
     * matches `couchbasePackageSha256`), `repository` (Couchbase's apt repository), or a relative
     * folder holding a `.deb` (whose content is fingerprinted). Defaults to `download`. Forces a
     * rebuild.
     */
    couchbasePackageSource?: pulumi.Input<string>;
    /**
     * sha256 (64 hex digits) the downloaded package must have, for a package the project's table
     * (providers/packer/couchbasePackages.ts, Couchbase Server Enterprise) lacks: the value
     * Couchbase publishes at `<package URL>.sha256`. Defaults to `""`: the table's value, which
     * `check` fills in; a package neither has fails `check`, as does a pin that differs from the
     * table. Used, and forces a rebuild, only when `couchbasePackageSource` is `download`.
     */
    couchbasePackageSha256?: pulumi.Input<string>;
    /**
     * CPU architecture of the image, `amd64` or `arm64`: which package `download` fetches (the
     * base image and instance type must match it). Defaults to `amd64`. Forces a rebuild in
     * download mode.
     */
    architecture?: pulumi.Input<string>;
    /**
     * URL (https) of Couchbase's `couchbase-release` .deb, which carries the apt signing keys.
     * Defaults to the template's
     * `https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb`.
     * Used, and forces a rebuild, only when `couchbasePackageSource` is `repository`.
     */
    couchbaseReleaseUrl?: pulumi.Input<string>;
    /**
     * Pinned sha256 of that .deb (64 hex digits; `sha256sum` of a trusted download). Required when
     * `couchbasePackageSource` is `repository` (the build fails closed without it); defaults to
     * `""`. Forces a rebuild in repository mode.
     */
    couchbaseReleaseSha256?: pulumi.Input<string>;
    /**
     * Pinned fingerprints (40 hex digits each; spaces are stripped, letters uppercased) of the
     * signing keys the .deb ships (`gpg --show-keys` on its key files); they must match exactly.
     * Required when `couchbasePackageSource` is `repository`; defaults to none. Forces a rebuild in
     * repository mode (order and duplicates aside).
     */
    couchbaseKeyFingerprints?: pulumi.Input<pulumi.Input<string>[]>;
    /**
     * Base image: `{id}` or `{nameFilter, owners}`. Defaults to Ubuntu 24.04 LTS
     * (`ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*`, owner Canonical
     * `099720109477`), the template's default. Forces a rebuild.
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
    /**
     * Literal values of config keys set as secrets, to be masked in every line the provider
     * prints or logs; pass them as `pulumi.secret(...)` so state holds them encrypted. Defaults
     * to none. No change (neither rebuild nor update).
     */
    secretValues?: pulumi.Input<pulumi.Input<string>[]>;
    /** KMS key (id or ARN) for the build region's encrypted image. Defaults to the account's EBS key. Forces a rebuild. */
    kmsKeyId?: pulumi.Input<string>;
    /** Subnet for the builder. Defaults to the default VPC. Build-time only, no rebuild. */
    subnetId?: pulumi.Input<string>;
    /** VPC for the builder. Defaults to the default VPC. Build-time only, no rebuild. */
    vpcId?: pulumi.Input<string>;
    /**
     * Ask for a public IP on the builder even where the subnet maps none on launch (a public subnet
     * of a custom VPC). Defaults to false: the subnet decides. No rebuild.
     */
    associatePublicIpAddress?: pulumi.Input<boolean>;
    /**
     * Which address of the builder Packer's SSH goes to: `public_ip`, `private_ip`, `public_dns`,
     * `private_dns`, or "" (the default: the public IP if it has one, else the private IP).
     * `private_ip` for a private subnet reached from inside the VPC (a runner there, a VPN). No rebuild.
     */
    sshInterface?: pulumi.Input<string>;
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
    /** SSH user on the base image. Defaults to `ubuntu`. Forces a rebuild. */
    sshUsername?: pulumi.Input<string>;
    /** The provider's own deadline for `packer build`, in minutes. Defaults to 90. No rebuild. */
    buildTimeoutMinutes?: pulumi.Input<number>;
}

/**
 * The URN a resource will have, as an Output that depends on no resource: a dependency on the
 * parent would be a cycle when the parent is a component (depending on a component waits for all
 * of its children, this one included).
 */
export function ownUrn(name: string, type: string, parent?: pulumi.Resource): pulumi.Output<string> {
    const parentUrn = parent ? pulumi.output(new Promise<string>((resolve) => parent.urn.apply(resolve))) : undefined;
    return pulumi.createUrn(name, type, parentUrn);
}

/**
 * One Couchbase Server machine image built by Packer in one region.
 * Type token: `pulumi-nodejs:dynamic/packer:Image`.
 */
export class PackerImage extends pulumi.CustomResource {
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
        // What pulumi.dynamic.Resource does (type token, `__provider`), with the text remembered.
        super(
            "pulumi-nodejs:dynamic/packer:Image",
            name,
            {
                ...args,
                __provider: providerText("packer-image", () => (require("./provider") as typeof import("./provider")).PROVIDER),
                providerVersion: PROVIDER_VERSION,
                // Build progress is logged on this resource's row (providers/packer/progress.ts).
                resourceUrn: ownUrn(name, "pulumi-nodejs:dynamic/packer:Image", opts?.parent),
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
        );
    }
}

