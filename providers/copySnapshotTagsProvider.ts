/**
 * Provider of {@link CopySnapshotTags}: puts an AmiCopy's tags on the snapshots behind it.
 *
 * The AWS provider's AmiCopy tags only the image; a copy's snapshots would carry no tags, so the
 * janitor (which finds only what is tagged as ours) could never find one that leaks.
 *
 * Verbs:
 * - `create` / `update`  describe the image in its region (retrying while EC2 does not know it
 *             yet or it is still pending), then CreateTags on every EBS snapshot of its block devices.
 * - `diff`    a change when the region, image or tags changed; never a replace.
 * - `delete`  nothing: the AmiCopy's delete deregisters the image and deletes its snapshots.
 *
 * Serialization rule: the EC2 SDK and helpers are loaded with plain `require` inside the methods
 * (through providers/ec2/client.ts); nothing is captured from module scope but plain functions.
 * Type token: `pulumi-nodejs:dynamic/copy:SnapshotTags`.
 */
import type * as pulumi from "@pulumi/pulumi";

import { ec2Client, ec2Sdk } from "./ec2/client";
import { withRetry } from "./ec2/retry";
import { tagList } from "./ec2/tags";
import { UNKNOWN_VALUE } from "./packer/types";

/** What the resource is given (after `check`). */
export interface Inputs {
    /** Region of the copy. */
    region: string;
    /** Image id of the copy (`ami-…`). */
    imageId: string;
    /** Tags to put on its snapshots (the copy's own tags). */
    tags: Record<string, string>;
    /** EC2 endpoint override (the emulator), or empty. */
    ec2Endpoint: string;
}

/** What it records: its inputs and the snapshots it tagged. */
export interface Outputs extends Inputs {
    /** Snapshot ids that were tagged, sorted. */
    snapshotIds: string[];
}

/** Codes while a fresh copy is not yet described, or its snapshots not yet listed. */
const NOT_YET = ["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable", "ImagePending", "InvalidSnapshot.NotFound"];

/** Describes `imageId` and tags its snapshots; returns their ids. Retries until they exist. */
export async function tagSnapshots(inputs: Inputs, opts: { attempts?: number; baseMs?: number } = {}): Promise<string[]> {
    const sdk = ec2Sdk();
    const ec2 = await ec2Client(inputs.region, inputs.ec2Endpoint || undefined);
    try {
        return await withRetry(
            async () => {
                const out = await ec2.send(new sdk.DescribeImagesCommand({ ImageIds: [inputs.imageId] }));
                const image = out.Images?.[0];
                if (!image)
                    throw Object.assign(new Error(`image ${inputs.imageId} not found in ${inputs.region}`), {
                        name: "InvalidAMIID.NotFound",
                    });
                const snaps = (image.BlockDeviceMappings ?? [])
                    .map((m) => m.Ebs?.SnapshotId)
                    .filter((s): s is string => typeof s === "string" && s !== "");
                if (snaps.length === 0) {
                    // A pending copy may not list its snapshots yet.
                    if (image.State !== "available")
                        throw Object.assign(new Error(`image ${inputs.imageId} is ${image.State ?? "pending"}, no snapshots yet`), {
                            name: "ImagePending",
                        });
                    return [];
                }
                const sorted = [...new Set(snaps)].sort();
                await ec2.send(new sdk.CreateTagsCommand({ Resources: sorted, Tags: tagList(inputs.tags) }));
                return sorted;
            },
            {
                retryOn: NOT_YET,
                attempts: opts.attempts ?? 12,
                baseMs: opts.baseMs ?? 1000,
                maxMs: 30_000,
                what: `tag snapshots of ${inputs.imageId}`,
            },
        );
    } finally {
        ec2.destroy();
    }
}

class CopySnapshotTagsProvider implements pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
    async check(_olds: Inputs, news: Inputs): Promise<pulumi.dynamic.CheckResult<Inputs>> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        // At preview the copy's id is the engine's unknown placeholder: only known values are checked.
        if (news.region === UNKNOWN_VALUE || news.imageId === UNKNOWN_VALUE)
            return { inputs: { ...news, tags: news.tags ?? {}, ec2Endpoint: news.ec2Endpoint ?? "" }, failures };
        if (typeof news.region !== "string" || news.region === "")
            failures.push({ property: "region", reason: "the copy's region is required" });
        if (typeof news.imageId !== "string" || !news.imageId.startsWith("ami-"))
            failures.push({ property: "imageId", reason: `"${String(news.imageId)}" is not an image id (ami-…)` });
        return {
            inputs: { region: news.region, imageId: news.imageId, tags: news.tags ?? {}, ec2Endpoint: news.ec2Endpoint ?? "" },
            failures,
        };
    }

    async diff(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
        const changed =
            olds.region !== news.region ||
            olds.imageId !== news.imageId ||
            olds.ec2Endpoint !== news.ec2Endpoint ||
            JSON.stringify(sortKeys(olds.tags)) !== JSON.stringify(sortKeys(news.tags));
        return { changes: changed, replaces: [], deleteBeforeReplace: false };
    }

    async create(inputs: Inputs): Promise<pulumi.dynamic.CreateResult<Outputs>> {
        const snapshotIds = await tagSnapshots(inputs);
        return { id: `${inputs.region}/${inputs.imageId}`, outs: { ...inputs, snapshotIds } };
    }

    async update(_id: string, _olds: Outputs, news: Inputs): Promise<pulumi.dynamic.UpdateResult<Outputs>> {
        const snapshotIds = await tagSnapshots(news);
        return { outs: { ...news, snapshotIds } };
    }

    async delete(): Promise<void> {
        // The AmiCopy's delete removes the snapshots; the tags only let the janitor find a leak.
    }
}

/** The keys of `o` in order, for comparing tag maps. */
function sortKeys(o: Record<string, string> | undefined): [string, string][] {
    return Object.keys(o ?? {})
        .sort()
        .map((k) => [k, (o as Record<string, string>)[k]]);
}

/** Shared by every CopySnapshotTags. Stateless. */
export const PROVIDER = new CopySnapshotTagsProvider();
