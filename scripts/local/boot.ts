/**
 * A booted instance of hostd (scripts/local/hostd.ts): what EC2 runs for an instance launched from
 * an image that one of hostd's builds made. The image's root (the build's upper dir over the
 * cached base root, both read-only) under a fresh copy-on-write upper dir, booted by
 * `systemd-nspawn --boot --private-network` (scripts/local/boot-init.sh) with the image's own
 * systemd as PID 1, inside private mount and PID namespaces (nothing is mounted on the host).
 *
 * - Before boot, as EC2 + cloud-init would: the launch key pair's public key in root's
 *   authorized_keys of the fresh upper dir. Nothing else: no SSH host keys (the image makes them).
 * - Instance metadata (IMDSv2, boot-plan.ts `imdsAnswer`) on 169.254.169.254:80 inside the
 *   container's own network namespace only: a helper entered into that namespace
 *   (`nsenter --net=/proc/<leader>/ns/net`) binds the socket there and hands it to hostd over the
 *   IPC channel, so hostd serves it and the helper exits. The namespace has a loopback and nothing
 *   else: no route, no link to the host.
 * - SSH: a server on 127.0.0.1:<sshPort>; per connection a helper in the container's namespace
 *   connects to its 127.0.0.1:22 (retrying while the image's sshd is not listening yet, up to 60 s)
 *   and hands the connected socket to hostd, which pipes it to the client.
 * - Stop: the forwarder and the metadata server close, nspawn is asked to power the container off
 *   (SIGTERM), then the namespace's PID 1 is killed; every process of the instance (helpers too:
 *   they run in its PID namespace) dies with it, the mounts with the mount namespace, the network
 *   namespace with its last process and socket; the instance's cgroup is removed.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as path from "node:path";
import { cgroupName, cgroupPrefix, IMDS_ADDRESS, imdsAnswer, InstanceIdentity, lowerdirOption, TokenStore } from "./boot-plan";
import { childrenOf, isAlive, killAll, sleep } from "./processes";

const BOOT_INIT = path.join(__dirname, "boot-init.sh");

/** How long a connection to the SSH port waits for the booted image's sshd. */
export const SSH_WAIT_MS = 60_000;

/** Cgroup hierarchies nspawn may make cgroups in: the root of each that has cgroup.procs. */
const CGROUP_ROOTS = ["/sys/fs/cgroup", "/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"];

/** Writes root's authorized_keys under `rootDir`, creating root/ and root/.ssh mode 700 where missing. */
export function writeAuthorizedKey(rootDir: string, publicKey: string): void {
    const sshDir = path.join(rootDir, "root", ".ssh");
    fs.mkdirSync(path.join(rootDir, "root"), { recursive: true, mode: 0o700 });
    fs.mkdirSync(sshDir, { recursive: true, mode: 0o700 });
    const file = path.join(sshDir, "authorized_keys");
    fs.writeFileSync(file, `${publicKey.trim()}\n`, { mode: 0o600 });
}

function cgroupRoots(): string[] {
    return CGROUP_ROOTS.filter((r) => fs.existsSync(path.join(r, "cgroup.procs")));
}

/** The cgroups of booted instances under `sandboxDir` that still exist (absolute paths). */
export function bootCgroups(sandboxDir: string): string[] {
    const prefix = cgroupPrefix(sandboxDir);
    const out: string[] = [];
    for (const r of cgroupRoots()) {
        for (const e of fs.readdirSync(r)) if (e.startsWith(prefix)) out.push(path.join(r, e));
    }
    return out.sort();
}

function rmdirTree(dir: string): void {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmdirTree(path.join(dir, e.name));
    fs.rmdirSync(dir);
}

/**
 * Removes the cgroups of booted instances under `sandboxDir` (or only `slot`'s), retrying while
 * their last processes are still being reaped. Returns those that could not be removed.
 */
export async function removeBootCgroups(sandboxDir: string, slot?: string, waitMs = 3000): Promise<string[]> {
    const only = slot === undefined ? undefined : cgroupName(sandboxDir, slot);
    const until = Date.now() + waitMs;
    for (;;) {
        const left = bootCgroups(sandboxDir).filter((c) => only === undefined || path.basename(c) === only);
        const failed: string[] = [];
        for (const c of left) {
            try {
                rmdirTree(c);
            } catch {
                failed.push(c);
            }
        }
        if (failed.length === 0 || Date.now() > until) return failed;
        await sleep(50);
    }
}

/** A node one-liner run inside the container's namespaces: connect, then hand the socket over. */
const CONNECT_JS = [
    'const net = require("net");',
    "const until = Date.now() + Number(process.argv[1]);",
    "(function go() {",
    '  const s = net.connect({ host: "127.0.0.1", port: 22 });',
    '  s.once("connect", () => process.send("connected", s, () => process.disconnect()));',
    '  s.once("error", () => { s.destroy(); if (Date.now() > until) process.exit(3); setTimeout(go, 100); });',
    "})();",
].join("\n");

/** A node one-liner run inside the container's network namespace: bind the metadata address, hand the listening socket over. */
const LISTEN_JS = [
    'const net = require("net");',
    "const s = net.createServer();",
    's.once("error", (e) => { process.stderr.write(e.message + "\\n"); process.exit(1); });',
    `s.listen(80, "${IMDS_ADDRESS}", () => process.send("listening", s, () => { s.close(); process.disconnect(); }));`,
].join("\n");

export interface BootOptions {
    /** hostd's sandbox folder (`<state-dir>/sandbox`); the slot's folder and cgroup name derive from it. */
    sandboxDir: string;
    /** This instance's folder name under `sandboxDir` (`bt-...`). */
    slot: string;
    /** The image's layers, topmost first: the build's upper dir, then the base root. */
    layers: string[];
    /** 127.0.0.1 port SSH clients (Packer) connect to. */
    sshPort: number;
    /** What the metadata service answers: the moto instance that was launched. */
    identity: InstanceIdentity;
    log: (msg: string) => void;
}

/** What hostd.json and boot.json record of a booted instance. */
export interface BootRecord {
    slot: string;
    unsharePid: number;
    /** systemd-nspawn: PID 1 of the instance's PID namespace. */
    nsPid?: number;
    /** The container's systemd (its network namespace is the instance's). */
    leaderPid?: number;
    cgroup: string;
}

export class BootInstance {
    readonly dir: string;
    readonly cgroup: string;
    private child: ChildProcess | undefined;
    private exited: Promise<void> = Promise.resolve();
    nsPid: number | undefined;
    leaderPid: number | undefined;
    private forwarder: net.Server | undefined;
    private imds: http.Server | undefined;
    private readonly sockets = new Set<net.Socket>();
    private readonly helpers = new Set<ChildProcess>();
    private readonly tokens: TokenStore = new Map();
    private ready!: Promise<void>;
    private markReady!: () => void;
    private markFailed!: (e: Error) => void;
    private stopped = false;
    private readonly startedAt = Date.now();
    private firstAnswerMs: number | undefined;

    private constructor(private readonly o: BootOptions) {
        this.dir = path.join(o.sandboxDir, o.slot);
        this.cgroup = cgroupName(o.sandboxDir, o.slot);
        this.ready = new Promise<void>((resolve, reject) => {
            this.markReady = resolve;
            this.markFailed = reject;
        });
        this.ready.catch(() => undefined);
    }

    get unsharePid(): number | undefined {
        return this.child?.pid;
    }

    record(): BootRecord {
        return { slot: this.o.slot, unsharePid: this.child?.pid ?? 0, nsPid: this.nsPid, leaderPid: this.leaderPid, cgroup: this.cgroup };
    }

    /**
     * Boots the instance: upper dir with the launch key (`publicKey`), the SSH port's forwarder
     * (connections wait for the image's sshd), the container, its metadata service. Resolves once
     * the container's systemd runs and the metadata address answers; throws (having stopped
     * everything) when that fails.
     */
    static async start(o: BootOptions, publicKey: string | undefined): Promise<BootInstance> {
        const b = new BootInstance(o);
        try {
            await b.boot(publicKey);
        } catch (e) {
            b.markFailed(e as Error);
            await b.stop(`boot failed: ${(e as Error).message}`);
            throw e;
        }
        return b;
    }

    private async boot(publicKey: string | undefined): Promise<void> {
        const lowerdir = lowerdirOption(this.o.layers);
        const upper = path.join(this.dir, "upper");
        const work = path.join(this.dir, "work");
        const merged = path.join(this.dir, "merged");
        for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
        if (publicKey) writeAuthorizedKey(upper, publicKey);
        this.writeMeta({ startedAt: new Date(this.startedAt).toISOString(), layers: this.o.layers, identity: this.o.identity, keyInjected: publicKey !== undefined });

        this.forwarder = await listenWithRetry(this.o.sshPort, (c) => this.forward(c));

        const logFd = fs.openSync(path.join(this.dir, "boot.log"), "a");
        const child = spawn(
            "unshare",
            ["--mount", "--pid", "--fork", "--kill-child", "--propagation", "private", "--", "bash", BOOT_INIT, lowerdir, upper, work, merged, this.o.identity.instanceId, this.cgroup],
            { stdio: ["ignore", logFd, logFd] },
        );
        fs.closeSync(logFd);
        this.child = child;
        this.exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.once("error", (e) => this.o.log(`${this.o.slot}: cannot start unshare: ${e.message}`));

        // The namespace's PID 1 (boot-init.sh, exec'd into systemd-nspawn), then its container's
        // init: the child of nspawn that lives in another network namespace.
        const until = Date.now() + 30_000;
        const gone = () => child.exitCode !== null || child.signalCode !== null;
        for (;;) {
            if (gone()) throw new Error(`the container exited while booting; see ${path.join(this.dir, "boot.log")}`);
            if (Date.now() > until) throw new Error(`the container's systemd did not start within 30 s; see ${path.join(this.dir, "boot.log")}`);
            const ns = childrenOf(child.pid!)[0];
            if (ns !== undefined && comm(ns) === "systemd-nspawn") {
                this.nsPid = ns;
                const leader = childrenOf(ns).find((c) => comm(c) === "systemd" && netns(c) !== undefined && netns(c) !== netns(ns));
                if (leader !== undefined) {
                    this.leaderPid = leader;
                    break;
                }
            }
            await sleep(10);
        }
        // The metadata address on the container's own loopback: reachable from inside only.
        execFileSync("nsenter", [`--net=/proc/${this.leaderPid}/ns/net`, "--", "ip", "addr", "add", `${IMDS_ADDRESS}/32`, "dev", "lo"], { stdio: ["ignore", "ignore", "pipe"] });
        this.imds = await this.serveMetadata();
        this.markReady();
        this.writeMeta({ nsPid: this.nsPid, leaderPid: this.leaderPid, cgroup: this.cgroup, systemdAfterMs: Date.now() - this.startedAt });
        this.o.log(`${this.o.slot}: booted ${this.o.identity.instanceId} (nspawn pid ${this.nsPid}, container systemd pid ${this.leaderPid}, ${Date.now() - this.startedAt} ms); metadata on ${IMDS_ADDRESS}:80 in its netns; SSH on 127.0.0.1:${this.o.sshPort} -> its port 22`);
    }

    /** Runs `js` with node inside the container's network and PID namespaces, with an IPC channel. */
    private helper(js: string, args: string[]): ChildProcess {
        const h = spawn(
            "nsenter",
            [`--net=/proc/${this.leaderPid}/ns/net`, `--pid=/proc/${this.nsPid}/ns/pid`, "--", process.execPath, "-e", js, ...args, this.dir],
            { stdio: ["ignore", "ignore", "pipe", "ipc"] },
        );
        this.helpers.add(h);
        let err = "";
        h.stderr?.on("data", (b: Buffer) => (err += b.toString()));
        h.once("exit", (code) => {
            this.helpers.delete(h);
            if (code && err.trim()) this.o.log(`${this.o.slot}: helper exited ${code}: ${err.trim()}`);
        });
        h.once("error", (e) => this.o.log(`${this.o.slot}: cannot start nsenter: ${e.message}`));
        return h;
    }

    private serveMetadata(): Promise<http.Server> {
        return new Promise((resolve, reject) => {
            const h = this.helper(LISTEN_JS, []);
            const timer = setTimeout(() => reject(new Error("the metadata socket was not handed over within 10 s")), 10_000);
            // A message can still be on its way when 'exit' fires: give up only a moment later.
            h.once("exit", (code) =>
                setTimeout(() => {
                    clearTimeout(timer);
                    reject(new Error(`the metadata helper exited (${code}) without handing over its socket`));
                }, 500),
            );
            h.once("message", (_m, handle) => {
                clearTimeout(timer);
                const srv = http.createServer((req, res) => {
                    const a = imdsAnswer({ method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers }, this.o.identity, this.tokens, Date.now(), () =>
                        crypto.randomBytes(32).toString("base64url"),
                    );
                    res.writeHead(a.status, { "Content-Type": a.contentType, "Content-Length": Buffer.byteLength(a.body) });
                    res.end(req.method === "HEAD" ? undefined : a.body);
                    this.o.log(`${this.o.slot}: imds ${req.method} ${req.url} -> ${a.status}`);
                });
                srv.listen(handle as net.Server, () => resolve(srv));
                srv.once("error", reject);
            });
        });
    }

    /** One SSH client: wait for the container, connect to its sshd from inside, pipe. */
    private forward(client: net.Socket): void {
        const arrived = Date.now();
        this.sockets.add(client);
        client.once("close", () => this.sockets.delete(client));
        client.on("error", () => client.destroy());
        const giveUp = setTimeout(() => client.destroy(), SSH_WAIT_MS + 5000);
        this.ready.then(
            () => {
                if (client.destroyed || this.stopped) return;
                const left = Math.max(1000, SSH_WAIT_MS - (Date.now() - arrived));
                const h = this.helper(CONNECT_JS, [String(left)]);
                let piped = false;
                client.once("close", () => {
                    if (h.exitCode === null) h.kill("SIGKILL");
                });
                // A message can still be on its way when 'exit' fires: look a moment later.
                h.once("exit", () => setTimeout(() => piped || client.destroy(), 500));
                h.once("message", (_m, handle) => {
                    clearTimeout(giveUp);
                    const up = handle as net.Socket;
                    if (client.destroyed || this.stopped) {
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
                    if (this.firstAnswerMs === undefined) {
                        this.firstAnswerMs = Date.now() - this.startedAt;
                        this.writeMeta({ sshdAnsweredAfterMs: this.firstAnswerMs });
                        this.o.log(`${this.o.slot}: the image's sshd answered ${this.firstAnswerMs} ms after the boot started`);
                    }
                });
            },
            () => client.destroy(),
        );
    }

    private writeMeta(extra: Record<string, unknown>): void {
        const file = path.join(this.dir, "boot.json");
        let m: Record<string, unknown> = { slot: this.o.slot, instanceId: this.o.identity.instanceId };
        try {
            m = { ...m, ...(JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>) };
        } catch {
            /* first write */
        }
        fs.writeFileSync(file, `${JSON.stringify({ ...m, ...extra }, null, 2)}\n`);
    }

    /** Kills what a hard stop must not leave: synchronous, for process exit. */
    killNow(): void {
        for (const h of this.helpers) killAll([h.pid]);
        killAll([this.nsPid, this.child?.pid]);
    }

    /** Powers the container off (SIGTERM to nspawn, 10 s), then kills what is left; removes the cgroup. */
    async stop(reason: string): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        this.markFailed(new Error("stopped"));
        const forwarder = this.forwarder;
        const closed = forwarder ? new Promise<void>((r) => forwarder.close(() => r())) : Promise.resolve();
        for (const s of this.sockets) s.destroy();
        this.imds?.close();
        const t0 = Date.now();
        if (this.nsPid !== undefined && isAlive(this.nsPid)) {
            try {
                process.kill(this.nsPid, "SIGTERM");
            } catch {
                /* gone */
            }
            await Promise.race([this.exited, sleep(10_000)]);
        }
        const graceful = this.child ? this.child.exitCode !== null || this.child.signalCode !== null : true;
        this.killNow();
        await Promise.race([this.exited, sleep(5000)]);
        await closed;
        const failed = await removeBootCgroups(this.o.sandboxDir, this.o.slot);
        this.writeMeta({ stoppedAt: new Date().toISOString(), stopReason: reason, poweredOff: graceful, stopMs: Date.now() - t0, cgroupsLeft: failed });
        this.o.log(`${this.o.slot}: ${this.o.identity.instanceId} ${graceful ? "powered off" : "killed"} in ${Date.now() - t0} ms (${reason})${failed.length ? `; cgroups left: ${failed.join(" ")}` : ""}`);
    }
}

function comm(pid: number): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
        return undefined;
    }
}

function netns(pid: number): string | undefined {
    try {
        return fs.readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
        return undefined;
    }
}

/** Listens on 127.0.0.1:port, retrying for up to 5 s while the port is still held (a sandbox's sshd exiting). */
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
