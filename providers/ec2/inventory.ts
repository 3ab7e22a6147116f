/**
 * Listing the project's EC2 objects: images (any state), snapshots, instances (not terminated), key
 * pairs and security groups, selected by tags and/or explicit ids. Used by the janitor's scan and
 * by the tests that prove nothing leaks.
 *
 * Never selects by owner alone: moto (like a busy account) owns hundreds of snapshots that are not
 * ours. Plain data out; the SDK is loaded inside each function (dynamic-provider safe).
 */
import type { EC2Client, Filter } from "@aws-sdk/client-ec2";
import { hasTags, tagFilters, tagMap, type Tags } from "./tags";
import { unlessGone, withRetry, type RetryOptions } from "./retry";
import { INSTANCE_GONE_CODES } from "./leftovers";
import { SNAPSHOT_GONE_CODES, findImagesByTags, listImages, type ImageSummary } from "./images";
import { ec2Sdk } from "./client";

export interface SnapshotSummary {
    id: string;
    /** GiB */
    volumeSize: number;
    state: string;
    /** ISO-8601 */
    startTime?: string;
    description: string;
    ownerId?: string;
    tags: Tags;
}

export interface InstanceSummary {
    id: string;
    state: string;
    /** ISO-8601 */
    launchTime?: string;
    imageId?: string;
    keyName?: string;
    securityGroupIds: string[];
    tags: Tags;
}

export interface KeyPairSummary {
    id: string;
    name: string;
    /** ISO-8601 */
    createTime?: string;
    tags: Tags;
}

export interface SecurityGroupSummary {
    id: string;
    name: string;
    description: string;
    vpcId?: string;
    tags: Tags;
}

export interface Inventory {
    images: ImageSummary[];
    snapshots: SnapshotSummary[];
    instances: InstanceSummary[];
    keyPairs: KeyPairSummary[];
    securityGroups: SecurityGroupSummary[];
}

export interface InventorySelector {
    /** Objects carrying every one of these tags. */
    tags?: Tags;
    /** Objects with these ids (`ami-`, `snap-`, `i-`, `sg-`, `key-`), key pair names or group names. */
    ids?: readonly string[];
}

function iso(d: Date | string | undefined): string | undefined {
    if (d === undefined) return undefined;
    return d instanceof Date ? d.toISOString() : d;
}

/** Self-owned snapshots matching `filters` (at least one filter required), or exactly `ids`. */
export async function listSnapshots(
    ec2: EC2Client,
    q: { filters?: Filter[]; ids?: readonly string[] },
    retry?: RetryOptions,
): Promise<SnapshotSummary[]> {
    const { DescribeSnapshotsCommand } = ec2Sdk();
    type S = NonNullable<import("@aws-sdk/client-ec2").DescribeSnapshotsResult["Snapshots"]>[number];
    const conv = (s: S): SnapshotSummary => ({
        id: s.SnapshotId ?? "",
        volumeSize: s.VolumeSize ?? 0,
        state: String(s.State ?? "unknown"),
        ...(s.StartTime ? { startTime: iso(s.StartTime) } : {}),
        description: s.Description ?? "",
        ...(s.OwnerId ? { ownerId: s.OwnerId } : {}),
        tags: tagMap(s.Tags),
    });
    const out: SnapshotSummary[] = [];
    if (q.ids) {
        for (const id of q.ids) {
            const r = await unlessGone(() => ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] })), SNAPSHOT_GONE_CODES, retry);
            for (const s of r?.Snapshots ?? []) out.push(conv(s));
        }
        return out;
    }
    if (!q.filters?.length) throw new Error("listSnapshots: refusing to list snapshots by owner alone; give tag filters or ids");
    let NextToken: string | undefined;
    do {
        const r = await withRetry(
            () => ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: q.filters, ...(NextToken ? { NextToken } : {}) })),
            retry,
        );
        for (const s of r.Snapshots ?? []) out.push(conv(s));
        NextToken = r.NextToken;
    } while (NextToken);
    return out;
}

/** Instances that are not terminated, matching `filters` or exactly `ids`. */
export async function listInstances(
    ec2: EC2Client,
    q: { filters?: Filter[]; ids?: readonly string[] },
    retry?: RetryOptions,
): Promise<InstanceSummary[]> {
    const { DescribeInstancesCommand } = ec2Sdk();
    const out: InstanceSummary[] = [];
    const collect = (r: import("@aws-sdk/client-ec2").DescribeInstancesResult) => {
        for (const res of r.Reservations ?? []) {
            for (const i of res.Instances ?? []) {
                const state = String(i.State?.Name ?? "unknown");
                if (state === "terminated") continue;
                out.push({
                    id: i.InstanceId ?? "",
                    state,
                    ...(i.LaunchTime ? { launchTime: iso(i.LaunchTime) } : {}),
                    ...(i.ImageId ? { imageId: i.ImageId } : {}),
                    ...(i.KeyName ? { keyName: i.KeyName } : {}),
                    securityGroupIds: (i.SecurityGroups ?? []).map((g) => g.GroupId ?? "").filter((g) => g !== ""),
                    tags: tagMap(i.Tags),
                });
            }
        }
    };
    if (q.ids) {
        for (const id of q.ids) {
            const r = await unlessGone(() => ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })), INSTANCE_GONE_CODES, retry);
            if (r) collect(r);
        }
        return out;
    }
    let NextToken: string | undefined;
    do {
        const r = await withRetry(
            () =>
                ec2.send(
                    new DescribeInstancesCommand({
                        ...(q.filters?.length ? { Filters: q.filters } : {}),
                        ...(NextToken ? { NextToken } : {}),
                    }),
                ),
            retry,
        );
        collect(r);
        NextToken = r.NextToken;
    } while (NextToken);
    return out;
}

/** Every key pair in the region (few; callers filter). */
export async function listKeyPairs(ec2: EC2Client, retry?: RetryOptions): Promise<KeyPairSummary[]> {
    const { DescribeKeyPairsCommand } = ec2Sdk();
    const r = await withRetry(() => ec2.send(new DescribeKeyPairsCommand({})), retry);
    return (r.KeyPairs ?? []).map((k) => ({
        id: k.KeyPairId ?? "",
        name: k.KeyName ?? "",
        ...(k.CreateTime ? { createTime: iso(k.CreateTime) } : {}),
        tags: tagMap(k.Tags),
    }));
}

/** Every security group in the region (few; callers filter). */
export async function listSecurityGroups(ec2: EC2Client, retry?: RetryOptions): Promise<SecurityGroupSummary[]> {
    const { DescribeSecurityGroupsCommand } = ec2Sdk();
    const out: SecurityGroupSummary[] = [];
    let NextToken: string | undefined;
    do {
        const r = await withRetry(() => ec2.send(new DescribeSecurityGroupsCommand({ ...(NextToken ? { NextToken } : {}) })), retry);
        for (const g of r.SecurityGroups ?? []) {
            out.push({
                id: g.GroupId ?? "",
                name: g.GroupName ?? "",
                description: g.Description ?? "",
                ...(g.VpcId ? { vpcId: g.VpcId } : {}),
                tags: tagMap(g.Tags),
            });
        }
        NextToken = r.NextToken;
    } while (NextToken);
    return out;
}

/**
 * The objects selected by `sel.tags` (all must match) and/or `sel.ids` (union of both) in one
 * region: images in any state, snapshots, non-terminated instances, key pairs, security groups.
 * Throws when neither is given: listing by owner alone would sweep in objects that are not ours.
 */
export async function inventory(ec2: EC2Client, sel: InventorySelector, retry?: RetryOptions): Promise<Inventory> {
    const tags = sel.tags && Object.keys(sel.tags).length > 0 ? sel.tags : undefined;
    const ids = sel.ids ?? [];
    if (!tags && ids.length === 0) throw new Error("inventory: give tags and/or ids; never select by owner alone");
    const byPrefix = (p: string) => ids.filter((i) => i.startsWith(p));
    const filters = tagFilters(tags);
    const merge = <T extends { id: string }>(a: T[], b: T[]): T[] => {
        const seen = new Set(a.map((x) => x.id));
        return [...a, ...b.filter((x) => !seen.has(x.id) && (seen.add(x.id), true))];
    };
    const images = merge(tags ? await findImagesByTags(ec2, tags, retry) : [], await listImages(ec2, { ids: byPrefix("ami-") }, retry));
    const snapshots = merge(
        tags ? (await listSnapshots(ec2, { filters }, retry)).filter((s) => hasTags(s.tags, tags)) : [],
        await listSnapshots(ec2, { ids: byPrefix("snap-") }, retry),
    );
    const instances = merge(
        tags ? (await listInstances(ec2, { filters }, retry)).filter((i) => hasTags(i.tags, tags)) : [],
        await listInstances(ec2, { ids: byPrefix("i-") }, retry),
    );
    const idSet = new Set(ids);
    const keyPairs = (await listKeyPairs(ec2, retry)).filter(
        (k) => (tags && hasTags(k.tags, tags)) || idSet.has(k.id) || idSet.has(k.name),
    );
    const securityGroups = (await listSecurityGroups(ec2, retry)).filter(
        (g) => (tags && hasTags(g.tags, tags)) || idSet.has(g.id) || idSet.has(g.name),
    );
    return { images, snapshots, instances, keyPairs, securityGroups };
}

/** Number of objects in an inventory. */
export function inventorySize(inv: Inventory): number {
    return inv.images.length + inv.snapshots.length + inv.instances.length + inv.keyPairs.length + inv.securityGroups.length;
}
