/**
 * Program-time effects for the agent: read its sources for the trigger hash, ask Go for its
 * version, and verify a prebuilt artifact against its sha256 file. Runs during preview and update
 * in the program's process (never inside a provider), relative to the project root.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import { isAgentSource, parseSha256File, SourceFile } from "./agentSources";

/** Reads every agent source file under `dir` (see {@link isAgentSource}), paths relative to `dir`. */
export function readAgentSources(dir: string): SourceFile[] {
    const out: SourceFile[] = [];
    const walk = (rel: string): void => {
        for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
            const r = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) walk(r);
            else if (e.isFile() && isAgentSource(r)) out.push({ path: r, content: fs.readFileSync(path.join(dir, r)) });
        }
    };
    walk("");
    if (out.length === 0) throw new Error(`no agent sources under ${dir}`);
    return out;
}

/** `go env GOVERSION`, or `unknown` when Go is not installed (the build itself will then say so). */
export function goVersion(): string {
    try {
        return execFileSync("go", ["env", "GOVERSION"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
        return "unknown";
    }
}

/** File beside the artifact holding the checkout's build id (see {@link checkoutBuildId}). */
export const CHECKOUT_ID_FILE = "checkout-id";

/**
 * This checkout's agent build id, one of the command resource's triggers. While `outDir` holds
 * both the artifact and an id, that id (no rebuild); otherwise a new random id, written to
 * `outDir/checkout-id` (a checkout without the artifact: the state's command ran elsewhere or the
 * file was removed, so the command must run here). Writes one small file, never builds.
 */
export function checkoutBuildId(outDir: string, artifactName = "dp-agent.gz"): string {
    const idFile = path.join(outDir, CHECKOUT_ID_FILE);
    if (fs.existsSync(path.join(outDir, artifactName))) {
        try {
            const id = fs.readFileSync(idFile, "utf8").trim();
            if (/^[0-9a-f]{32}$/.test(id)) return id;
        } catch {
            /* no id yet: make one */
        }
    }
    const id = randomBytes(16).toString("hex");
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(idFile, `${id}\n`);
    return id;
}

/** The agent's VERSION file, trimmed; empty when absent. */
export function agentVersion(dir: string): string {
    try {
        return fs.readFileSync(path.join(dir, "VERSION"), "utf8").trim();
    } catch {
        return "";
    }
}

/**
 * Verifies a prebuilt agent artifact: its sha256 file must hold a digest, and the artifact's
 * actual sha256 must equal it.
 * @param keys the config keys to name in errors.
 * @returns the verified sha256.
 * @throws {Error} naming the key and the fix.
 */
export function verifyPrebuiltAgent(artifact: string, sha256File: string, keys: { artifact: string; sha256File: string }): string {
    if (!fs.existsSync(artifact)) {
        throw new Error(
            `${keys.artifact}: ${JSON.stringify(artifact)} does not exist; build it with ` +
                `\`bash agent/build.sh --out ${path.dirname(artifact)}\` or fix the path`,
        );
    }
    let text: string;
    try {
        text = fs.readFileSync(sha256File, "utf8");
    } catch {
        throw new Error(
            `${keys.sha256File}: ${JSON.stringify(sha256File)} cannot be read; it must sit beside the artifact ` +
                `(agent/build.sh writes it) or be named by ${keys.sha256File}`,
        );
    }
    const expected = parseSha256File(text);
    if (!expected) {
        throw new Error(`${keys.sha256File}: ${JSON.stringify(sha256File)} holds no sha256 (expected "<64 hex>  dp-agent.gz")`);
    }
    const actual = createHash("sha256")
        .update(new Uint8Array(fs.readFileSync(artifact)))
        .digest("hex");
    if (actual !== expected) {
        throw new Error(
            `${keys.artifact}: ${JSON.stringify(artifact)} has sha256 ${actual} but ${sha256File} says ${expected}; ` +
                `the artifact or its sha256 file is stale: rebuild both with agent/build.sh`,
        );
    }
    return actual;
}
