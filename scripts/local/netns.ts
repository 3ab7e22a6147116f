/**
 * Reaching into a network namespace hostd made, without ever giving it a link to the host: a
 * helper entered into the namespace (`nsenter --net=... --pid=...`, node with an IPC channel) opens a
 * socket there and hands it to hostd. Used for both kinds of instance hostd runs, each in a network
 * namespace of its own that has a loopback and nothing else:
 *
 * - {@link NetnsForwarder}: the SSH port. hostd listens on the host's 127.0.0.1:<port> (what Packer
 *   and the boot test connect to); per connection a helper connects to 127.0.0.1:<inner port> inside
 *   the namespace (retrying while nothing listens there yet) and hands the connected socket over;
 *   hostd pipes it to the client. A build sandbox's sshd and a booted image's own sshd are reached
 *   this way.
 * - {@link nsListen}: a listening socket bound inside the namespace (the booted instance's metadata
 *   service on 169.254.169.254:80), served by hostd.
 *
 * Helpers run in the namespace's PID namespace too: they die with it. Their command line ends with
 * the instance's folder, so processes.ts `findLeftovers` counts one that outlives it.
 */
import { ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { sleep } from "./processes";

/** Where helpers enter: the network namespace of `netPid`, the PID namespace of `pidNsPid`. */
export interface NsTarget {
    netPid: number;
    pidNsPid: number;
}

/** A node one-liner run inside the namespaces: connect to 127.0.0.1:<argv[2]>, retrying until argv[1] ms have passed, then hand the socket over. */
const CONNECT_JS = [
    'const net = require("net");',
    "const until = Date.now() + Number(process.argv[1]);",
    "(function go() {",
    '  const s = net.connect({ host: "127.0.0.1", port: Number(process.argv[2]) });',
    '  s.once("connect", () => process.send("connected", s, () => process.disconnect()));',
    '  s.once("error", () => { s.destroy(); if (Date.now() > until) process.exit(3); setTimeout(go, 100); });',
    "})();",
].join("\n");

/** A node one-liner run inside the network namespace: bind argv[1]:argv[2], hand the listening socket over. */
const LISTEN_JS = [
    'const net = require("net");',
    "const s = net.createServer();",
    's.once("error", (e) => { process.stderr.write(e.message + "\\n"); process.exit(1); });',
    's.listen(Number(process.argv[2]), process.argv[1], () => process.send("listening", s, () => { s.close(); process.disconnect(); }));',
].join("\n");

/** The helpers of one instance: started into its namespaces, killed with it. */
export class NsHelpers {
    private readonly running = new Set<ChildProcess>();

    /** `dir`: the instance's folder (last argument of every helper); `label`: how the log names the instance. */
    constructor(
        private readonly dir: string,
        private readonly label: string,
        private readonly log: (msg: string) => void,
    ) {}

    /** Runs `js` with node inside `t`'s network and PID namespaces, with an IPC channel. */
    start(t: NsTarget, js: string, args: string[]): ChildProcess {
        const h = spawn(
            "nsenter",
            [`--net=/proc/${t.netPid}/ns/net`, `--pid=/proc/${t.pidNsPid}/ns/pid`, "--", process.execPath, "-e", js, ...args, this.dir],
            {
                stdio: ["ignore", "ignore", "pipe", "ipc"],
            },
        );
        this.running.add(h);
        let err = "";
        h.stderr?.on("data", (b: Buffer) => (err += b.toString()));
        h.once("exit", (code) => {
            this.running.delete(h);
            if (code && err.trim()) this.log(`${this.label}: helper exited ${code}: ${err.trim()}`);
        });
        h.once("error", (e) => this.log(`${this.label}: cannot start nsenter: ${e.message}`));
        return h;
    }

    /** SIGKILLs every helper still running (synchronous, for process exit). */
    killNow(): void {
        for (const h of this.running) {
            try {
                h.kill("SIGKILL");
            } catch {
                /* gone */
            }
        }
    }
}

/** Binds `host:port` inside `t`'s network namespace; resolves with the listening socket's handle, served from this process. */
export function nsListen(helpers: NsHelpers, t: NsTarget, host: string, port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
        const h = helpers.start(t, LISTEN_JS, [host, String(port)]);
        const timer = setTimeout(() => reject(new Error(`the socket on ${host}:${port} was not handed over within 10 s`)), 10_000);
        // A message can still be on its way when 'exit' fires: give up only a moment later.
        h.once("exit", (code) =>
            setTimeout(() => {
                clearTimeout(timer);
                reject(new Error(`the helper binding ${host}:${port} exited (${code}) without handing over its socket`));
            }, 500),
        );
        h.once("message", (_m, handle) => {
            clearTimeout(timer);
            resolve(handle as net.Server);
        });
    });
}

export interface ForwarderOptions {
    /** The host's 127.0.0.1 port clients connect to. */
    port: number;
    /** The port on the namespace's own 127.0.0.1 each connection is forwarded to. */
    innerPort: number;
    /** How long a connection waits for something to listen on `innerPort` (and for the target). */
    waitMs: number;
    helpers: NsHelpers;
    /** Called once, with the time from `startedAt`, when the first connection is through. */
    onFirstAnswer?: (ms: number) => void;
    startedAt?: number;
}

/**
 * Listens on the host's 127.0.0.1:`port` and forwards each connection into a network namespace
 * (see the file comment). Connections that arrive before the namespace exists wait for `target`
 * (resolved once it does; rejected: they are closed).
 */
export class NetnsForwarder {
    private readonly sockets = new Set<net.Socket>();
    private closed = false;
    private first = false;
    private server: net.Server | undefined;

    private constructor(
        private readonly o: ForwarderOptions,
        private readonly target: Promise<NsTarget>,
    ) {
        target.catch(() => undefined);
    }

    /** Starts listening (retrying for up to 5 s while the port is still held by what ran there before). */
    static async listen(o: ForwarderOptions, target: Promise<NsTarget>): Promise<NetnsForwarder> {
        const fwd = new NetnsForwarder(o, target);
        fwd.server = await listenWithRetry(o.port, (c) => fwd.forward(c));
        return fwd;
    }

    /** Stops listening and closes every forwarded connection; resolves once the port is free. */
    close(): Promise<void> {
        this.closed = true;
        const server = this.server;
        const done = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
        for (const s of this.sockets) s.destroy();
        return done;
    }

    /** One client: wait for the namespace, connect from inside, pipe. */
    private forward(client: net.Socket): void {
        const arrived = Date.now();
        this.sockets.add(client);
        client.once("close", () => this.sockets.delete(client));
        client.on("error", () => client.destroy());
        const giveUp = setTimeout(() => client.destroy(), this.o.waitMs + 5000);
        this.target.then(
            (t) => {
                if (client.destroyed || this.closed) return;
                const left = Math.max(1000, this.o.waitMs - (Date.now() - arrived));
                const h = this.o.helpers.start(t, CONNECT_JS, [String(left), String(this.o.innerPort)]);
                let piped = false;
                client.once("close", () => {
                    if (h.exitCode === null) h.kill("SIGKILL");
                });
                // A message can still be on its way when 'exit' fires: look a moment later.
                h.once("exit", () => setTimeout(() => piped || client.destroy(), 500));
                h.once("message", (_m, handle) => {
                    clearTimeout(giveUp);
                    const up = handle as net.Socket;
                    if (client.destroyed || this.closed) {
                        up.destroy();
                        return;
                    }
                    piped = true;
                    this.sockets.add(up);
                    up.once("close", () => {
                        this.sockets.delete(up);
                        client.destroy();
                    });
                    up.on("error", () => up.destroy());
                    client.once("close", () => up.destroy());
                    client.pipe(up);
                    up.pipe(client);
                    if (!this.first) {
                        this.first = true;
                        this.o.onFirstAnswer?.(Date.now() - (this.o.startedAt ?? arrived));
                    }
                });
            },
            () => client.destroy(),
        );
    }
}

/** Listens on 127.0.0.1:port, retrying for up to 5 s while the port is still held (a sandbox's forwarder closing). */
async function listenWithRetry(port: number, onConnection: (s: net.Socket) => void): Promise<net.Server> {
    const until = Date.now() + 5000;
    for (;;) {
        const srv = net.createServer(onConnection);
        try {
            await new Promise<void>((resolve, reject) => {
                srv.once("error", reject);
                srv.listen(port, "127.0.0.1", () => resolve());
            });
            return srv;
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EADDRINUSE" || Date.now() > until) throw e;
            await sleep(50);
        }
    }
}

/** The network namespace of `pid` (`net:[inode]`), or undefined when it is gone. */
export function netnsOf(pid: number): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
        return undefined;
    }
}
