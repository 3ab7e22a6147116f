/**
 * Runs one Packer process: argv array (no shell), not detached, output split into lines, signals
 * forwarded, own deadline, and interrupted when the engine that asked for it is gone (engine.ts):
 * inside a dynamic-provider host every run is watched, whichever provider calls it. The
 * `node:child_process` module is passed in by the caller (loaded inside a provider method), so
 * this module holds no native object.
 */
import type * as ChildProcess from "node:child_process";
import { descendants, watchEngine, type EngineWatchdog } from "./engine";

export interface RunOptions {
    /** `node:child_process`, as loaded by the caller. */
    cp: typeof ChildProcess;
    /** Executable name or path (default `packer`, found on PATH). */
    executable?: string;
    argv: string[];
    env: Record<string, string>;
    cwd?: string;
    /** Deadline in ms: then SIGINT (Packer cleans up), then SIGKILL after `graceMs`. */
    timeoutMs: number;
    graceMs: number;
    /** Called with every complete line of stdout or stderr, as it arrives. */
    onLine: (line: string, stream: "stdout" | "stderr") => void;
    /** Signals to forward to Packer while it runs (default SIGINT and SIGTERM). */
    forward?: NodeJS.Signals[];
    /**
     * The engine watch: when the engine is gone, Packer gets SIGINT (it cleans up), then SIGKILL
     * after `graceMs`, and the result says `engineGone`. Default: the process's watchdog inside a
     * dynamic-provider host (engine.ts `watchEngine()`), none elsewhere; `false`: no watch.
     */
    engine?: EngineWatchdog | false;
    /**
     * Grace after the engine is gone, before SIGKILL (default `graceMs`). Packer waits for a
     * running provisioner command before its cleanup, so a caller that must be done within
     * seconds sets it short and cleans up what Packer could not (the image provider does).
     */
    engineGraceMs?: number;
}

export interface RunResult {
    code: number | null;
    signal: NodeJS.Signals | null;
    /** The signal we received and forwarded, if any. */
    interrupted?: NodeJS.Signals;
    /** True when the deadline passed. */
    timedOut: boolean;
    /** True when Packer had to be SIGKILLed (it skipped its cleanup). */
    killed: boolean;
    /** Why the engine was found gone while Packer ran (Packer was interrupted), if it was. */
    engineGone?: string;
}

function lineSplitter(onLine: (l: string) => void): { push(chunk: Buffer | string): void; end(): void } {
    let rest = "";
    return {
        push(chunk) {
            rest += chunk.toString();
            const lines = rest.split(/\r?\n/);
            rest = lines.pop() ?? "";
            for (const l of lines) onLine(l);
        },
        end() {
            if (rest !== "") onLine(rest);
            rest = "";
        },
    };
}

/**
 * Runs Packer to completion (or deadline/interruption/engine gone) and reports how it ended; never
 * rejects on a non-zero exit. Inside a provider host the run counts as an operation the host
 * finishes before it exits (engine.ts `track`).
 */
export function runPacker(o: RunOptions): Promise<RunResult> {
    const engine = o.engine === false ? undefined : (o.engine ?? watchEngine());
    return engine ? engine.track(() => runOnce(o, engine)) : runOnce(o, undefined);
}

function runOnce(o: RunOptions, engine: EngineWatchdog | undefined): Promise<RunResult> {
    return new Promise<RunResult>((resolve, reject) => {
        const child = o.cp.spawn(o.executable ?? "packer", o.argv, {
            env: o.env,
            cwd: o.cwd,
            stdio: ["ignore", "pipe", "pipe"],
            detached: false,
            shell: false,
        });
        const result: RunResult = { code: null, signal: null, timedOut: false, killed: false };
        const out = lineSplitter((l) => o.onLine(l, "stdout"));
        const err = lineSplitter((l) => o.onLine(l, "stderr"));
        child.stdout?.on("data", (c: Buffer) => out.push(c));
        child.stderr?.on("data", (c: Buffer) => err.push(c));

        let killTimer: NodeJS.Timeout | undefined;
        const escalate = (ms = o.graceMs) => {
            killTimer ??= setTimeout(() => {
                result.killed = true;
                // Packer's plugins too: they outlive it and would hold its output pipes open.
                const pids = child.pid !== undefined ? descendants(child.pid) : [];
                child.kill("SIGKILL");
                for (const p of pids) {
                    try {
                        process.kill(p, "SIGKILL");
                    } catch {
                        // already gone
                    }
                }
            }, ms);
        };
        const handlers: [NodeJS.Signals, () => void][] = (o.forward ?? ["SIGINT", "SIGTERM"]).map((sig) => [
            sig,
            () => {
                result.interrupted ??= sig;
                child.kill(sig);
                escalate();
            },
        ]);
        for (const [sig, h] of handlers) process.once(sig, h);
        const deadline = setTimeout(() => {
            result.timedOut = true;
            child.kill("SIGINT");
            escalate();
        }, o.timeoutMs);
        // Nobody will record what this build makes: let Packer clean up now.
        const unwatch = engine?.onGone((reason) => {
            if (result.code !== null || result.signal !== null) return;
            result.engineGone ??= reason;
            child.kill("SIGINT");
            escalate(o.engineGraceMs ?? o.graceMs);
        });

        const done = () => {
            unwatch?.();
            clearTimeout(deadline);
            if (killTimer) clearTimeout(killTimer);
            for (const [sig, h] of handlers) process.removeListener(sig, h);
        };
        child.once("error", (e: NodeJS.ErrnoException) => {
            done();
            reject(
                e.code === "ENOENT"
                    ? new Error(
                          `cannot run ${o.executable ?? "packer"}: not found on PATH (run npm run bootstrap, or source scripts/env.sh)`,
                      )
                    : e,
            );
        });
        let finished = false;
        const finish = (code: number | null, signal: NodeJS.Signals | null) => {
            if (finished) return;
            finished = true;
            done();
            out.end();
            err.end();
            result.code = code;
            result.signal = signal;
            resolve(result);
        };
        child.once("close", (code, signal) => finish(code, signal));
        // A process that inherited Packer's output (a plugin it started) can keep "close" from
        // coming after Packer exited: give the pipes 2 s, then stop reading.
        child.once("exit", (code, signal) => {
            setTimeout(() => {
                if (finished) return;
                child.stdout?.destroy();
                child.stderr?.destroy();
                finish(code, signal);
            }, 2000);
        });
    });
}

/** Runs a short Packer command (version, validate) and collects its output. */
export function capturePacker(
    cp: typeof ChildProcess,
    argv: string[],
    env: Record<string, string>,
    timeoutMs = 120_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
        cp.execFile("packer", argv, { env, timeout: timeoutMs, maxBuffer: 8 * 1024 * 1024, shell: false }, (e, stdout, stderr) => {
            const err = e as (NodeJS.ErrnoException & { code?: unknown }) | null;
            if (err && err.code === "ENOENT") {
                reject(new Error("cannot run packer: not found on PATH (run npm run bootstrap, or source scripts/env.sh)"));
                return;
            }
            resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout: String(stdout), stderr: String(stderr) });
        });
    });
}
