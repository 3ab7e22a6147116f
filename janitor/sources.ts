/**
 * What must never be swept, read from the repository and the Pulumi backend: image ids named in
 * versions files (in every versions folder the project's config points to), and the stacks that
 * still exist. Small effects; the extraction is pure (here and in configFiles.ts).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT } from "../providers/ec2/tags";
import { stackConfigFileNames, versionsDirs, type ConfigFile, type VersionsDir } from "./configFiles";
import type { StackState } from "./plan";

const AMI = /\bami-[0-9a-f]{8,17}\b/g;

/** Every AMI id in any string value (or key) of a parsed JSON document. Pure. */
export function amiIdsInJson(doc: unknown): string[] {
    const out = new Set<string>();
    const walk = (v: unknown): void => {
        if (typeof v === "string") for (const m of v.match(AMI) ?? []) out.add(m);
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === "object")
            for (const [k, x] of Object.entries(v)) {
                walk(k);
                walk(x);
            }
    };
    walk(doc);
    return [...out].sort();
}

/** `Pulumi.yaml` and every `Pulumi.<stack>.yaml` at `repo`'s root; an absent `Pulumi.yaml` is undefined. */
export function readConfigFiles(repo: string): { project?: ConfigFile; stacks: ConfigFile[] } {
    const read = (name: string): ConfigFile => {
        try {
            return { name, text: fs.readFileSync(path.join(repo, name), "utf8") };
        } catch (e) {
            throw new Error(`cannot read ${path.join(repo, name)}: ${(e as Error).message}`, { cause: e });
        }
    };
    const names = fs.existsSync(repo) ? fs.readdirSync(repo) : [];
    return {
        ...(names.includes("Pulumi.yaml") ? { project: read("Pulumi.yaml") } : {}),
        stacks: stackConfigFileNames(names).map(read),
    };
}

/**
 * The versions folders `repo`'s config points to: `versions/` and every `versionsDir` in
 * `Pulumi.yaml` and `Pulumi.<stack>.yaml` (see configFiles.ts). Throws on an unreadable or
 * unparsable config file, or a folder outside the project.
 */
export function versionsFolders(repo: string, project = PROJECT): VersionsDir[] {
    const files = readConfigFiles(repo);
    try {
        return versionsDirs(files.project, files.stacks, project);
    } catch (e) {
        throw new Error(`cannot tell which versions folders to protect (in ${repo}): ${(e as Error).message}`, { cause: e });
    }
}

/**
 * Image id → versions file (relative to `repo`) for every `*.json` (and one level of subfolders,
 * never `schema.json`) in each versions folder; a folder that does not exist holds nothing. Throws
 * on a file that is not JSON: better no sweep than a sweep that missed a pin.
 */
export function protectedImages(repo: string, folders: readonly VersionsDir[] = versionsFolders(repo)): Map<string, string> {
    const out = new Map<string, string>();
    const files = new Set<string>();
    for (const { dir: rel } of folders) {
        const dir = path.join(repo, rel);
        if (!fs.existsSync(dir)) continue;
        const here: string[] = [];
        for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
            if (e.isFile() && e.name.endsWith(".json")) here.push(path.join(dir, e.name));
            if (e.isDirectory())
                for (const f of fs.readdirSync(path.join(dir, e.name))) if (f.endsWith(".json")) here.push(path.join(dir, e.name, f));
        }
        here.sort().forEach((f) => files.add(f));
    }
    for (const f of files) {
        if (path.basename(f) === "schema.json") continue;
        let doc: unknown;
        try {
            doc = JSON.parse(fs.readFileSync(f, "utf8"));
        } catch (e) {
            throw new Error(`cannot read versions file ${f}: ${(e as Error).message}`, { cause: e });
        }
        for (const id of amiIdsInJson(doc)) if (!out.has(id)) out.set(id, path.relative(repo, f));
    }
    return out;
}

/** Stack names in a Pulumi file backend directory (`<dir>/.pulumi/stacks/<project>/<stack>.json[.gz]`). */
export function fileBackendStacks(dir: string, project: string): string[] {
    const out = new Set<string>();
    const scan = (d: string) => {
        if (!fs.existsSync(d)) return;
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const m = /^(.+)\.json(\.gz)?$/.exec(e.name);
            if (e.isFile() && m) out.add(m[1]);
        }
    };
    scan(path.join(dir, ".pulumi", "stacks", project));
    scan(path.join(dir, ".pulumi", "stacks")); // legacy layout without project folders
    return [...out].sort();
}

/** Converts a `file://` backend URL into a directory (`~` expanded), or undefined for other backends. */
export function fileBackendDir(url: string, home = process.env.HOME ?? ""): string | undefined {
    if (!url.startsWith("file://")) return undefined;
    let p = url.slice("file://".length);
    if (p === "~" || p.startsWith("~/")) p = path.join(home, p.slice(1));
    return p;
}

/** Stack names from `pulumi stack ls --all --json` against `backendUrl` (last path segment of each name). */
export function cliStacks(backendUrl: string, project: string, cwd: string): string[] {
    const out = execFileSync("pulumi", ["stack", "ls", "--all", "--json"], {
        cwd,
        env: { ...process.env, PULUMI_BACKEND_URL: backendUrl, PULUMI_SKIP_UPDATE_CHECK: "true" },
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 120_000,
    });
    const list = JSON.parse(out) as { name: string }[];
    const names: string[] = [];
    for (const s of list) {
        const parts = s.name.split("/");
        if (parts.length === 3 && parts[1] !== project) continue;
        names.push(parts[parts.length - 1]);
    }
    return names.sort();
}

/**
 * What a checkpoint (`<stack>.json` of a file backend) and the stack's lock folder say, for the
 * planner (plan.ts `StackState`). Pure: `checkpoint` is the parsed file, `locked` whether a lock
 * file exists, `writtenAt` the file's modification time. Undefined for a file that holds no
 * `checkpoint` object (then the stack keeps the protection of a live stack).
 */
export function stackStateOf(checkpoint: unknown, locked: boolean, writtenAt: Date): StackState | undefined {
    // A file without a checkpoint object is not a state we understand: it grants no deletion.
    const cp = (checkpoint as { checkpoint?: unknown } | undefined)?.checkpoint;
    if (!cp || typeof cp !== "object") return undefined;
    const latest = ((cp as { latest?: Record<string, unknown> }).latest ?? {}) as {
        resources?: unknown[];
        pending_operations?: unknown[];
        manifest?: { time?: string };
    };
    const recordedImages = new Set(amiIdsInJson(latest.resources ?? []));
    const pending = (latest.pending_operations ?? []).length;
    if (locked) return { recordedImages, busy: "locked: an operation may be running" };
    if (pending > 0) return { recordedImages, busy: `${pending} pending operation(s)` };
    // The earlier of the manifest's time (when the operation that wrote it started) and the file's.
    const manifest = latest.manifest?.time ? Date.parse(latest.manifest.time) : NaN;
    const at = Number.isNaN(manifest) ? writtenAt.getTime() : Math.min(manifest, writtenAt.getTime());
    return { recordedImages, settledAt: new Date(at) };
}

/** The state of every stack of `project` in a file backend directory (see {@link stackStateOf}); unreadable checkpoints are skipped. */
export function fileBackendStackStates(dir: string, project: string): Map<string, StackState> {
    const out = new Map<string, StackState>();
    const stacksDir = path.join(dir, ".pulumi", "stacks", project);
    if (!fs.existsSync(stacksDir)) return out;
    for (const e of fs.readdirSync(stacksDir, { withFileTypes: true })) {
        const m = /^(.+)\.json$/.exec(e.name);
        if (!e.isFile() || !m) continue;
        const file = path.join(stacksDir, e.name);
        let doc: unknown;
        try {
            doc = JSON.parse(fs.readFileSync(file, "utf8"));
        } catch {
            continue; // not readable: the stack keeps the protection of a live stack
        }
        const lockDirs = [
            path.join(dir, ".pulumi", "locks", "organization", project, m[1]),
            path.join(dir, ".pulumi", "locks", project, m[1]),
        ];
        const locked = lockDirs.some((d) => fs.existsSync(d) && fs.readdirSync(d).some((f) => f.endsWith(".json")));
        const state = stackStateOf(doc, locked, fs.statSync(file).mtime);
        if (state) out.set(m[1], state);
    }
    return out;
}
