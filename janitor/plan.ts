/**
 * The janitor's brain: given what one region holds, decide what to delete and why. Pure (no I/O,
 * the clock is an input) so every rule is table-tested; janitor/cli.ts only scans and executes.
 */
import { TAG, isOurs, isProduction, type Tags } from "../providers/ec2/tags";
import type { ImageSummary } from "../providers/ec2/images";
import type { InstanceSummary, KeyPairSummary, SecurityGroupSummary, SnapshotSummary } from "../providers/ec2/inventory";
import { isLocalStack } from "../scripts/localStacks";

export type Kind = "instance" | "image" | "snapshot" | "security-group" | "key-pair";
/** Execution order: terminate instances before deleting their groups; deregister before snapshots. */
export const KIND_ORDER: readonly Kind[] = ["instance", "image", "snapshot", "security-group", "key-pair"];

/** What the scan of one region found. */
export interface RegionScan {
    region: string;
    /** Every self-owned image (any tags, any state): needed to see who still uses a snapshot. */
    images: ImageSummary[];
    /**
     * Project-tagged snapshots, the snapshots our images map, and the snapshots CreateImage made
     * from one of our builder instances (tagged or not: {@link builderLineage}).
     */
    snapshots: SnapshotSummary[];
    /** Every non-terminated instance (ours are picked by tag; the rest show who uses a group). */
    instances: InstanceSummary[];
    keyPairs: KeyPairSummary[];
    securityGroups: SecurityGroupSummary[];
}

export interface Policy {
    now: Date;
    /** Images older than this are deleted even before their ExpiresAt (never when ExpiresAt=never). */
    olderThanMs?: number;
    /** Builder instances, temporary groups/key pairs and orphan snapshots older than this are leftovers. */
    longestBuildMs: number;
    /** Only objects tagged Stack=<stack>; also lifts the live-stack protection for that stack. */
    stack?: string;
    /** Stacks that still exist in the backend: their images are kept. */
    liveStacks: ReadonlySet<string>;
    /**
     * True when {@link liveStacks} lists every backend's stacks. When false only local stacks
     * (`local`, `local-*`: `isLocalStack` in scripts/localStacks.ts, kept in the repo's file backend) are
     * known, and images of any other stack are kept: we cannot tell whether it still exists.
     */
    liveStacksComplete: boolean;
    /** Image id → versions file naming it: kept. */
    protectedImages: ReadonlyMap<string, string>;
    /** Only images whose name starts with this (optional narrowing). */
    namePrefix?: string;
    /** Name prefixes of Packer's temporary key pairs and security groups (default `packer_`). */
    tempPrefixes: readonly string[];
    /**
     * What each stack's state says, for the stacks whose state could be read (file backends):
     * images it records are never deleted; once no build of the stack can be running, its objects
     * made before that time and absent from the state are orphans, whatever their expiry or age.
     */
    stackStates?: ReadonlyMap<string, StackState>;
}

/** What a readable backend says about one stack. */
export interface StackState {
    /** Every image id anywhere in the stack's state (the image resource, its copies, outputs). */
    recordedImages: ReadonlySet<string>;
    /**
     * Since when no build of the stack can still be running: the stack is not locked and its state
     * has no pending operation, so a build that started before the state's last write would be
     * recorded there (and its engine and provider host, which exits within seconds of its engine,
     * are gone). Undefined while a build may be running ({@link busy} says why).
     */
    settledAt?: Date;
    /** Why a build may still be running (locked, pending operations). */
    busy?: string;
}

/**
 * EC2 gives creation times in whole seconds (`…:05.000Z`): an object made 0.9 s after the state's
 * last write can carry a time before it. Only an object whose whole second lies before counts.
 */
export const CREATION_TIME_PRECISION_MS = 1000;

/** The stack's state, when it is settled and `created` (ISO time) is before it settled. Pure. */
function settledBefore(p: Policy, stack: string, created: number | undefined): StackState | undefined {
    const st = stack ? p.stackStates?.get(stack) : undefined;
    if (!st?.settledAt || created === undefined || Number.isNaN(created)) return undefined;
    return created + CREATION_TIME_PRECISION_MS <= st.settledAt.getTime() ? st : undefined;
}

export interface Row {
    region: string;
    kind: Kind;
    id: string;
    name: string;
    stack: string;
    /** Milliseconds; undefined when unknown. */
    ageMs?: number;
    /** Snapshot size in GiB (snapshots only). */
    sizeGiB?: number;
    reason: string;
    action: "delete" | "keep";
    /** Snapshots of an image this plan deletes: that image (its deletion takes the snapshot along). */
    ofImage?: string;
    /** Images: snapshots that must survive the image (still used by another image). */
    keepSnapshotIds?: string[];
    /** Key pairs: delete by name when the API gave no id. */
    keyName?: string;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;

/** Parses `90s`, `45m`, `24h`, `7d`, `1h30m` into milliseconds; throws on anything else. */
export function parseDuration(s: string): number {
    const m = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.trim());
    if (!m || s.trim() === "") throw new Error(`not a duration: "${s}" (use e.g. 30m, 24h, 7d, 1h30m)`);
    const [, d, h, mi, se] = m.map((x) => (x === undefined ? 0 : Number(x)));
    return d * DAY + h * HOUR + mi * MINUTE + se * 1000;
}

/** `2d4h`, `1d`, `3h12m`, `2h`, `45m`, `30s`, `-` for unknown. */
export function formatAge(ms: number | undefined): string {
    if (ms === undefined || !Number.isFinite(ms)) return "-";
    if (ms < 0) return "0s";
    const two = (a: number, ua: string, b: number, ub: string) => `${a}${ua}${b ? `${b}${ub}` : ""}`;
    if (ms >= DAY) return two(Math.floor(ms / DAY), "d", Math.floor((ms % DAY) / HOUR), "h");
    if (ms >= HOUR) return two(Math.floor(ms / HOUR), "h", Math.floor((ms % HOUR) / MINUTE), "m");
    if (ms >= MINUTE) return `${Math.floor(ms / MINUTE)}m`;
    return `${Math.floor(ms / 1000)}s`;
}

function ageOf(now: Date, iso: string | undefined): number | undefined {
    if (!iso) return undefined;
    const t = Date.parse(iso);
    return Number.isNaN(t) ? undefined : now.getTime() - t;
}

/** Packer's temporary names end in a time-ordered UUID whose first 8 hex digits are Unix seconds. */
export function packerNameTime(name: string): Date | undefined {
    const m = /^packer_([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.exec(name);
    return m ? new Date(parseInt(m[1], 16) * 1000) : undefined;
}

/** `Created by CreateImage(i-…) for ami-…`: the description EC2 (and moto) give an image's snapshot. */
const CREATE_IMAGE_DESCRIPTION = /^Created by CreateImage\((i-[0-9a-f]+)\) for (ami-[0-9a-f]+)/;

/** The description filter value that finds the snapshots CreateImage made from `instanceId`. */
export function createImageDescriptionFilter(instanceId: string): string {
    return `Created by CreateImage(${instanceId}) for *`;
}

/**
 * Images and snapshots that carry none of our tags but were made by CreateImage from one of our
 * builder instances (the snapshot's description names both): id → the builder's id and tags. On AWS
 * Packer tags the image and its snapshot in CreateImage itself (run tags); the local emulator takes
 * no snapshot tags there (`skip_ami_run_tags`), so its image carries no tag until Packer's wait for
 * it ends. A build whose whole process tree was killed while that image was pending leaves it
 * untagged: found by no tag, it is found through its builder. Pure.
 */
export function builderLineage(
    snapshots: readonly SnapshotSummary[],
    instances: readonly InstanceSummary[],
): Map<string, { instanceId: string; tags: Tags }> {
    const builders = new Map(instances.filter((i) => isOurs(i.tags)).map((i) => [i.id, i]));
    const out = new Map<string, { instanceId: string; tags: Tags }>();
    for (const s of snapshots) {
        const m = CREATE_IMAGE_DESCRIPTION.exec(s.description);
        const b = m ? builders.get(m[1]) : undefined;
        if (!m || !b) continue;
        const tags: Tags = { ...b.tags };
        delete tags.Name; // the builder's own name, not the image's
        const from = { instanceId: b.id, tags };
        if (!isOurs(s.tags)) out.set(s.id, from);
        out.set(m[2], from);
    }
    return out;
}

/** AMI ids a snapshot description names (`Created by CreateImage(i-…) for ami-…`, `Copied for DestinationAmi ami-…`). */
export function amisInDescription(description: string): string[] {
    return description.match(/\bami-[0-9a-f]{8,17}\b/g) ?? [];
}

function stackOf(tags: Tags): string {
    return tags[TAG.stack] ?? "";
}

function inStackScope(tags: Tags, p: Policy): boolean {
    return p.stack === undefined || stackOf(tags) === p.stack;
}

/** Decides about one of our images (the caller has checked it is ours and in scope). */
export function judgeImage(img: ImageSummary, p: Policy): { action: "delete" | "keep"; reason: string } {
    const tags = img.tags;
    if (isProduction(tags)) return { action: "keep", reason: "production (Environment=prod)" };
    const file = p.protectedImages.get(img.id);
    if (file) return { action: "keep", reason: `named in ${file}` };
    const stack = stackOf(tags);
    const state = stack ? p.stackStates?.get(stack) : undefined;
    if (state?.recordedImages.has(img.id)) return { action: "keep", reason: `recorded in stack ${stack}'s state` };
    if (state && settledBefore(p, stack, img.creationDate ? Date.parse(img.creationDate) : undefined)) {
        return { action: "delete", reason: `orphan: not in stack ${stack}'s state, and no build of it is running` };
    }
    if (stack && stack !== p.stack) {
        if (p.liveStacks.has(stack)) return { action: "keep", reason: `stack ${stack} still exists` };
        if (!p.liveStacksComplete && !isLocalStack(stack)) {
            return { action: "keep", reason: `stack ${stack} may still exist (give --backend-url or --live-stacks)` };
        }
    }
    const expires = tags[TAG.expiresAt];
    if (expires === "never") return { action: "keep", reason: "ExpiresAt=never" };
    const expiresAt = expires ? Date.parse(expires) : NaN; // NaN (never <= now): absent or unreadable
    if (expiresAt <= p.now.getTime()) return { action: "delete", reason: `expired ${expires}` };
    const age = ageOf(p.now, img.creationDate);
    if (p.olderThanMs !== undefined && age !== undefined && age > p.olderThanMs) {
        return { action: "delete", reason: `older than ${formatAge(p.olderThanMs)}` };
    }
    if (!Number.isNaN(expiresAt)) return { action: "keep", reason: `expires ${expires}` };
    if (p.olderThanMs !== undefined) return { action: "keep", reason: `younger than ${formatAge(p.olderThanMs)}` };
    return { action: "keep", reason: expires ? `unreadable ExpiresAt "${expires}"` : "no ExpiresAt tag (use --older-than)" };
}

/** Plans one region. Rows come in execution order ({@link KIND_ORDER}), then by id. */
export function planRegion(found: RegionScan, p: Policy): Row[] {
    const base = { region: found.region };
    // Untagged images and snapshots made from our builders count as the builder's (its tags).
    const lineage = builderLineage(found.snapshots, found.instances);
    /** Ids that count as ours only through their builder → that builder. */
    const viaBuilder = new Map<string, string>();
    const adopted = <T extends { id: string; tags: Tags }>(x: T): T => {
        const from = isOurs(x.tags) ? undefined : lineage.get(x.id);
        if (!from) return x;
        viaBuilder.set(x.id, from.instanceId);
        return { ...x, tags: { ...from.tags, ...x.tags } };
    };
    const scan: RegionScan = { ...found, images: found.images.map(adopted), snapshots: found.snapshots.map(adopted) };
    const untaggedNote = (id: string): string => (viaBuilder.has(id) ? `untagged, made from builder ${viaBuilder.get(id)}: ` : "");
    const imagesById = new Map(scan.images.map((i) => [i.id, i]));

    // Images.
    const deletedImages = new Set<string>();
    const ourImages = scan.images.filter(
        (i) => isOurs(i.tags) && inStackScope(i.tags, p) && (p.namePrefix === undefined || i.name.startsWith(p.namePrefix)),
    );
    const imageRows: Row[] = [];
    for (const img of ourImages) {
        const j = judgeImage(img, p);
        if (j.action === "delete") deletedImages.add(img.id);
        imageRows.push({
            ...base,
            kind: "image",
            id: img.id,
            name: img.name,
            stack: stackOf(img.tags),
            ageMs: ageOf(p.now, img.creationDate),
            ...j,
            reason: `${untaggedNote(img.id)}${j.reason}`,
        });
    }
    // Who uses each snapshot after the deletions?
    const usersAfter = new Map<string, string[]>();
    for (const img of scan.images) {
        if (deletedImages.has(img.id)) continue;
        for (const s of img.snapshotIds) usersAfter.set(s, [...(usersAfter.get(s) ?? []), img.id]);
    }
    const snapsById = new Map(scan.snapshots.map((s) => [s.id, s]));
    const snapshotRows: Row[] = [];
    const seenSnaps = new Set<string>();
    for (const r of imageRows) {
        if (r.action !== "delete") continue;
        const keep: string[] = [];
        for (const sid of imagesById.get(r.id)!.snapshotIds) {
            seenSnaps.add(sid);
            const s = snapsById.get(sid);
            const users = usersAfter.get(sid);
            const row: Row = {
                ...base,
                kind: "snapshot",
                id: sid,
                name: s?.description ?? "",
                stack: stackOf(s?.tags ?? {}) || r.stack,
                ageMs: ageOf(p.now, s?.startTime),
                ...(s ? { sizeGiB: s.volumeSize } : {}),
                reason: `snapshot of ${r.id}`,
                action: "delete",
                ofImage: r.id,
            };
            if (users) {
                keep.push(sid);
                row.action = "keep";
                row.reason = `shared with ${users.join(", ")}`;
            } else if (s && isProduction(s.tags)) {
                keep.push(sid);
                row.action = "keep";
                row.reason = "production (Environment=prod)";
            }
            snapshotRows.push(row);
        }
        if (keep.length) r.keepSnapshotIds = keep;
    }
    // Our other snapshots: orphans when no image uses them any more.
    for (const s of scan.snapshots) {
        if (seenSnaps.has(s.id) || !isOurs(s.tags) || !inStackScope(s.tags, p)) continue;
        const age = ageOf(p.now, s.startTime);
        const row: Row = {
            ...base,
            kind: "snapshot",
            id: s.id,
            name: s.description,
            stack: stackOf(s.tags),
            ageMs: age,
            sizeGiB: s.volumeSize,
            reason: "",
            action: "keep",
        };
        const users = usersAfter.get(s.id);
        const named = amisInDescription(s.description);
        const livingNamed = named.filter((a) => imagesById.has(a) && !deletedImages.has(a));
        if (isProduction(s.tags)) row.reason = "production (Environment=prod)";
        else if (users) row.reason = `in use by ${users.join(", ")}`;
        else if (livingNamed.length) row.reason = `image ${livingNamed.join(", ")} exists`;
        else if (age !== undefined && settledBefore(p, row.stack, p.now.getTime() - age)) {
            row.action = "delete";
            row.reason = `orphan: no image uses it, and no build of stack ${row.stack} is running`;
        } else if (age === undefined || age <= p.longestBuildMs)
            row.reason = `younger than ${formatAge(p.longestBuildMs)} (build may be running)`;
        else {
            row.action = "delete";
            row.reason = named.length ? `orphan: image ${named.join(", ")} is gone` : "orphan: no image uses it";
        }
        snapshotRows.push(row);
    }

    // Builder instances (ours by tag).
    const instanceRows: Row[] = [];
    const terminated = new Set<string>();
    for (const i of scan.instances) {
        if (!isOurs(i.tags) || !inStackScope(i.tags, p)) continue;
        const age = ageOf(p.now, i.launchTime);
        const row: Row = {
            ...base,
            kind: "instance",
            id: i.id,
            name: i.tags.Name ?? "",
            stack: stackOf(i.tags),
            ageMs: age,
            reason: "",
            action: "keep",
        };
        if (isProduction(i.tags)) row.reason = "production (Environment=prod)";
        else if (age !== undefined && settledBefore(p, row.stack, p.now.getTime() - age)) {
            row.action = "delete";
            row.reason = `builder of stack ${row.stack}, which has no build running`;
        } else if (age === undefined || age <= p.longestBuildMs)
            row.reason = `younger than ${formatAge(p.longestBuildMs)} (build may be running)`;
        else {
            row.action = "delete";
            row.reason = `builder older than ${formatAge(p.longestBuildMs)}`;
        }
        if (row.action === "delete") terminated.add(i.id);
        instanceRows.push(row);
    }
    const isTemp = (name: string) => p.tempPrefixes.some((x) => name.startsWith(x));

    // Temporary security groups and key pairs: ours by tag, or Packer-named and used by our builder.
    const tempRow = (
        kind: Kind,
        id: string,
        name: string,
        tags: Tags,
        created: string | undefined,
        users: InstanceSummary[],
    ): Row | undefined => {
        const ourUsers = users.filter((u) => isOurs(u.tags));
        const ours = isOurs(tags) || (isTemp(name) && ourUsers.length > 0);
        if (!ours || name === "default") return undefined;
        const scopeTags = isOurs(tags) ? tags : (ourUsers[0]?.tags ?? {});
        if (!inStackScope(scopeTags, p)) return undefined;
        const times = [
            ageOf(p.now, created),
            ageOf(p.now, packerNameTime(name)?.toISOString()),
            ...users.map((u) => ageOf(p.now, u.launchTime)),
        ].filter((x): x is number => x !== undefined);
        const age = times.length ? Math.max(...times) : undefined;
        const row: Row = { ...base, kind, id, name, stack: stackOf(scopeTags), ageMs: age, reason: "", action: "keep" };
        const survivingUsers = users.filter((u) => !terminated.has(u.id));
        if (isProduction(tags)) row.reason = "production (Environment=prod)";
        else if (survivingUsers.length) row.reason = `in use by ${survivingUsers.map((u) => u.id).join(", ")}`;
        else if (users.length) {
            row.action = "delete";
            row.reason = `temporary ${kind} of ${users.map((u) => u.id).join(", ")}`;
        } else if (age === undefined) row.reason = "age unknown";
        else if (settledBefore(p, row.stack, p.now.getTime() - age)) {
            row.action = "delete";
            row.reason = `temporary ${kind} of stack ${row.stack}, which has no build running`;
        } else if (age <= p.longestBuildMs) row.reason = `younger than ${formatAge(p.longestBuildMs)} (build may be running)`;
        else {
            row.action = "delete";
            row.reason = `temporary ${kind} older than ${formatAge(p.longestBuildMs)}`;
        }
        return row;
    };
    const groupRows: Row[] = [];
    for (const g of scan.securityGroups) {
        const r = tempRow(
            "security-group",
            g.id,
            g.name,
            g.tags,
            undefined,
            scan.instances.filter((i) => i.securityGroupIds.includes(g.id)),
        );
        if (r) groupRows.push(r);
    }
    const keyRows: Row[] = [];
    for (const k of scan.keyPairs) {
        const r = tempRow(
            "key-pair",
            k.id || k.name,
            k.name,
            k.tags,
            k.createTime,
            scan.instances.filter((i) => i.keyName === k.name),
        );
        if (r) keyRows.push({ ...r, keyName: k.name });
    }
    const byId = (a: Row, b: Row) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return [instanceRows, imageRows, snapshotRows, groupRows, keyRows].flatMap((rs) => rs.sort(byId));
}

export interface Summary {
    toDelete: Record<Kind, number>;
    kept: number;
    snapshotGiB: number;
    monthlySavings: number;
}

/** Counts what a plan deletes and what the deleted snapshots cost per month at `pricePerGiBMonth`. */
export function summarize(rows: readonly Row[], pricePerGiBMonth: number): Summary {
    const toDelete: Record<Kind, number> = { instance: 0, image: 0, snapshot: 0, "security-group": 0, "key-pair": 0 };
    let kept = 0;
    let gib = 0;
    for (const r of rows) {
        if (r.action !== "delete") {
            kept++;
            continue;
        }
        toDelete[r.kind]++;
        if (r.kind === "snapshot") gib += r.sizeGiB ?? 0;
    }
    return { toDelete, kept, snapshotGiB: gib, monthlySavings: Math.round(gib * pricePerGiBMonth * 100) / 100 };
}

/** Renders rows as an aligned text table (region, kind, id, name, stack, age, reason, action). */
export function renderTable(rows: readonly Row[]): string {
    const head = ["REGION", "KIND", "ID", "NAME", "STACK", "AGE", "REASON", "ACTION"];
    const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
    const body = rows.map((r) => [r.region, r.kind, r.id, cut(r.name, 40), r.stack || "-", formatAge(r.ageMs), r.reason, r.action]);
    const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c].length)));
    return [head, ...body].map((cols) => cols.map((v, c) => (c === cols.length - 1 ? v : v.padEnd(widths[c]))).join("  ")).join("\n");
}

/** One-paragraph summary for humans. */
export function renderSummary(s: Summary, pricePerGiBMonth: number, dryRun: boolean): string {
    const parts = (Object.keys(s.toDelete) as Kind[])
        .filter((k) => s.toDelete[k] > 0)
        .map((k) => `${s.toDelete[k]} ${k}${s.toDelete[k] === 1 ? "" : "s"}`);
    const what = parts.length ? parts.join(", ") : "nothing";
    const verb = dryRun ? "would delete" : "deleting";
    return (
        `${verb}: ${what}; kept: ${s.kept}.\n` +
        `snapshot storage ${dryRun ? "to free" : "freed"}: ${s.snapshotGiB} GiB ≈ $${s.monthlySavings.toFixed(2)}/month at $${pricePerGiBMonth}/GiB-month` +
        " (upper bound: EBS bills snapshot blocks incrementally)" +
        (dryRun && parts.length ? "\nDry run: nothing was deleted. Re-run with --delete to delete." : "")
    );
}
