/**
 * The program's start under the registration Pulumi's Node runtime performs for `pulumi up`
 * (`@pulumi/pulumi/cmd/run/run.js`: PULUMI_NODEJS_TYPESCRIPT, PULUMI_NODEJS_TSCONFIG_PATH and
 * PULUMI_NODEJS_TRANSPILE_ONLY decide how ts-node is registered, then it requires index.ts). Each
 * sample is one fresh `node` process that installs mocks (no engine here: the language host and
 * the command plugin cannot be had), calls that same `run()` on the project root and reports the
 * time since its own start when the program has been loaded and has registered its resources.
 *
 *   ts-node --transpile-only bench/programStart.ts      (also a section of `npm run bench`)
 *
 * Modes, alternated round by round, medians reported:
 *   - type-checked: what Pulumi.yaml gave before, `typescript: true` and no `tsconfig` option
 *     (tsconfig.json, no noCheck → ts-node type-checks the whole program on every run);
 *   - as configured: PULUMI_NODEJS_TSCONFIG_PATH from Pulumi.yaml's `runtime.options.tsconfig`, as
 *     the Node language host passes it;
 *   - transpile-only: the reference, PULUMI_NODEJS_TRANSPILE_ONLY=true.
 * Env: BENCH_START_ROUNDS (default 5).
 */
import * as childProcess from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");

/** A developer stack that builds the agent with the command resource, as index.ts would see it. */
const CONFIG: Record<string, string> = {
    "couchbase-images:environment": "dev",
    "couchbase-images:sshCidrs": '["203.0.113.4/32"]',
    "couchbase-images:couchbaseReleaseSha256": "a".repeat(64),
    "couchbase-images:couchbaseKeyFingerprints": `["${"B".repeat(40)}"]`,
    "aws:region": "us-east-1",
};

/**
 * The child: mocks, then Pulumi's own run() on index.ts; prints ms since process start. run.js
 * requires its package's index.js (the CLI entry, which would start with a monitor address) only
 * for an exit-code constant, so that one module is pre-seeded in the require cache.
 */
const CHILD = `
const Module = require("module");
const entry = require.resolve("@pulumi/pulumi/cmd/run/index.js");
const stub = new Module(entry);
Object.assign(stub, { filename: entry, loaded: true, exports: { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 } });
require.cache[entry] = stub;
const pulumi = require("@pulumi/pulumi");
const SHA = "a".repeat(64);
const IMAGE = { imageId: "ami-0123456789abcdef0", imageName: "couchbase-cloud-server-dev-bench-aaaaaaaaaaaa", fingerprint: SHA, packerVersion: "1.16.0", createdAt: "2026-12-01T00:00:00.000Z", tags: {} };
const state = (a) =>
    a.type === "command:local:Command" ? { ...a.inputs, stdout: SHA } : a.type === "pulumi-nodejs:dynamic/packer:Image" ? { ...a.inputs, ...IMAGE } : a.inputs;
pulumi.runtime.setMocks({ newResource: (a) => ({ id: a.name + "-id", state: state(a) }), call: (a) => a.inputs }, "couchbase-images", "dev-bench", false);
const { run } = require("@pulumi/pulumi/cmd/run/run");
run({ _: ["."] }, () => {}, () => {}, () => false).then(
    async (exports) => {
        for (const v of Object.values(exports ?? {})) await v; // the stack outputs: every resource registered
        process.stdout.write(JSON.stringify({ ms: performance.now() }) + "\\n");
        process.exit(0);
    },
    (e) => { console.error(e); process.exit(1); },
);
`;

export type StartMode = "type-checked" | "as configured" | "transpile-only";

/** The tsconfig Pulumi.yaml names for the Node runtime, if any (a line scan of runtime.options). */
export function configuredTsconfig(pulumiYaml: string): string | undefined {
    const m = /^runtime:\n(?:[ ]+.*\n)*?[ ]+tsconfig:[ ]*(\S+)/m.exec(pulumiYaml);
    return m?.[1];
}

/** The environment Pulumi's Node language host gives `run.js` in each mode. */
export function modeEnv(mode: StartMode, tsconfig: string | undefined): Record<string, string> {
    const env: Record<string, string> = { PULUMI_NODEJS_TYPESCRIPT: "true", PULUMI_CONFIG: JSON.stringify(CONFIG) };
    if (mode === "as configured" && tsconfig) env.PULUMI_NODEJS_TSCONFIG_PATH = tsconfig;
    if (mode === "transpile-only") env.PULUMI_NODEJS_TRANSPILE_ONLY = "true";
    return env;
}

function sample(mode: StartMode, tsconfig: string | undefined): number {
    const base: NodeJS.ProcessEnv = { ...process.env };
    for (const k of ["PULUMI_NODEJS_TSCONFIG_PATH", "PULUMI_NODEJS_TRANSPILE_ONLY", "TS_NODE_TRANSPILE_ONLY", "TS_NODE_PROJECT"])
        delete base[k];
    const r = childProcess.spawnSync(process.execPath, ["-e", CHILD], {
        cwd: ROOT,
        env: { ...base, ...modeEnv(mode, tsconfig) },
        encoding: "utf8",
        timeout: 180_000,
    });
    // Pulumi's exit hook may turn exit(0) into 1 for promises of the mocks still pending; the
    // line on stdout is the proof that the program ran to its outputs.
    const last = r.stdout.trim().split("\n").pop() ?? "";
    if (!last.startsWith("{")) throw new Error(`program start (${mode}) failed (exit ${r.status}):\n${r.stderr}`);
    return (JSON.parse(last) as { ms: number }).ms / 1000;
}

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Medians (seconds) per mode, rounds alternating the modes. */
export function measureProgramStart(rounds: number): Record<StartMode, number> {
    const tsconfig = configuredTsconfig(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
    const modes: StartMode[] = ["type-checked", "as configured", "transpile-only"];
    const xs: Record<StartMode, number[]> = { "type-checked": [], "as configured": [], "transpile-only": [] };
    sample("transpile-only", tsconfig); // warm the file system cache, not counted
    for (let r = 0; r < rounds; r++) for (const m of r % 2 ? [...modes].reverse() : modes) xs[m].push(sample(m, tsconfig));
    return {
        "type-checked": median(xs["type-checked"]),
        "as configured": median(xs["as configured"]),
        "transpile-only": median(xs["transpile-only"]),
    };
}

/** The rows `npm run bench` prints. */
export function programStartRows(rounds: number): string[] {
    const m = measureProgramStart(rounds);
    const ref = m["transpile-only"];
    return [
        `program start under Pulumi's Node runtime registration (median of ${rounds}, one node process each):`,
        `  type-checked (before: no tsconfig option)  ${m["type-checked"].toFixed(2)} s  ${(m["type-checked"] / ref).toFixed(2)}x`,
        `  as configured (Pulumi.yaml tsconfig)       ${m["as configured"].toFixed(2)} s  ${(m["as configured"] / ref).toFixed(2)}x  (target <= 1.20x)`,
        `  transpile-only (reference)                 ${ref.toFixed(2)} s  1.00x`,
    ];
}

if (require.main === module) {
    for (const line of programStartRows(Number(process.env.BENCH_START_ROUNDS ?? 5))) console.log(line);
}
