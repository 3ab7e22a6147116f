/**
 * Notices when the Pulumi engine that started this provider host is gone, so a build nobody will
 * record is interrupted (Packer then cleans up) and the host exits instead of living on.
 *
 * How the engine starts a dynamic-provider host (CLI v3.274.1, sdk/go/common/resource/plugin):
 * `pulumi-resource-pulumi-nodejs` is a `#!/bin/sh` wrapper that runs
 * `node …/@pulumi/pulumi/cmd/dynamic-provider/index.js <flags…> <engine address>`; the engine
 * passes its own gRPC address (`127.0.0.1:<port>`, `host.ServerAddr()`) as the last argument,
 * after optional `--logtostderr`, `-v=N`, `--tracing <endpoint>`; it starts plugins in their own
 * process group (`Setpgid`), so a SIGKILL of the CLI alone reaches neither the wrapper nor the host.
 * The host's parent is the shell wrapper, which stays alive while the host runs: the parent pid
 * never changes. So the engine is watched directly:
 *
 * - **the ancestor `pulumi` process**: the nearest ancestor whose `comm` is `pulumi` (the CLI is the
 *   engine, under `pulumi up` and under the Automation API alike), remembered with its start time
 *   from `/proc/<pid>/stat`; it is gone when that pid no longer exists, is a zombie, or belongs to a
 *   process with another start time (pid reuse);
 * - **the engine's gRPC address**, when no such ancestor is found (no `/proc`, a renamed binary):
 *   gone after two refused TCP connections 100 ms apart (a listening engine never refuses; a
 *   timeout counts as alive).
 *
 * One watchdog per process (kept on `globalThis`, shared by every provider module the host loaded,
 * so the image provider and any other provider built on providers/packer/run.ts see the same one).
 * Once the engine is gone it tells every listener (runPacker interrupts Packer), waits for the
 * tracked operations (a build and the cleanup after it) to finish, then exits the process.
 *
 * Serialized with the provider (it is reached from provider methods): modules are loaded inside
 * functions with a plain `require`, and the only process-wide state lives on `globalThis`.
 */

/** Where to look for the engine, and what to do once it is gone. */
export interface EngineWatchConfig {
    /** `host:port` of the engine's gRPC server (the provider host's last argument). */
    address?: string;
    /** The engine process (the nearest `pulumi` ancestor) and its start time (`/proc/<pid>/stat` field 22). */
    ancestor?: { pid: number; startTime: string };
    /** How often to look, in ms (1000 in the provider host). */
    pollMs: number;
    /** Exit the process once the engine is gone and no tracked operation runs (true in the provider host). */
    exit: boolean;
    /** Where the watchdog reports (stderr by default: the engine that read our output is gone). */
    log?: (msg: string) => void;
}

/** A running watch of one engine. */
export interface EngineWatchdog {
    readonly config: EngineWatchConfig;
    /** Why the engine is considered gone (undefined while it is there). */
    gone?: string;
    /** When the engine was first seen gone (ms since epoch). */
    goneAt?: number;
    /** Called once with the reason when the engine is gone (at once when it already is); returns an unsubscribe. */
    onGone(cb: (reason: string) => void): () => void;
    /** Runs `fn` as an operation the process must finish before it exits. */
    track<T>(fn: () => Promise<T>): Promise<T>;
    /** Looks once now (the poll does the same); resolves with the reason when gone. */
    check(): Promise<string | undefined>;
    /** Stops watching (tests). */
    stop(): void;
}

/** One line of `/proc/<pid>/stat`, the fields this module needs. Pure. */
export interface ProcStat {
    pid: number;
    comm: string;
    state: string;
    ppid: number;
    /** Field 22, clock ticks since boot: with the pid, identifies one process. */
    startTime: string;
}

/** Parses `/proc/<pid>/stat` (`comm` may hold spaces and parentheses). Pure; undefined when unreadable. */
export function parseProcStat(text: string): ProcStat | undefined {
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    if (open < 0 || close < open) return undefined;
    const pid = Number(text.slice(0, open).trim());
    const rest = text
        .slice(close + 2)
        .trim()
        .split(/\s+/);
    // rest[0] is field 3 (state); field n is rest[n - 3].
    if (!Number.isInteger(pid) || rest.length < 20) return undefined;
    return { pid, comm: text.slice(open + 1, close), state: rest[0], ppid: Number(rest[1]), startTime: rest[19] };
}

/**
 * The engine address a dynamic-provider host was started with: its last argument when it looks
 * like `host:port` and the main module is the SDK's dynamic-provider host. Pure.
 */
export function engineAddressFromArgv(mainFile: string | undefined, argv: readonly string[]): string | undefined {
    if (!mainFile || !/[\\/]cmd[\\/]dynamic-provider([\\/]index\.js)?$/.test(mainFile)) return undefined;
    const last = argv.length > 2 ? argv[argv.length - 1] : undefined;
    return last && /^[\w.-]+:\d{1,5}$/.test(last) ? last : undefined;
}

/**
 * The nearest ancestor of `pid` (itself excluded) named `name`, walking parent pids through
 * `stat(pid)`. Pure given `stat`; at most `maxDepth` steps.
 */
export function findAncestor(
    pid: number,
    stat: (pid: number) => ProcStat | undefined,
    name = "pulumi",
    maxDepth = 16,
): ProcStat | undefined {
    let cur = stat(pid);
    for (let i = 0; cur && cur.ppid > 1 && i < maxDepth; i++) {
        const parent = stat(cur.ppid);
        if (!parent) return undefined;
        if (parent.comm === name) return parent;
        cur = parent;
    }
    return undefined;
}

/** Why `ancestor` is gone, given what `/proc/<pid>/stat` says now (undefined: still there). Pure. */
export function ancestorGone(ancestor: { pid: number; startTime: string }, now: ProcStat | undefined): string | undefined {
    if (!now) return `engine process ${ancestor.pid} exited`;
    if (now.startTime !== ancestor.startTime) return `engine process ${ancestor.pid} exited (pid reused)`;
    if (now.state === "Z" || now.state === "X") return `engine process ${ancestor.pid} exited (zombie)`;
    return undefined;
}

function readStat(pid: number): ProcStat | undefined {
    const fs = require("node:fs") as typeof import("node:fs");
    try {
        return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return undefined;
    }
}

/**
 * Every descendant of `pid` (children first), from `/proc`; empty where there is no `/proc`. A
 * SIGKILLed Packer leaves its plugin processes running, and they hold its output pipes open.
 */
export function descendants(pid: number): number[] {
    const fs = require("node:fs") as typeof import("node:fs");
    let names: string[];
    try {
        names = fs.readdirSync("/proc").filter((d) => /^\d+$/.test(d));
    } catch {
        return [];
    }
    const byParent = new Map<number, number[]>();
    for (const d of names) {
        const st = readStat(Number(d));
        if (st) byParent.set(st.ppid, [...(byParent.get(st.ppid) ?? []), st.pid]);
    }
    const out: number[] = [];
    const todo = [...(byParent.get(pid) ?? [])];
    while (todo.length) {
        const p = todo.shift()!;
        out.push(p);
        todo.push(...(byParent.get(p) ?? []));
    }
    return out;
}

/** "open", "refused" or "unknown" (timeout, other errors) for one TCP connection attempt. */
function probe(address: string, timeoutMs: number): Promise<"open" | "refused" | "unknown"> {
    const net = require("node:net") as typeof import("node:net");
    const at = address.lastIndexOf(":");
    return new Promise((resolve) => {
        // Declared before use: the closure serializer refuses forward references.
        let t: NodeJS.Timeout | undefined = undefined;
        const s = net.connect({ host: address.slice(0, at), port: Number(address.slice(at + 1)) });
        const done = (r: "open" | "refused" | "unknown") => {
            if (t) clearTimeout(t);
            s.destroy();
            resolve(r);
        };
        t = setTimeout(() => done("unknown"), timeoutMs);
        s.once("connect", () => done("open"));
        s.once("error", (e: NodeJS.ErrnoException) => done(e.code === "ECONNREFUSED" ? "refused" : "unknown"));
    });
}

/** The watchdog's slot on `globalThis` (a string: the closure serializer cannot carry a Symbol). */
const KEY = "__couchbaseImagesEngineWatchdog";

/** The watch config for this process when it is a dynamic-provider host, else undefined. */
export function providerHostConfig(): EngineWatchConfig | undefined {
    const address = engineAddressFromArgv(require.main?.filename ?? process.argv[1], process.argv);
    if (!address) return undefined;
    const a = process.platform === "linux" ? findAncestor(process.pid, readStat) : undefined;
    return { address, ...(a ? { ancestor: { pid: a.pid, startTime: a.startTime } } : {}), pollMs: 1000, exit: true };
}

/** The watchdog of one engine (see {@link watchEngine}). */
class Watchdog implements EngineWatchdog {
    gone?: string;
    goneAt?: number;
    private readonly listeners = new Set<(reason: string) => void>();
    private active = 0;
    private stopped = false;
    private checking: Promise<string | undefined> | undefined;
    private readonly timer: NodeJS.Timeout;
    private readonly log: (msg: string) => void;

    constructor(readonly config: EngineWatchConfig) {
        this.log =
            config.log ??
            ((m: string) => {
                try {
                    process.stderr.write(`packer-image: ${m}\n`);
                } catch {
                    // nobody reads it any more
                }
            });
        this.timer = setInterval(() => void this.check(), config.pollMs);
        this.timer.unref();
    }

    onGone(cb: (reason: string) => void): () => void {
        const r = this.gone;
        if (r !== undefined) {
            setImmediate(() => cb(r));
            return () => undefined;
        }
        this.listeners.add(cb);
        return () => void this.listeners.delete(cb);
    }

    async track<T>(fn: () => Promise<T>): Promise<T> {
        this.active++;
        try {
            return await fn();
        } finally {
            this.active--;
            this.maybeExit();
        }
    }

    async check(): Promise<string | undefined> {
        this.checking ??= this.look().finally(() => (this.checking = undefined));
        const reason = await this.checking;
        if (reason && !this.gone && !this.stopped) {
            this.gone = reason;
            this.goneAt = Date.now();
            // Our stdout and stderr were pipes to the engine: writes now fail with EPIPE, which
            // must not become uncaught exceptions while the cleanup runs.
            for (const s of [process.stdout, process.stderr]) s.on("error", () => undefined);
            this.log(`${reason}: interrupting what runs for it`);
            for (const cb of [...this.listeners]) cb(reason);
            this.maybeExit();
        }
        return this.gone;
    }

    stop(): void {
        this.stopped = true;
        clearInterval(this.timer);
        this.listeners.clear();
        const g = globalThis as unknown as Record<string, EngineWatchdog | undefined>;
        if (g[KEY] === this) g[KEY] = undefined;
    }

    private async look(): Promise<string | undefined> {
        const c = this.config;
        if (this.gone) return this.gone;
        if (c.ancestor) return ancestorGone(c.ancestor, readStat(c.ancestor.pid));
        if (c.address) {
            // Two refusals 100 ms apart: a listening engine never refuses.
            const timeout = Math.max(500, c.pollMs);
            if ((await probe(c.address, timeout)) !== "refused") return undefined;
            await new Promise((r) => setTimeout(r, 100));
            if ((await probe(c.address, timeout)) === "refused") return `engine at ${c.address} refuses connections`;
        }
        return undefined;
    }

    private maybeExit(): void {
        if (!this.gone || !this.config.exit || this.active > 0 || this.stopped) return;
        this.log(`the engine is gone (${this.gone}) and nothing of ours runs any more: exiting`);
        this.stopped = true;
        clearInterval(this.timer);
        // Let pending writes (log files, stderr) finish.
        setTimeout(() => process.exit(1), 100);
    }
}

/**
 * The process's engine watchdog: started on first call. Without `config`, only inside a
 * dynamic-provider host (undefined anywhere else: unit tests, the program's own process). With
 * `config`, a test's own watch (replacing any earlier one of this process).
 */
export function watchEngine(config?: EngineWatchConfig): EngineWatchdog | undefined {
    const g = globalThis as unknown as Record<string, EngineWatchdog | undefined>;
    if (!config) {
        const existing = g[KEY];
        if (existing) return existing;
        const auto = providerHostConfig();
        if (!auto) return undefined;
        config = auto;
    } else g[KEY]?.stop();
    const w = new Watchdog(config);
    g[KEY] = w;
    return w;
}
