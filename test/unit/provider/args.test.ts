/**
 * PackerImageArgs is derived from ResolvedImageInputs (providers/packer/index.ts), not retyped:
 * these compile-time checks pin its shape (which inputs are required, how arrays and maps take
 * Inputs), so a change of the derivation that would change what programs may pass fails `tsc`.
 * Proof limit: types only; the mock program tests construct the resource with these arguments.
 */
import * as assert from "node:assert/strict";
import type * as pulumi from "@pulumi/pulumi";
import type { PackerImageArgs } from "../../../providers/packer";
import type { ResolvedImageInputs } from "../../../providers/packer/types";

type RequiredKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? never : K }[keyof T];
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

describe("PackerImageArgs (derived from ResolvedImageInputs)", () => {
    it("requires exactly the inputs without a default", () => {
        const required: Equal<
            RequiredKeys<PackerImageArgs>,
            "region" | "couchbaseVersion" | "agentArtifact" | "agentSha256" | "stack" | "environment" | "owner" | "sshCidrs"
        > = true;
        assert.equal(required, true);
    });
    it("takes every input but the two the class sets, plus secretValues", () => {
        const keys: Equal<keyof PackerImageArgs, Exclude<keyof ResolvedImageInputs, "providerVersion" | "resourceUrn"> | "secretValues"> =
            true;
        assert.equal(keys, true);
    });
    it("arrays take Inputs of Inputs, maps Inputs of string Inputs, the rest Inputs", () => {
        const shapes: [
            Equal<PackerImageArgs["copyRegions"], pulumi.Input<pulumi.Input<string>[]> | undefined>,
            Equal<PackerImageArgs["extraTags"], pulumi.Input<Record<string, pulumi.Input<string>>> | undefined>,
            Equal<PackerImageArgs["rootVolumeSize"], pulumi.Input<number> | undefined>,
            Equal<PackerImageArgs["region"], pulumi.Input<string>>,
        ] = [true, true, true, true];
        assert.deepEqual(shapes, [true, true, true, true]);
    });
});
