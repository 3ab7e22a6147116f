/**
 * The image's input fingerprint: sha256 over canonical (sorted-key) JSON of every build-defining
 * input. Pure apart from hashing: the caller reads the files and passes their bytes in.
 *
 * Stable across a fresh clone, `touch` and file order (only relative path, content and the
 * executable bit count); changed by an edit, a rename or a mode change of any template file that
 * goes into the image, the unit file or the local Couchbase package, and by any build variable
 * (the Couchbase repository pins in repository mode), the base image, the agent sha256 or the
 * Packer/plugin versions.
 *
 * Template files that go into the image: every file under the template folder except those its
 * `.imageignore` lists (the folder's CI script, README, test fixtures) and the ignore file itself;
 * the `*.pkr.hcl` template always counts (`imageFiles.ts` has the rule). So editing `ci.sh` next
 * to the template rebuilds nothing, while editing a script a provisioner runs or a file it uploads
 * does.
 */
import { createHash } from "node:crypto";
import type { ResolvedImageInputs } from "./types";
import { packageUrl } from "./couchbasePackages";

/** One file as the fingerprint sees it. */
export interface FileEntry {
    /** Path relative to its folder, forward slashes. */
    path: string;
    content: Buffer | string;
    executable: boolean;
}

/** What the fingerprint covers besides the inputs themselves. */
export interface FingerprintSources {
    /** The template folder's files that go into the image (`readTree` with `imageFileFilter`). */
    templateFiles: FileEntry[];
    /** The agent unit file's content. */
    agentUnit: Buffer | string;
    /** Files of a local Couchbase package folder (empty with `repository`). */
    packageFiles: FileEntry[];
    /** `packer version` (e.g. `1.16.0`). */
    packerVersion: string;
    /** Amazon plugin version (e.g. `1.8.2`). */
    pluginVersion: string;
}

export interface Fingerprint {
    /** sha256 hex of the canonical JSON of `parts`. */
    fingerprint: string;
    /** Part name → sha256 hex. Names: `template/<path>`, `agentUnit`, `agentSha256`, `package/<file>`, `variables`, `baseImage`, `naming`, `tools`. */
    parts: Record<string, string>;
}

/** sha256 hex of a string or bytes. */
export function sha256Hex(data: Buffer | string): string {
    const bytes = typeof data === "string" ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return createHash("sha256").update(bytes).digest("hex");
}

/** JSON with object keys sorted at every level; arrays keep their order; undefined fields dropped. */
export function canonicalJson(value: unknown): string {
    if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
    if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

function fileHash(f: FileEntry): string {
    return sha256Hex(canonicalJson({ content: sha256Hex(f.content), executable: f.executable }));
}

/** Build variables the fingerprint covers (`variables` part). */
export function fingerprintVariables(i: ResolvedImageInputs): Record<string, unknown> {
    return {
        region: i.region,
        instanceType: i.instanceType,
        couchbaseEdition: i.couchbaseEdition,
        couchbaseVersion: i.couchbaseVersion,
        couchbasePackageSource: i.couchbasePackageSource,
        // The repository pins shape the image only in repository mode; absent otherwise (so a
        // local-package stack's fingerprint is what it was before these inputs existed). The key
        // set counts, not its order or duplicates.
        couchbaseRepository:
            i.couchbasePackageSource === "repository"
                ? {
                      releaseUrl: i.couchbaseReleaseUrl,
                      releaseSha256: i.couchbaseReleaseSha256,
                      keyFingerprints: [...new Set(i.couchbaseKeyFingerprints ?? [])].sort(),
                  }
                : undefined,
        // The downloaded package (download mode only, absent otherwise, as above): which file,
        // and the sha256 it must have.
        couchbaseDownload:
            i.couchbasePackageSource === "download"
                ? { url: packageUrl(i.couchbaseVersion, i.couchbaseEdition, i.architecture), sha256: i.couchbasePackageSha256 }
                : undefined,
        kmsKeyId: i.kmsKeyId,
        sshUsername: i.sshUsername,
        // Only when set (absent otherwise, as above): an image built before these inputs existed,
        // with the template's default root volume, keeps its fingerprint.
        rootVolumeSize: i.rootVolumeSize ? i.rootVolumeSize : undefined,
        rootDeviceName: i.rootDeviceName ? i.rootDeviceName : undefined,
    };
}

/** Computes the fingerprint and its parts. */
export function computeFingerprint(i: ResolvedImageInputs, src: FingerprintSources): Fingerprint {
    const parts: Record<string, string> = {};
    for (const f of src.templateFiles) parts[`template/${f.path}`] = fileHash(f);
    parts.agentUnit = sha256Hex(src.agentUnit);
    parts.agentSha256 = sha256Hex(i.agentSha256);
    for (const f of src.packageFiles) parts[`package/${f.path}`] = fileHash(f);
    parts.variables = sha256Hex(canonicalJson(fingerprintVariables(i)));
    parts.baseImage = sha256Hex(canonicalJson(i.baseImage));
    parts.naming = sha256Hex(canonicalJson({ namePrefix: i.namePrefix, stack: i.stack, release: i.release }));
    parts.tools = sha256Hex(canonicalJson({ packer: src.packerVersion, plugin: src.pluginVersion }));
    return { fingerprint: sha256Hex(canonicalJson(parts)), parts };
}

/** Part names present in either map whose hashes differ, sorted. */
export function changedParts(olds: Record<string, string> | undefined, news: Record<string, string> | undefined): string[] {
    const a = olds ?? {};
    const b = news ?? {};
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].filter((k) => a[k] !== b[k]).sort();
}

/** The input property a fingerprint part comes from (for `replaces` and messages). */
export function partProperty(part: string): string {
    if (part.startsWith("template/")) return "templateDir";
    if (part.startsWith("package/")) return "couchbasePackageSource";
    if (part === "tools" || part === "variables" || part === "naming") return "fingerprintParts";
    return part;
}

/** Minimal `fs` surface {@link readTree} needs (pass `node:fs` as loaded inside the provider method). */
export interface TreeFs {
    readdirSync(
        p: string,
        o: { withFileTypes: true },
    ): { name: string; isDirectory(): boolean; isFile(): boolean; isSymbolicLink(): boolean }[];
    readFileSync(p: string): Buffer;
    statSync(p: string): { mode: number; isFile(): boolean; isDirectory(): boolean };
}

/**
 * Reads every regular file under `dir` (following nothing but plain folders), sorted by relative
 * path. Symbolic links are read through (their target's content and mode count). With `keep`,
 * only files whose relative path it accepts are read and returned (for the template folder:
 * `imageFileFilter` of its `.imageignore`).
 */
export function readTree(fs: TreeFs, dir: string, keep?: (relPath: string) => boolean): FileEntry[] {
    const out: FileEntry[] = [];
    const walk = (rel: string) => {
        const abs = rel === "" ? dir : `${dir}/${rel}`;
        for (const e of fs.readdirSync(abs, { withFileTypes: true })) {
            const r = rel === "" ? e.name : `${rel}/${e.name}`;
            const st = e.isSymbolicLink() ? fs.statSync(`${dir}/${r}`) : e;
            if (st.isDirectory()) walk(r);
            else if (st.isFile()) {
                if (keep && !keep(r)) continue;
                const mode = fs.statSync(`${dir}/${r}`).mode;
                out.push({ path: r, content: fs.readFileSync(`${dir}/${r}`), executable: (mode & 0o111) !== 0 });
            }
        }
    };
    walk("");
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
