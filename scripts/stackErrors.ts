/**
 * How the stack driver (scripts/stack.ts) reports a failed operation: each error once, and one
 * summary line at the end.
 *
 * Why errors were printed twice. A program that throws (the config validation throws a
 * `pulumi.RunError` listing every problem) is reported by `@pulumi/pulumi`'s inline-program
 * language server (node_modules/@pulumi/pulumi/automation/server.js, the server the Automation API
 * runs for inline programs) twice: its unhandled-rejection handler logs the error to the engine
 * (`log.error`: diagnostic one), and its `run` then also returns the same message as the
 * program's error (`RunResponse.error`), which the engine prints as diagnostic two. The Node.js
 * language host that `pulumi up` uses reports such an error once, then answers with
 * `RunResponse.bail` ("already reported": the engine fails the update and prints nothing more,
 * pkg/resource/deploy/program_source.go); the inline server never sets `bail`.
 * {@link reportProgramErrorsOnce} makes the inline server answer as the language host does, for
 * errors the program threw and that were logged. A third copy appeared in a process that ran
 * several operations (the tests, `npm run local`): when the engine refuses a resource (a failed
 * `check`), the program's run never ends, and the handler it installed on `process` stays and
 * logs every later run's error as well; {@link dropAbandonedRuns} removes it when the operation
 * is over. Why the driver's last line repeated the whole
 * engine output: it printed the Automation API's `CommandError`, whose message is the CLI's entire
 * stdout and stderr (and that again inside its `err`); {@link StackError} carries one line instead.
 */
import type { EngineEvent, PulumiFn } from "@pulumi/pulumi/automation";
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_ERROR_HEAD } from "../pipeline/config";

// ---- the summary line (pure) --------------------------------------------------------------------

/** How the engine words an input the provider's `check` refused. */
const CHECK_FAILURE = /: property (\S+) value .* has a problem: /;
/** At most this many keys are named in the summary. */
const MAX_KEYS = 6;

function plural(n: number, one: string, many = `${one}s`): string {
    return `${n} ${n === 1 ? one : many}`;
}

/**
 * One line that says why an operation failed, from the engine's error diagnostics (already shown
 * above it, each once): how many configuration errors and refused inputs, naming their keys, or
 * other errors; an operation that failed without any error diagnostic (a CLI error such as a
 * locked stack) is described by the CLI's own `error:` lines. Pure.
 *
 * @param diagnostics the messages of the engine's `error` diagnostics, in order
 * @param err what the operation threw (a `CommandError` with the CLI's output, or anything)
 */
export function failureSummary(diagnostics: readonly string[], err: unknown): string {
    const messages = [...new Set(diagnostics.map((d) => d.trim()).filter((d) => d !== ""))];
    let config = 0;
    let inputs = 0;
    const keys: string[] = [];
    const others: string[] = [];
    for (const m of messages) {
        const check = CHECK_FAILURE.exec(m.split("\n")[0]);
        if (m.startsWith(CONFIG_ERROR_HEAD)) {
            for (const line of m.split("\n").slice(1)) {
                const item = /^\s*- (\S+?): /.exec(line);
                if (!item) continue;
                config++;
                keys.push(item[1]);
            }
        } else if (check) {
            inputs++;
            keys.push(check[1]);
        } else {
            others.push(m);
        }
    }
    if (config + inputs === 0 && others.length === 1 && !others[0].includes("\n") && others[0].length <= 200) return others[0];
    const parts: string[] = [];
    if (config > 0) parts.push(plural(config, "configuration error"));
    if (inputs > 0) parts.push(plural(inputs, "invalid input"));
    if (others.length > 0) parts.push(plural(others.length, parts.length > 0 ? "other error" : "error"));
    if (parts.length > 0) {
        const named = keys.length > MAX_KEYS ? [...keys.slice(0, MAX_KEYS), "…"] : keys;
        return `${parts.join(" and ")} (above)${named.length > 0 ? `: ${named.join(", ")}` : ""}`;
    }
    return cliErrorLine(err);
}

/** The CLI's `error:` lines of a failed command (joined), or its first line; for errors without diagnostics. */
function cliErrorLine(err: unknown): string {
    const result = (err as { commandResult?: { stderr?: string; stdout?: string } } | undefined)?.commandResult;
    const text = result ? `${result.stderr ?? ""}\n${result.stdout ?? ""}` : err instanceof Error ? err.message : String(err);
    const errors = [...new Set([...text.matchAll(/^error: (.+)$/gm)].map((m) => m[1].trim()))];
    if (errors.length > 0) return errors.join("; ");
    const failed = /Command failed with exit code (\d+): (pulumi \S+(?: \S+)?)/.exec(text);
    if (failed) return `\`${failed[2].replace(/ --.*$/, "")}\` exited with code ${failed[1]}`;
    return text.trim().split("\n")[0] || "unknown error";
}

// ---- the error runStack throws ----------------------------------------------------------------------

/**
 * A failed stack operation. `message` is the one-line summary (see {@link failureSummary}); the
 * engine's output was streamed already. `diagnostics` are the error messages, `original` the
 * Automation API's error (its `commandResult` has the CLI's whole output).
 */
export class StackError extends Error {
    constructor(
        readonly diagnostics: readonly string[],
        readonly original: unknown,
    ) {
        super(failureSummary(diagnostics, original));
        this.name = "StackError";
    }
}

/** Collects the messages of the engine's error diagnostics of one operation (pass `onEvent` to it). */
export class ErrorDiagnostics {
    readonly messages: string[] = [];
    readonly onEvent = (e: EngineEvent): void => {
        const d = e.diagnosticEvent;
        if (d && d.severity === "error") this.messages.push(d.message);
    };
}

// ---- each program error once --------------------------------------------------------------------

/** Errors the wrapped programs threw (the inline server hands the same object to its callback). */
const programErrors = new WeakSet<object>();
let serverPatched = false;

/** The process-wide error handlers an inline run installs (and removes when it answers). */
const RUN_HANDLER_EVENTS = ["uncaughtException", "unhandledRejection"] as const;
type Listener = (...args: unknown[]) => void;
/** Runs that have not answered yet, with the handlers each installed. */
const openRuns = new Set<{ event: (typeof RUN_HANDLER_EVENTS)[number]; listener: Listener }[]>();

/** `process` as the plain emitter it is (its typings take only signal names for these events). */
const emitter = process as unknown as { listeners(e: string): Listener[]; off(e: string, l: Listener): void };

function listenersNow(): Map<string, Set<Listener>> {
    return new Map(RUN_HANDLER_EVENTS.map((e) => [e, new Set(emitter.listeners(e))]));
}

/**
 * Removes the process-wide error handlers of inline runs that never answered: their engine has
 * exited (the operation is over) but the program still waits on it, as after a refused resource.
 * Left installed, such a handler logs the errors of every later run in this process again. Call
 * once an operation's CLI has exited; operations in one process must not overlap (the project's
 * callers run them one after another).
 */
export function dropAbandonedRuns(): void {
    for (const run of openRuns) for (const { event, listener } of run) emitter.off(event, listener);
    openRuns.clear();
}

interface RunResponseLike {
    setBail(v: boolean): void;
}
type RunCallback = (err: unknown, resp?: unknown) => void;
interface LanguageServerPrototype {
    run: (this: unknown, call: unknown, callback: RunCallback) => unknown;
}

/**
 * Makes the inline-program server answer a program error it has logged already with `bail` (as
 * the Node.js language host does) instead of returning the message a second time. Applies to
 * errors thrown by a program wrapped with {@link reportProgramErrorsOnce} only, and only when the
 * run logged an error (so the user has seen one): anything else keeps the SDK's own behaviour.
 * Idempotent; a no-op if the SDK's server no longer has this shape (then errors print twice
 * again, and test/e2e/bad-input.test.ts says so).
 */
function patchInlineServer(): void {
    if (serverPatched) return;
    serverPatched = true;
    let proto: LanguageServerPrototype | undefined;
    let RunResponse: ((new () => RunResponseLike) & { prototype: Partial<RunResponseLike> }) | undefined;
    try {
        // Internal modules of @pulumi/pulumi (no `exports` map, so reachable by path).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        proto = (require("@pulumi/pulumi/automation/server") as { LanguageServer?: { prototype?: LanguageServerPrototype } }).LanguageServer
            ?.prototype;
        type LanguagePb = { RunResponse?: (new () => RunResponseLike) & { prototype: Partial<RunResponseLike> } };
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        RunResponse = (require("@pulumi/pulumi/proto/language_pb") as LanguagePb).RunResponse;
    } catch {
        return;
    }
    if (
        !proto ||
        typeof proto.run !== "function" ||
        typeof RunResponse !== "function" ||
        typeof RunResponse.prototype.setBail !== "function"
    )
        return;
    const run = proto.run;
    const Response = RunResponse;
    proto.run = function (this: unknown, call: unknown, callback: RunCallback) {
        let bailed = false;
        const before = listenersNow();
        const installed: { event: (typeof RUN_HANDLER_EVENTS)[number]; listener: Listener }[] = [];
        openRuns.add(installed);
        const result = run.call(this, call, (err: unknown, resp?: unknown) => {
            openRuns.delete(installed);
            if (bailed) return; // the server answers an error twice (error, then response): one answer only
            if (err !== null && typeof err === "object" && programErrors.has(err) && pulumi.log.hasErrors()) {
                bailed = true;
                const r = new Response();
                r.setBail(true);
                return callback(null, r);
            }
            return callback(err, resp);
        });
        // The server installs its handlers before its first await, so they are there by now.
        for (const event of RUN_HANDLER_EVENTS)
            for (const listener of emitter.listeners(event)) if (!before.get(event)?.has(listener)) installed.push({ event, listener });
        return result;
    };
}

/**
 * Wraps an inline program so that an error it throws is printed once by the engine (see the
 * module comment). The program itself is unchanged: it runs, fails and registers the same.
 */
export function reportProgramErrorsOnce(program: PulumiFn): PulumiFn {
    patchInlineServer();
    return async () => {
        try {
            return await program();
        } catch (e) {
            if (e !== null && typeof e === "object") programErrors.add(e);
            throw e;
        }
    };
}
