/**
 * Finding and deleting the project's images and their EBS snapshots: the one delete sequence shared
 * by the image provider's `delete`, its failure cleanup and the janitor.
 *
 * Called from inside a Pulumi dynamic provider: the SDK is loaded with `ec2Sdk()` (a plain require) inside each
 * function and nothing but plain data lives at module scope.
 */
import type { EC2Client, Filter, Image } from "@aws-sdk/client-ec2";
import { hasTags, tagFilters, tagMap, type Tags } from "./tags";
import { unlessGone, withRetry, type RetryOptions } from "./retry";
import { ec2Sdk } from "./client";

/** Error codes that mean "this image is already gone". */
export const IMAGE_GONE_CODES: readonly string[] = ["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"];
/** Error codes that mean "this snapshot is already gone". */
export const SNAPSHOT_GONE_CODES: readonly string[] = ["InvalidSnapshot.NotFound"];

/** What we need to know about one image; plain data. */
export interface ImageSummary {
    id: string;
    name: string;
    /** `pending`, `available`, `failed`, `disabled`, ... */
    state: string;
    /** ISO-8601, as EC2 reports it. */
    creationDate?: string;
    description?: string;
    ownerId?: string;
    tags: Tags;
    /** EBS snapshots of its block device mappings, in mapping order. */
    snapshotIds: string[];
    /** Each EBS mapping's Encrypted, as EC2 reports it (undefined where it reports none, as moto does). */
    encrypted?: (boolean | undefined)[];
}

export interface DeleteImageOptions {
    /** Snapshots to delete besides those the image's mappings name (e.g. recorded in state). */
    snapshotIds?: readonly string[];
    /** Snapshots never to delete (e.g. still used by another image); the janitor passes these. */
    keepSnapshotIds?: readonly string[];
    log?: (msg: string) => void;
    /** Backoff for throttling and `InvalidSnapshot.InUse` (default 10 attempts, 1 s .. 15 s). */
    retry?: RetryOptions;
}

export interface DeleteImageResult {
    imageId: string;
    /** True when this call deregistered the image (false: it was already gone). */
    deregistered: boolean;
    /** Snapshots this call deleted. */
    deletedSnapshots: string[];
    /** Snapshots that were already gone. */
    goneSnapshots: string[];
}

/** Converts the SDK's image shape into an {@link ImageSummary}. */
export function imageSummary(img: Image): ImageSummary {
    const snapshotIds: string[] = [];
    for (const m of img.BlockDeviceMappings ?? []) {
        const s = m.Ebs?.SnapshotId;
        if (s && !snapshotIds.includes(s)) snapshotIds.push(s);
    }
    return {
        id: img.ImageId ?? "",
        name: img.Name ?? "",
        state: String(img.State ?? "unknown"),
        ...(img.CreationDate ? { creationDate: img.CreationDate } : {}),
        ...(img.Description ? { description: img.Description } : {}),
        ...(img.OwnerId ? { ownerId: img.OwnerId } : {}),
        tags: tagMap(img.Tags),
        snapshotIds,
        encrypted: (img.BlockDeviceMappings ?? []).filter((m) => m.Ebs).map((m) => m.Ebs?.Encrypted),
    };
}

/** The image, or `undefined` when it does not exist (any more). */
export async function describeImage(ec2: EC2Client, imageId: string, retry?: RetryOptions): Promise<ImageSummary | undefined> {
    const { DescribeImagesCommand } = ec2Sdk();
    const out = await unlessGone(
        () => ec2.send(new DescribeImagesCommand({ ImageIds: [imageId], IncludeDeprecated: true, IncludeDisabled: true })),
        IMAGE_GONE_CODES,
        { what: `describe ${imageId}`, ...retry },
    );
    const img = (out?.Images ?? []).find((i) => i.ImageId === imageId);
    if (!img || img.State === "deregistered") return undefined;
    return imageSummary(img);
}

/**
 * Self-owned images matching `filters` (any state but `deregistered`; every one of them without
 * filters), or exactly `ids` (missing ones skipped).
 */
export async function listImages(
    ec2: EC2Client,
    q: { filters?: Filter[]; ids?: readonly string[] },
    retry?: RetryOptions,
): Promise<ImageSummary[]> {
    const out: ImageSummary[] = [];
    if (q.ids) {
        for (const id of q.ids) {
            const img = await describeImage(ec2, id, retry);
            if (img) out.push(img);
        }
        return out;
    }
    const { DescribeImagesCommand } = ec2Sdk();
    let NextToken: string | undefined;
    do {
        const r = await withRetry(
            () =>
                ec2.send(
                    new DescribeImagesCommand({
                        Owners: ["self"],
                        IncludeDeprecated: true,
                        IncludeDisabled: true,
                        ...(q.filters?.length ? { Filters: q.filters } : {}),
                        ...(NextToken ? { NextToken } : {}),
                    }),
                ),
            { what: "describe images", ...retry },
        );
        for (const i of r.Images ?? []) if (i.State !== "deregistered") out.push(imageSummary(i));
        NextToken = r.NextToken;
    } while (NextToken);
    return out;
}

/** Images owned by this account that carry every tag in `tags`, in any state. */
export async function findImagesByTags(ec2: EC2Client, tags: Tags, retry?: RetryOptions): Promise<ImageSummary[]> {
    return (await listImages(ec2, { filters: tagFilters(tags) }, retry)).filter((s) => hasTags(s.tags, tags));
}

/** Deregisters an image; false when it was already gone. */
export async function deregisterImage(ec2: EC2Client, imageId: string, retry?: RetryOptions): Promise<boolean> {
    const { DeregisterImageCommand } = ec2Sdk();
    const out = await unlessGone(() => ec2.send(new DeregisterImageCommand({ ImageId: imageId })), IMAGE_GONE_CODES, {
        what: `deregister ${imageId}`,
        ...retry,
    });
    return out !== undefined;
}

/**
 * Deletes one snapshot, retrying `InvalidSnapshot.InUse` (the image deregistration has not
 * settled yet) and throttling. Returns `"deleted"` or `"gone"` (already absent).
 */
export async function deleteSnapshot(ec2: EC2Client, snapshotId: string, retry?: RetryOptions): Promise<"deleted" | "gone"> {
    const { DeleteSnapshotCommand } = ec2Sdk();
    const out = await unlessGone(() => ec2.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })), SNAPSHOT_GONE_CODES, {
        attempts: 10,
        baseMs: 1000,
        maxMs: 15_000,
        what: `delete ${snapshotId}`,
        ...retry,
        retryOn: ["InvalidSnapshot.InUse", ...(retry?.retryOn ?? [])],
    });
    return out ? "deleted" : "gone";
}

/**
 * Deletes an image and its EBS snapshots: describe (to learn the snapshots from its block device
 * mappings, merged with `snapshotIds`), deregister, then delete each snapshot with backoff on
 * `InvalidSnapshot.InUse` and throttling. Already-gone image or snapshots count as done, so a
 * second call is a no-op. Throws the first snapshot error after trying all snapshots.
 */
export async function deleteImageAndSnapshots(ec2: EC2Client, imageId: string, opts: DeleteImageOptions = {}): Promise<DeleteImageResult> {
    const log = opts.log ?? (() => undefined);
    const retry: RetryOptions = { log, ...opts.retry };
    const image = await describeImage(ec2, imageId, retry);
    const snapshots = [...(image?.snapshotIds ?? [])];
    for (const s of opts.snapshotIds ?? []) if (!snapshots.includes(s)) snapshots.push(s);
    const keep = new Set(opts.keepSnapshotIds ?? []);
    const result: DeleteImageResult = { imageId, deregistered: false, deletedSnapshots: [], goneSnapshots: [] };
    if (image) {
        result.deregistered = await deregisterImage(ec2, imageId, retry);
        if (result.deregistered) log(`deregistered ${imageId}`);
    }
    let firstError: Error | undefined;
    for (const s of snapshots) {
        if (keep.has(s)) {
            log(`kept ${s} (still in use elsewhere)`);
            continue;
        }
        try {
            const r = await deleteSnapshot(ec2, s, retry);
            if (r === "deleted") {
                result.deletedSnapshots.push(s);
                log(`deleted ${s}`);
            } else {
                result.goneSnapshots.push(s);
            }
        } catch (e) {
            firstError ??= e instanceof Error ? e : new Error(String(e));
            log(`could not delete ${s}: ${(e as Error).message}`);
        }
    }
    if (firstError !== undefined) throw firstError;
    return result;
}
