/**
 * Pure helpers for the agent build: which files define the binary, their content hash (the
 * command resource's `triggers`), and parsing of the build script's sha256 output. No I/O.
 */
import { createHash } from "node:crypto";

/** One source file as read from disk: project-relative path, content and the exec bit only. */
export interface SourceFile {
    /** Path relative to the agent folder, `/`-separated. */
    path: string;
    content: Buffer | string;
    executable: boolean;
}

/** What else decides the binary besides its sources. */
export interface AgentBuildSettings {
    /** The `-X` linker flags the build script sets that vary by target (e.g. `-X main.Provider=aws`). */
    ldflags: string;
    /** `linux/amd64` or `linux/arm64`. */
    platform: string;
    /** `go env GOVERSION`, e.g. `go1.26.8`. */
    goVersion: string;
}

/**
 * True for files that define the agent binary: Go sources (not tests, not testdata), the module
 * files, the VERSION file and the build script. Unit files, docs and tests do not change the binary
 * and so must not trigger a rebuild.
 */
export function isAgentSource(relPath: string): boolean {
    const parts = relPath.split("/");
    if (parts.some((p) => p === "testdata" || p === "vendor" || p.startsWith("."))) return false;
    const base = parts[parts.length - 1];
    if (base.endsWith(".go")) return !base.endsWith("_test.go");
    if (parts.length === 1) return ["go.mod", "go.sum", "VERSION", "build.sh"].includes(base);
    return false;
}

/**
 * sha256 over the sources' paths, contents and exec bits, in path order. Independent of mtimes,
 * ownership, read order and the checkout location, so a fresh clone or a `touch` keeps it; an
 * edit, a rename, an added file or an exec-bit change changes it.
 */
export function agentSourceHash(files: readonly SourceFile[]): string {
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const h = createHash("sha256");
    for (const f of sorted) {
        // (a Uint8Array copy: @types/node 20.9's Buffer does not type-check as BinaryLike under TS 5.9)
        const content = typeof f.content === "string" ? f.content : new Uint8Array(f.content);
        const fileHash = createHash("sha256").update(content).digest("hex");
        // One line per file; paths cannot contain newlines in a sane tree, and the per-file hash keeps
        // the record fixed-size so no content can imitate a path boundary.
        h.update(`${f.path}\0${f.executable ? "755" : "644"}\0${fileHash}\n`);
    }
    return h.digest("hex");
}

/**
 * The command resource's `triggers`: a change in any element replaces the command (a rebuild).
 * Order is fixed; the labels make `preview --diff` readable.
 */
export function agentTriggers(sourceHash: string, s: AgentBuildSettings): string[] {
    return [`sources=${sourceHash}`, `ldflags=${s.ldflags}`, `platform=${s.platform}`, `go=${s.goVersion}`];
}

const SHA256_RE = /^[0-9a-f]{64}$/;

/** True for 64 lowercase hex characters. */
export function isSha256(v: string): boolean {
    return SHA256_RE.test(v);
}

/**
 * The sha256 the build script printed: its last non-empty stdout line.
 * @throws {Error} when that line is not a sha256.
 */
export function lastSha256Line(stdout: string): string {
    const lines = stdout.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== "");
    const last = lines[lines.length - 1] ?? "";
    if (!isSha256(last)) {
        throw new Error(`agent/build.sh: expected a sha256 as the last line of its output, got ${JSON.stringify(last.slice(0, 100))}`);
    }
    return last;
}

/**
 * Parses a `sha256sum`-style file (`<hex>  <name>`, or just `<hex>`).
 * @returns the hex digest, or undefined when the file does not hold one.
 */
export function parseSha256File(text: string): string | undefined {
    const first = text.trim().split(/\s+/)[0]?.toLowerCase() ?? "";
    return isSha256(first) ? first : undefined;
}
