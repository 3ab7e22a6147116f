/**
 * The inputs a local stack takes prebuilt, made by their one-concern build scripts: the cached
 * Debian root under every sandbox (rootfs.sh), the agent artifact (agent/build.sh) and the stand-in
 * couchbase-server package (standin-couchbase.sh). `npm run local` and the end-to-end tests' world
 * build them the same way; each script is idempotent and prints its result last on stdout.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** `quiet`: the script's progress (stderr) is kept back and shown only in the error when it fails. */
export interface BuildOptions {
    quiet?: boolean;
}

/** Runs `bash SCRIPT ...args` from the project root; returns the last line it printed on stdout. */
function lastLine(script: string, args: readonly string[], opts: BuildOptions): string {
    const out = execFileSync("bash", [path.join(PROJECT_ROOT, script), ...args], {
        cwd: PROJECT_ROOT,
        encoding: "utf8",
        stdio: ["ignore", "pipe", opts.quiet ? "pipe" : "inherit"],
    });
    return out.trim().split("\n").pop() ?? "";
}

/** An architecture rootfs.sh builds a Debian root for. */
export type RootfsArch = "amd64" | "arm64";

/**
 * `arch`: the root's architecture, `amd64` (default: the root every sandbox had before there were
 * two) or `arm64`, which on an amd64 machine is built and run under user-mode qemu (registered by
 * scripts/bootstrap.sh; rootfs.sh fails naming the fix when it is not).
 */
export interface RootfsOptions extends BuildOptions {
    arch?: RootfsArch;
}

/**
 * The cached Debian bookworm root of `opts.arch` (built once, the same packages for each
 * architecture, each in its own cache folder): the read-only lower dir of every sandbox.
 */
export function rootfsDir(opts: RootfsOptions = {}): string {
    return lastLine("scripts/local/rootfs.sh", opts.arch ? ["--arch", opts.arch] : [], opts);
}

/** Builds `<outDir>/dp-agent.gz` (and its `.sha256`) with agent/build.sh for `opts.arch` (default amd64); returns the sha256. */
export function buildAgent(outDir: string, opts: RootfsOptions = {}): string {
    return lastLine("agent/build.sh", ["--out", outDir, ...(opts.arch ? ["--arch", opts.arch] : [])], opts);
}

/**
 * Builds the stand-in couchbase-server .deb in `outDir`; returns its path. `version` is X.Y.Z;
 * `opts.arch` the package's architecture (default amd64; the arm64 one sits beside it in `outDir`).
 */
export function buildStandin(outDir: string, version: string, edition = "enterprise", opts: RootfsOptions = {}): string {
    return lastLine(
        "scripts/local/standin-couchbase.sh",
        ["--out", outDir, "--version", version, "--edition", edition, ...(opts.arch ? ["--arch", opts.arch] : [])],
        opts,
    );
}
