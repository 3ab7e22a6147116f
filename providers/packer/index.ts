/**
 * The Couchbase Server image as a Pulumi resource (`pulumi-nodejs:dynamic/packer:Image`): a
 * dynamic resource whose provider (providers/packer/provider.ts) wraps `packer build`. This
 * module is what programs import: the arguments, the resource class and its outputs. The
 * provider's code is loaded only when its serialized text is not remembered yet
 * (providers/providerText.ts), so a no-change run does not load the build machinery at all.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BaseImage, DEFAULTS, ResolvedImageInputs } from "./types";
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
 * An input type's Pulumi form: each field an Input, arrays of Inputs, maps of string Inputs.
 * Homomorphic, so every field keeps its JSDoc from the type it maps.
 */
type Inputs<T> = {
    [K in keyof T]: T[K] extends readonly (infer E)[]
        ? pulumi.Input<pulumi.Input<E>[]>
        : T[K] extends Record<string, string>
          ? string extends keyof T[K]
              ? pulumi.Input<Record<string, pulumi.Input<string>>>
              : pulumi.Input<T[K]>
          : pulumi.Input<T[K]>;
};

/** Inputs the class sets itself. */
type ClassSet = "providerVersion" | "resourceUrn";
/** Inputs with a default ({@link DEFAULTS}): optional in the arguments. */
type Defaulted = keyof typeof DEFAULTS & keyof ResolvedImageInputs;

/**
 * Arguments of {@link PackerImage}: every input of {@link ResolvedImageInputs} (documented there,
 * once), as Inputs; those with a default optional. Paths are relative to the project root.
 */
export type PackerImageArgs = Inputs<Pick<ResolvedImageInputs, Exclude<keyof ResolvedImageInputs, Defaulted | ClassSet>>> &
    Partial<Inputs<Pick<ResolvedImageInputs, Defaulted>>> & {
        /**
         * Literal values of config keys set as secrets, to be masked in every line the provider
         * prints or logs; pass them as `pulumi.secret(...)` so state holds them encrypted. Defaults
         * to none. No change (neither rebuild nor update).
         */
        secretValues?: pulumi.Input<pulumi.Input<string>[]>;
    };

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
