/**
 * The janitor: finds this project's leftovers in one, several or all regions (expired images in any
 * state, their snapshots, orphan snapshots, builder instances, Packer's temporary security groups
 * and key pairs) and, with --delete, removes them in a safe order. Dry run by default.
 *
 *   npm run janitor -- [--regions r1,r2 | --all-regions] [--older-than 24h] [--stack NAME] [--delete]
 *
 * What to delete and why is decided by the pure planner (janitor/plan.ts); this file only
 * scans, prints and executes. See docs/janitor.md.
 */
import * as path from "node:path";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { ec2Client, ec2Sdk } from "../providers/ec2/client";
import { PROJECT, TAG, isOurs, tagFilters } from "../providers/ec2/tags";
import { deleteImageAndSnapshots, deleteSnapshot, listImages, type DeleteImageResult } from "../providers/ec2/images";
import { listInstances, listKeyPairs, listSecurityGroups, listSnapshots, type SnapshotSummary } from "../providers/ec2/inventory";
import { deleteKeyPair, deleteSecurityGroup, terminateInstances } from "../providers/ec2/leftovers";
import { errorCode, hasCode, withRetry, type RetryOptions } from "../providers/ec2/retry";
import {
    KIND_ORDER,
    createImageDescriptionFilter,
    planRegion,
    renderSummary,
    renderTable,
    summarize,
    type Policy,
    type RegionScan,
    type Row,
    type StackState,
} from "./plan";
import { USAGE, defaultRegion, parseArgs, type JanitorOptions } from "./args";
import { cliStacks, fileBackendDir, fileBackendStackStates, fileBackendStacks, protectedImages, versionsFolders } from "./sources";
import { LOCAL_STATE_DIR } from "../scripts/localStacks";

const REPO_ROOT = path.resolve(__dirname, "..");

export interface Outcome {
    row: Row;
    status: "deleted" | "gone" | "failed";
    error?: string;
}

/** A region the janitor could not scan, and why (the error's code and first line). */
export interface SkippedRegion {
    region: string;
    reason: string;
}

export interface JanitorResult {
    rows: Row[];
    outcomes: Outcome[];
    failures: number;
    /** Regions denied to the caller: nothing in them was scanned or deleted. Any makes the exit code 1. */
    skipped: SkippedRegion[];
    exitCode: number;
}

/**
 * Error codes that close one region to the caller while others stay open: an organisation's
 * service control policy or an IAM condition on aws:RequestedRegion (UnauthorizedOperation), a
 * region whose endpoint refuses the credentials (AuthFailure), a region not opted in
 * (OptInRequired). With these the janitor skips the region, says why, and goes on; any other
 * error still stops the run.
 */
export const REGION_DENIED_CODES = ["UnauthorizedOperation", "AuthFailure", "OptInRequired"] as const;

export interface JanitorIO {
    out: (line: string) => void;
    err: (line: string) => void;
    now?: Date;
    /** Backoff for deletions (tests shorten it). */
    retry?: RetryOptions;
    /** The EC2 client of a region (tests give one per region); default: ec2Client(region, --endpoint). */
    client?: (region: string) => Promise<EC2Client>;
}

/**
 * Everything in one region the planner needs. Snapshots are selected by tag, by our images'
 * mappings, or by a description naming one of our builder instances, never by owner alone.
 */
export async function scanRegion(ec2: EC2Client, region: string, retry?: RetryOptions): Promise<RegionScan> {
    const images = await listImages(ec2, {}, retry);
    const tagged = await listSnapshots(ec2, { filters: tagFilters({ [TAG.project]: PROJECT }) }, retry);
    const have = new Set(tagged.map((s) => s.id));
    const mapped = [...new Set(images.filter((i) => isOurs(i.tags)).flatMap((i) => i.snapshotIds))].filter((id) => !have.has(id));
    const instances = await listInstances(ec2, {}, retry);
    // What CreateImage made from our builders, tagged or not (planRegion: builderLineage).
    const builders = instances.filter((i) => isOurs(i.tags)).map((i) => createImageDescriptionFilter(i.id));
    const fromBuilders: SnapshotSummary[] = [];
    for (let k = 0; k < builders.length; k += 100) {
        fromBuilders.push(...(await listSnapshots(ec2, { filters: [{ Name: "description", Values: builders.slice(k, k + 100) }] }, retry)));
    }
    const snapshots = [...tagged, ...(await listSnapshots(ec2, { ids: mapped }, retry))];
    for (const s of fromBuilders) if (!snapshots.some((x) => x.id === s.id)) snapshots.push(s);
    const keyPairs = await listKeyPairs(ec2, retry);
    const securityGroups = await listSecurityGroups(ec2, retry);
    return { region, images, snapshots, instances, keyPairs, securityGroups };
}

async function resolveRegions(o: JanitorOptions): Promise<string[]> {
    if (o.regions !== "all") return o.regions;
    const { DescribeRegionsCommand } = ec2Sdk();
    const ec2 = await ec2Client(defaultRegion(process.env), o.endpoint);
    try {
        const r = await withRetry(() => ec2.send(new DescribeRegionsCommand({ AllRegions: false })));
        return (r.Regions ?? [])
            .filter((x) => x.OptInStatus !== "not-opted-in")
            .map((x) => x.RegionName ?? "")
            .filter((x) => x !== "")
            .sort();
    } finally {
        ec2.destroy();
    }
}

/** Live stacks and whether the list covers every backend (see Policy.liveStacksComplete). */
export function resolveLiveStacks(
    o: JanitorOptions,
    repo: string,
): { stacks: Set<string>; complete: boolean; source: string; states: Map<string, StackState> } {
    const stacks = new Set<string>();
    const states = new Map<string, StackState>();
    const sources: string[] = [];
    const add = (found: readonly string[], from: string) => {
        found.forEach((s) => stacks.add(s));
        sources.push(`${from} (${found.length})`);
    };
    const local = path.join(repo, LOCAL_STATE_DIR);
    add(fileBackendStacks(local, PROJECT), local);
    fileBackendStackStates(local, PROJECT).forEach((v, k) => states.set(k, v));
    if (o.liveStacks) add(o.liveStacks, "--live-stacks");
    if (o.backendUrl) {
        const dir = fileBackendDir(o.backendUrl);
        if (dir) {
            add(fileBackendStacks(dir, PROJECT), o.backendUrl);
            fileBackendStackStates(dir, PROJECT).forEach((v, k) => states.set(k, v));
        } else if (!o.liveStacks) {
            try {
                add(cliStacks(o.backendUrl, PROJECT, repo), o.backendUrl);
            } catch (e) {
                // The janitor's npm script installs node_modules only (docs/janitor.md): the CLI is the bootstrap's or a vendor install.
                const why =
                    (e as NodeJS.ErrnoException).code === "ENOENT"
                        ? "pulumi is not on PATH: `npm run bootstrap` links it into bin/, or install Pulumi"
                        : (e as Error).message.split("\n")[0];
                throw new Error(`cannot list the stacks of ${o.backendUrl} with \`pulumi stack ls\` (${why}); pass --live-stacks a,b`, {
                    cause: e,
                });
            }
        }
    }
    // Complete when anything besides the local file backend was consulted.
    return { stacks, complete: sources.length > 1, source: sources.join(", "), states };
}

/** Executes one region's plan in order; never throws for a single object, records it. */
async function execute(ec2: EC2Client, rows: readonly Row[], io: JanitorIO, json: boolean): Promise<Outcome[]> {
    const outcomes: Outcome[] = [];
    const todo = rows.filter((r) => r.action === "delete");
    const log = (m: string) => io.err(`  ${m}`);
    const retry: RetryOptions = { log, ...io.retry };
    const record = (row: Row, status: Outcome["status"], error?: string) => {
        outcomes.push({ row, status, ...(error ? { error } : {}) });
        (json ? io.err : io.out)(`${row.region}  ${row.kind}  ${row.id}  ${status}${error ? `: ${error}` : ""}`);
    };
    const byKind = (k: Row["kind"]) => todo.filter((r) => r.kind === k);
    const imageResults = new Map<string, DeleteImageResult | Error>();
    for (const kind of KIND_ORDER) {
        for (const row of byKind(kind)) {
            try {
                switch (kind) {
                    case "instance": {
                        const done = await terminateInstances(ec2, [row.id], { retry, pollMs: 1000 });
                        record(row, done.length ? "deleted" : "gone");
                        break;
                    }
                    case "image": {
                        const r = await deleteImageAndSnapshots(ec2, row.id, { keepSnapshotIds: row.keepSnapshotIds, log, retry });
                        imageResults.set(row.id, r);
                        record(row, r.deregistered ? "deleted" : "gone");
                        break;
                    }
                    case "snapshot": {
                        const viaImage = row.ofImage ? imageResults.get(row.ofImage) : undefined;
                        if (viaImage instanceof Error) throw viaImage;
                        if (viaImage && viaImage.deletedSnapshots.includes(row.id)) record(row, "deleted");
                        else if (viaImage && viaImage.goneSnapshots.includes(row.id)) record(row, "gone");
                        else record(row, await deleteSnapshot(ec2, row.id, retry));
                        break;
                    }
                    case "security-group":
                        record(row, await deleteSecurityGroup(ec2, row.id, retry));
                        break;
                    case "key-pair":
                        await deleteKeyPair(ec2, { name: row.keyName ?? row.name }, retry);
                        record(row, "deleted");
                        break;
                }
            } catch (e) {
                const msg = (e as Error).message;
                if (kind === "image") imageResults.set(row.id, e as Error);
                record(row, "failed", msg);
            }
        }
    }
    return outcomes;
}

/** Runs the janitor with parsed options. Used by the CLI and by the tests. */
export async function runJanitor(o: JanitorOptions, io: JanitorIO): Promise<JanitorResult> {
    const repo = path.resolve(o.repo ?? REPO_ROOT);
    const now = io.now ?? new Date();
    const live = resolveLiveStacks(o, repo);
    const folders = versionsFolders(repo, PROJECT);
    const pinned = protectedImages(repo, folders);
    const policy: Policy = {
        now,
        ...(o.olderThanMs !== undefined ? { olderThanMs: o.olderThanMs } : {}),
        longestBuildMs: o.longestBuildMs,
        ...(o.stack !== undefined ? { stack: o.stack } : {}),
        liveStacks: live.stacks,
        liveStacksComplete: live.complete,
        protectedImages: pinned,
        ...(o.namePrefix !== undefined ? { namePrefix: o.namePrefix } : {}),
        tempPrefixes: o.tempPrefixes,
        stackStates: live.states,
    };
    const regions = await resolveRegions(o);
    io.err(
        `janitor: ${o.delete ? "DELETE" : "dry run"} in ${regions.join(", ")}; live stacks from ${live.source}` +
            `${live.complete ? "" : " (non-local stacks' images kept: give --backend-url or --live-stacks)"}; ${pinned.size} image(s) pinned by versions files in ${folders.map((f) => `${f.dir}/`).join(", ")}`,
    );
    const clientFor = io.client ?? ((region: string) => ec2Client(region, o.endpoint));
    const rows: Row[] = [];
    const skipped: SkippedRegion[] = [];
    for (const region of regions) {
        const ec2 = await clientFor(region);
        try {
            rows.push(...planRegion(await scanRegion(ec2, region, io.retry), policy));
        } catch (e) {
            if (!hasCode(e, REGION_DENIED_CODES)) throw e;
            // A region scanned in part is not planned at all: an object missing from the inventory
            // (an image denied to DescribeImages) could make its snapshots look orphaned.
            const reason = `${errorCode(e)}: ${String((e as Error).message ?? e).split("\n")[0]}`;
            skipped.push({ region, reason });
            io.err(`janitor: skipped ${region}, nothing scanned or deleted there: ${reason}`);
        } finally {
            ec2.destroy();
        }
    }
    const summary = summarize(rows, o.pricePerGiBMonth);
    if (!o.json) {
        io.out(rows.length ? renderTable(rows) : "no objects of this project found");
        io.out(renderSummary(summary, o.pricePerGiBMonth, !o.delete));
    }
    const outcomes: Outcome[] = [];
    if (o.delete) {
        for (const region of regions) {
            const todo = rows.filter((r) => r.region === region);
            if (!todo.some((r) => r.action === "delete")) continue;
            const ec2 = await clientFor(region);
            try {
                outcomes.push(...(await execute(ec2, todo, io, o.json)));
            } finally {
                ec2.destroy();
            }
        }
    }
    if (o.json) io.out(JSON.stringify({ rows, summary, outcomes, skipped }, null, 2));
    const failures = outcomes.filter((x) => x.status === "failed").length;
    if (failures) io.err(`janitor: ${failures} deletion(s) failed`);
    if (skipped.length) {
        io.err(
            `janitor: ${skipped.length} region(s) skipped, denied to these credentials: ${skipped.map((s) => s.region).join(", ")}; ` +
                `allow docs/iam/janitor.json's actions there, or leave them out with --regions`,
        );
    }
    return { rows, outcomes, failures, skipped, exitCode: failures || skipped.length ? 1 : 0 };
}

async function main(): Promise<number> {
    let o: JanitorOptions;
    try {
        o = parseArgs(process.argv.slice(2), process.env);
    } catch (e) {
        process.stderr.write(`janitor: ${(e as Error).message}\n\n${USAGE}\n`);
        return 2;
    }
    if (o.help) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    try {
        const r = await runJanitor(o, { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) });
        return r.exitCode;
    } catch (e) {
        process.stderr.write(`janitor: ${(e as Error).message}\n`);
        return 2;
    }
}

if (require.main === module) {
    void main().then((code) => {
        process.exitCode = code;
    });
}
