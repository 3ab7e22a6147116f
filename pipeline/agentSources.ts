/**
 * Pure helpers for the agent build: which files define the binary, their content hash (the
 * command resource's `triggers`), and parsing of the build script's sha256 output. No I/O.
 */
import { createHash } from "node:crypto";

/** One source file as read from disk: path relative to the agent folder and content. */
export interface SourceFile {
    /** Path relative to the agent folder, `/`-separated. */
    path: string;
    content: Buffer | string;
}

/** What else decides the binary besides its sources. */
export interface AgentBuildSettings {
    /** The `-X` linker flags the build script sets that vary by target (e.g. `-X main.Provider=aws`). */
    ldflags: string;
    /** `linux/amd64` or `linux/arm64`. */
    platform: string;
    /** `go env GOVERSION`, e.g. `go1.26.8`. */
    goVersion: string;
    /**
     * This checkout's build id (pipeline/agentFiles.ts `checkoutBuildId`): the same while the
     * checkout keeps the artifact it built, new on a checkout without one (a teammate's clone, a CI
     * runner, after `git clean`), so the command rebuilds the artifact there instead of the image
     * finding no file. The build is reproducible: same sources, same bytes, no image rebuild.
     */
    checkout: string;
}

/**
 * True for files that define the agent binary — the same set as agent/source-hash.sh: every Go
 * file except tests, and the top-level go.mod, go.sum, VERSION and build.sh. Unit files, docs and
 * tests do not change the binary and so must not trigger a rebuild.
 */
export function isAgentSource(relPath: string): boolean {
    const base = relPath.slice(relPath.lastIndexOf("/") + 1);
    if (base.endsWith(".go")) return !base.endsWith("_test.go");
    return !relPath.includes("/") && ["go.mod", "go.sum", "VERSION", "build.sh"].includes(base);
}

/**
 * Content hash of the agent sources, computed exactly as agent/source-hash.sh does (the build
 * script stamps its first 12 characters into the binary): the `sha256sum` listing
 * `<sha256 of content>  <path>\n` in byte order of path, then the sha256 of that listing.
 * Only paths and contents count, so a fresh clone, a `touch`, a `chmod` or the read order keep
 * it; an edit, a rename, an added or removed file change it.
 */
export function agentSourceHash(files: readonly SourceFile[]): string {
    // Code-unit order equals LC_ALL=C byte order for the ASCII paths a Go module has.
    const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    let listing = "";
    for (const f of sorted) {
        const content = typeof f.content === "string" ? f.content : new Uint8Array(f.content);
        listing += `${createHash("sha256").update(content).digest("hex")}  ${f.path}\n`;
    }
    return createHash("sha256").update(listing).digest("hex");
}

/**
 * The command resource's `triggers`: a change in any element replaces the command (a rebuild).
 * Order is fixed; the labels make `preview --diff` readable.
 */
export function agentTriggers(sourceHash: string, s: AgentBuildSettings): string[] {
    return [`sources=${sourceHash}`, `ldflags=${s.ldflags}`, `platform=${s.platform}`, `go=${s.goVersion}`, `checkout=${s.checkout}`];
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
    const lines = stdout
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l !== "");
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
