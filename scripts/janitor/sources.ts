/**
 * What must never be swept, read from the repository and the Pulumi backend: image ids named in
 * versions files, and the stacks that still exist. Small effects; the extraction is pure.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

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

/**
 * Image id → versions file (relative to `repo`) for every `versions/*.json` (and one level of
 * subfolders). Throws on a file that is not JSON: better no sweep than a sweep that missed a pin.
 */
export function protectedImages(repo: string): Map<string, string> {
    const dir = path.join(repo, "versions");
    const out = new Map<string, string>();
    if (!fs.existsSync(dir)) return out;
    const files: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        if (e.isFile() && e.name.endsWith(".json")) files.push(path.join(dir, e.name));
        if (e.isDirectory())
            for (const f of fs.readdirSync(path.join(dir, e.name))) if (f.endsWith(".json")) files.push(path.join(dir, e.name, f));
    }
    for (const f of files.sort()) {
        if (path.basename(f) === "schema.json") continue;
        let doc: unknown;
        try {
            doc = JSON.parse(fs.readFileSync(f, "utf8"));
        } catch (e) {
            throw new Error(`cannot read versions file ${f}: ${(e as Error).message}`);
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
