/**
 * The stack driver: runs the project's program on the real Pulumi engine through the Automation API.
 *
 *   npm run stack -- <preview|up|refresh|destroy|cancel> --stack NAME [--diff] [--clear-pending-creates] [--remove]
 *
 * The program runs inline in this process (no Node.js language host needed), with `workDir` at the
 * project root, so `Pulumi.yaml` and `Pulumi.<stack>.yaml` apply exactly as they do for `pulumi up`.
 * The same `program()` is what `index.ts` runs under a standard Pulumi install.
 *
 * Local stacks (`local` and `local-*`) use a file backend in `.pulumi-state/` and a fixed passphrase
 * that protects nothing (they hold no secrets). Every other stack uses your own backend
 * (`pulumi login`, or PULUMI_BACKEND_URL) and secrets provider (PULUMI_CONFIG_PASSPHRASE etc.).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { EngineEvent, LocalWorkspace, PulumiFn, Stack } from "@pulumi/pulumi/automation";
import { LOCAL_STATE_DIR, isLocalStack } from "./localStacks";
import { ErrorDiagnostics, StackError, dropAbandonedRuns, reportProgramErrorsOnce } from "./stackErrors";

export const PROJECT_ROOT = path.resolve(__dirname, "..");
export const PROJECT_NAME = "couchbase-images";
/** Passphrase for local stacks only. Documented in the README; never use it for a real stack. */
export const LOCAL_PASSPHRASE = "local-stacks-only-not-a-secret";

/**
 * `cancel` releases the lock a killed run left on the stack (`pulumi cancel`): the first step of the
 * recovery after a hard kill, before `refresh --clear-pending-creates`.
 */
export type Operation = "preview" | "up" | "refresh" | "destroy" | "cancel";
export const OPERATIONS: readonly Operation[] = ["preview", "up", "refresh", "destroy", "cancel"];

export type ConfigInput = string | number | boolean | string[] | Record<string, string>;

/** The `pulumi config set-all --json` document for typed config values. Pure. */
export function configJson(config: Record<string, ConfigInput>): string {
    const doc: Record<string, { value: string; objectValue?: unknown }> = {};
    for (const [key, v] of Object.entries(config)) {
        doc[key] = typeof v === "object" ? { value: JSON.stringify(v), objectValue: v } : { value: String(v) };
    }
    return JSON.stringify(doc);
}

export interface RunOptions {
    stack: string;
    /** The program to run; the project's `program()` when omitted. */
    program?: PulumiFn;
    /** Extra environment for the CLI and the providers it starts (merged over process.env). */
    envVars?: Record<string, string>;
    /**
     * Config values set on the stack before the operation (`ns:key` → value). Lists and maps keep
     * their type (the engine checks them against `Pulumi.yaml`), so pass them as arrays/objects.
     */
    config?: Record<string, ConfigInput>;
    /** Where engine output goes; process.stdout when omitted. */
    onOutput?: (text: string) => void;
    signal?: AbortSignal;
    /** Show detailed property diffs (preview/up). */
    diff?: boolean;
    /** refresh: drop pending creates left by an interrupted up. */
    clearPendingCreates?: boolean;
    /** destroy: also remove the stack (and its history) from the backend. */
    remove?: boolean;
    /** Fail an up/preview that would change anything. */
    expectNoChanges?: boolean;
    /** Seed a missing `Pulumi.local-<name>.yaml` from `Pulumi.local.yaml` (default true). */
    seedConfig?: boolean;
}

export interface RunResult {
    op: Operation;
    /** Engine summary: counts per operation kind (create, same, update, replace, delete...). */
    changes: Record<string, number>;
    outputs: Record<string, unknown>;
}

export { isLocalStack };

/**
 * PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION for a stack's CLI. Local stacks: always "true" (they
 * need no plugin the bootstrap does not provide, and must never reach a registry). Every other
 * stack: the caller's own setting, "false" when the caller had none, so a machine that never ran
 * `pulumi up` fetches the aws and command plugins the stack needs (the README's recovery commands
 * work on a fresh CI runner). The caller's setting is the value scripts/env.sh remembered in
 * COUCHBASE_IMAGES_CALLER_PLUGIN_ACQUISITION before turning downloads off for the project's
 * scripts ("unset": none), else PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION itself (the driver run
 * without env.sh).
 */
export function pluginAcquisition(stack: string, env: NodeJS.ProcessEnv = process.env): string {
    if (isLocalStack(stack)) return "true";
    const remembered = env.COUCHBASE_IMAGES_CALLER_PLUGIN_ACQUISITION;
    const caller =
        remembered === undefined ? env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION : remembered === "unset" ? undefined : remembered;
    return caller ?? "false";
}

/** Environment for the CLI: offline settings always; backend and passphrase only for local stacks. */
export function stackEnv(stack: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
    const out: Record<string, string> = {
        PULUMI_SKIP_UPDATE_CHECK: "true",
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: pluginAcquisition(stack, env),
        CHECKPOINT_DISABLE: "1",
    };
    if (isLocalStack(stack)) {
        out.PULUMI_BACKEND_URL = env.PULUMI_BACKEND_URL ?? `file://${path.join(PROJECT_ROOT, LOCAL_STATE_DIR)}`;
        out.PULUMI_CONFIG_PASSPHRASE = env.PULUMI_CONFIG_PASSPHRASE ?? LOCAL_PASSPHRASE;
    }
    return out;
}

/** A `local-<name>` stack without a config file of its own starts from `Pulumi.local.yaml`. */
export function seedLocalStackConfig(stack: string, root = PROJECT_ROOT): void {
    if (!stack.startsWith("local-")) return;
    const own = path.join(root, `Pulumi.${stack}.yaml`);
    const base = path.join(root, "Pulumi.local.yaml");
    if (!fs.existsSync(own) && fs.existsSync(base)) fs.copyFileSync(base, own);
}

/**
 * The stack's config as its settings file holds it (`Pulumi.<stack>.yaml`, read with the Automation
 * API's own reader; a missing `Pulumi.local-<name>.yaml` is seeded first, as every operation does):
 * `<namespace>:<key>` → value. Secrets are left out; {} when the stack has no settings file. What
 * the program reads is this plus the defaults of `Pulumi.yaml`.
 */
export async function stackConfigValues(stack: string, root = PROJECT_ROOT): Promise<Record<string, unknown>> {
    seedLocalStackConfig(stack, root);
    const ws = await LocalWorkspace.create({ workDir: root, envVars: stackEnv(stack) });
    let config: Record<string, unknown>;
    try {
        config = (await ws.stackSettings(stack)).config ?? {};
    } catch {
        return {};
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) {
        const secret = v !== null && typeof v === "object" && !Array.isArray(v) && "secure" in v;
        if (!secret) out[k] = v;
    }
    return out;
}

async function defaultProgram(): Promise<PulumiFn> {
    const mod = await import("../pipeline/program");
    return mod.program;
}

async function openStack(opts: RunOptions): Promise<Stack> {
    if (isLocalStack(opts.stack)) fs.mkdirSync(path.join(PROJECT_ROOT, LOCAL_STATE_DIR), { recursive: true });
    if (opts.seedConfig ?? true) seedLocalStackConfig(opts.stack);
    const program = opts.program ?? (await defaultProgram());
    const stack = await LocalWorkspace.createOrSelectStack(
        // Each error the program throws is printed once (scripts/stackErrors.ts).
        { stackName: opts.stack, projectName: PROJECT_NAME, program: reportProgramErrorsOnce(program) },
        { workDir: PROJECT_ROOT, envVars: { ...stackEnv(opts.stack), ...(opts.envVars ?? {}) } },
    );
    if (opts.config && Object.keys(opts.config).length > 0) await stack.setAllConfigJson(configJson(opts.config));
    return stack;
}

/**
 * Runs one operation on one stack. On failure throws a {@link StackError}: the engine's output
 * (each error once) went to `onOutput`, and its message is one line naming what failed, e.g.
 * `2 configuration errors (above): couchbase-images:copyRegions[0], couchbase-images:owner`.
 */
export async function runStack(op: Operation, opts: RunOptions): Promise<RunResult> {
    const onOutput = opts.onOutput ?? ((s: string) => process.stdout.write(s));
    const diagnostics = new ErrorDiagnostics();
    const common = { onOutput, onError: onOutput, onEvent: diagnostics.onEvent, signal: opts.signal, color: "never" as const };
    const stack = await openStack(opts);
    try {
        return await runOperation(op, opts, stack, common);
    } catch (e) {
        throw new StackError(diagnostics.messages, e);
    } finally {
        dropAbandonedRuns();
    }
}

async function runOperation(
    op: Operation,
    opts: RunOptions,
    stack: Stack,
    common: {
        onOutput: (s: string) => void;
        onError: (s: string) => void;
        onEvent: (e: EngineEvent) => void;
        signal?: AbortSignal;
        color: "never";
    },
): Promise<RunResult> {
    switch (op) {
        case "preview": {
            const r = await stack.preview({ ...common, diff: opts.diff, expectNoChanges: opts.expectNoChanges });
            return { op, changes: r.changeSummary, outputs: {} };
        }
        case "up": {
            const r = await stack.up({ ...common, diff: opts.diff, expectNoChanges: opts.expectNoChanges });
            const outputs: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(r.outputs)) outputs[k] = v.value;
            return { op, changes: r.summary.resourceChanges ?? {}, outputs };
        }
        case "refresh": {
            const r = await stack.refresh({ ...common, clearPendingCreates: opts.clearPendingCreates });
            return { op, changes: r.summary.resourceChanges ?? {}, outputs: {} };
        }
        case "destroy": {
            const r = await stack.destroy({ ...common });
            if (opts.remove) await stack.workspace.removeStack(opts.stack);
            return { op, changes: r.summary.resourceChanges ?? {}, outputs: {} };
        }
        case "cancel": {
            await stack.cancel();
            return { op, changes: {}, outputs: {} };
        }
    }
}

/** Parses the CLI's argv (after the script name). Pure; throws a usage error. */
export function parseArgs(argv: readonly string[]): { op: Operation } & Omit<RunOptions, "program"> {
    const usage =
        "usage: npm run stack -- <preview|up|refresh|destroy|cancel> --stack NAME [--diff] [--clear-pending-creates] [--remove] [--expect-no-changes]";
    const [op, ...rest] = argv;
    if (!OPERATIONS.includes(op as Operation)) throw new Error(`unknown operation ${JSON.stringify(op ?? "")}\n${usage}`);
    let stack = process.env.PULUMI_STACK ?? "";
    const flags = { diff: false, clearPendingCreates: false, remove: false, expectNoChanges: false };
    for (let i = 0; i < rest.length; i++) {
        const a = rest[i];
        if (a === "--stack" || a === "-s") stack = rest[++i] ?? "";
        else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
        else if (a === "--diff") flags.diff = true;
        else if (a === "--clear-pending-creates") flags.clearPendingCreates = true;
        else if (a === "--remove") flags.remove = true;
        else if (a === "--expect-no-changes") flags.expectNoChanges = true;
        else if (a === "--yes" || a === "-y")
            continue; // always non-interactive
        else throw new Error(`unknown flag ${a}\n${usage}`);
    }
    if (!stack) throw new Error(`--stack NAME is required\n${usage}`);
    return { op: op as Operation, stack, ...flags };
}

export interface CommandResult {
    /** 0 done, 1 the operation failed, 130 it failed after a signal (interrupted). */
    code: number;
    result?: RunResult;
}

/**
 * One operation as `npm run stack` runs it: the engine's output streamed, Ctrl-C turned into one
 * cancellation request, a summary line on stderr (`stack: up of S succeeded in 3.1s {...}` or
 * `... failed: 2 configuration errors (above): <keys>`, one line: see scripts/stackErrors.ts) and,
 * after an `up`, the outputs as JSON on stdout.
 * `npm run local` and `local:destroy` run their operations through here, in process.
 */
export async function runCommand(op: Operation, opts: Omit<RunOptions, "signal">): Promise<CommandResult> {
    // Ctrl-C: one cancellation request to the engine, which lets in-flight steps (a Packer build)
    // finish or clean up. A terminal already delivers SIGINT to the whole foreground process group,
    // the CLI included, so forward only when the signal came to us alone (kill -INT, CI runners).
    const abort = new AbortController();
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
        signals++;
        if (signals === 1) {
            process.stderr.write(`\nstack: ${sig} received; asking the engine to cancel (in-flight builds finish or clean up first)\n`);
            if (!process.stdin.isTTY || sig === "SIGTERM") abort.abort();
        } else {
            process.stderr.write(`stack: ${sig} again; still waiting for the engine to stop cleanly\n`);
        }
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    const t0 = Date.now();
    try {
        const result = await runStack(op, { ...opts, signal: abort.signal });
        const secs = ((Date.now() - t0) / 1000).toFixed(1);
        process.stderr.write(`stack: ${op} of ${opts.stack} succeeded in ${secs}s ${JSON.stringify(result.changes)}\n`);
        if (op === "up") process.stdout.write(`${JSON.stringify(result.outputs, null, 2)}\n`);
        return { code: 0, result };
    } catch (e) {
        const err = e as Error;
        process.stderr.write(`stack: ${op} of ${opts.stack} failed: ${err.message}\n`);
        return { code: signals > 0 ? 130 : 1 };
    } finally {
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
    }
}

async function main(): Promise<number> {
    let args: ReturnType<typeof parseArgs>;
    try {
        args = parseArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        return 2;
    }
    return (await runCommand(args.op, args)).code;
}

if (require.main === module) {
    void main().then((code) => process.exit(code));
}
