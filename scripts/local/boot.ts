/**
 * A booted instance of hostd (scripts/local/hostd.ts): what EC2 runs for an instance launched from
 * an image that one of hostd's builds made. The image's root (the build's upper dir over the
 * cached base root, both read-only) under a fresh copy-on-write upper dir, booted by
 * `systemd-nspawn --boot --private-network` (scripts/local/boot-init.sh) with the image's own
 * systemd as PID 1, inside private mount and PID namespaces (nothing is mounted on the host).
 *
 * - Before boot, as EC2 + cloud-init would: the launch key pair's public key in root's
 *   authorized_keys of the fresh upper dir. Nothing else: no SSH host keys (the image makes them).
 * Both sockets below are opened inside the container's namespace by helpers of scripts/local/netns.ts
 * (the same forwarder serves the build sandboxes' SSH).
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
import * as path from "node:path";
import { cgroupName, cgroupPrefix, IMDS_ADDRESS, imdsAnswer, InstanceIdentity, lowerdirOption, TokenStore } from "./boot-plan";
import { NetnsForwarder, netnsOf, NsHelpers, nsListen, NsTarget } from "./netns";
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
    private forwarder: NetnsForwarder | undefined;
    private imds: http.Server | undefined;
    private readonly helpers: NsHelpers;
    private readonly tokens: TokenStore = new Map();
    /** The container's namespaces, once its systemd runs and its metadata answers. */
    private ready!: Promise<NsTarget>;
    private markReady!: (t: NsTarget) => void;
    private markFailed!: (e: Error) => void;
    private stopped = false;
    private readonly startedAt = Date.now();
    private firstAnswerMs: number | undefined;

    private constructor(private readonly o: BootOptions) {
        this.dir = path.join(o.sandboxDir, o.slot);
        this.cgroup = cgroupName(o.sandboxDir, o.slot);
        this.helpers = new NsHelpers(this.dir, o.slot, o.log);
        this.ready = new Promise<NsTarget>((resolve, reject) => {
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
        this.writeMeta({
            startedAt: new Date(this.startedAt).toISOString(),
            layers: this.o.layers,
            identity: this.o.identity,
            keyInjected: publicKey !== undefined,
        });

        this.forwarder = await NetnsForwarder.listen(
            {
                port: this.o.sshPort,
                innerPort: 22,
                waitMs: SSH_WAIT_MS,
                helpers: this.helpers,
                startedAt: this.startedAt,
                onFirstAnswer: (ms) => {
                    this.firstAnswerMs = ms;
                    this.writeMeta({ sshdAnsweredAfterMs: ms });
                    this.o.log(`${this.o.slot}: the image's sshd answered ${ms} ms after the boot started`);
                },
            },
            this.ready,
        );

        const logFd = fs.openSync(path.join(this.dir, "boot.log"), "a");
        const child = spawn(
            "unshare",
            [
                "--mount",
                "--pid",
                "--fork",
                "--kill-child",
                "--propagation",
                "private",
                "--",
                "bash",
                BOOT_INIT,
                lowerdir,
                upper,
                work,
                merged,
                this.o.identity.instanceId,
                this.cgroup,
            ],
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
            if (Date.now() > until)
                throw new Error(`the container's systemd did not start within 30 s; see ${path.join(this.dir, "boot.log")}`);
            const ns = childrenOf(child.pid!)[0];
            if (ns !== undefined && comm(ns) === "systemd-nspawn") {
                this.nsPid = ns;
                const leader = childrenOf(ns).find((c) => comm(c) === "systemd" && netnsOf(c) !== undefined && netnsOf(c) !== netnsOf(ns));
                if (leader !== undefined) {
                    this.leaderPid = leader;
                    break;
                }
            }
            await sleep(10);
        }
        // The metadata address on the container's own loopback: reachable from inside only.
        execFileSync("nsenter", [`--net=/proc/${this.leaderPid}/ns/net`, "--", "ip", "addr", "add", `${IMDS_ADDRESS}/32`, "dev", "lo"], {
            stdio: ["ignore", "ignore", "pipe"],
        });
        const target: NsTarget = { netPid: this.leaderPid, pidNsPid: this.nsPid };
        this.imds = await this.serveMetadata(target);
        this.markReady(target);
        this.writeMeta({ nsPid: this.nsPid, leaderPid: this.leaderPid, cgroup: this.cgroup, systemdAfterMs: Date.now() - this.startedAt });
        this.o.log(
            `${this.o.slot}: booted ${this.o.identity.instanceId} (nspawn pid ${this.nsPid}, container systemd pid ${this.leaderPid}, ${Date.now() - this.startedAt} ms); metadata on ${IMDS_ADDRESS}:80 in its netns; SSH on 127.0.0.1:${this.o.sshPort} -> its port 22`,
        );
    }

    private async serveMetadata(target: NsTarget): Promise<http.Server> {
        const handle = await nsListen(this.helpers, target, IMDS_ADDRESS, 80);
        const srv = http.createServer((req, res) => {
            const a = imdsAnswer(
                { method: req.method ?? "GET", url: req.url ?? "/", headers: req.headers },
                this.o.identity,
                this.tokens,
                Date.now(),
                () => crypto.randomBytes(32).toString("base64url"),
            );
            res.writeHead(a.status, { "Content-Type": a.contentType, "Content-Length": Buffer.byteLength(a.body) });
            res.end(req.method === "HEAD" ? undefined : a.body);
            this.o.log(`${this.o.slot}: imds ${req.method} ${req.url} -> ${a.status}`);
        });
        return new Promise((resolve, reject) => {
            srv.once("error", reject);
            srv.listen(handle, () => resolve(srv));
        });
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
        this.helpers.killNow();
        killAll([this.nsPid, this.child?.pid]);
    }

    /** Powers the container off (SIGTERM to nspawn, 10 s), then kills what is left; removes the cgroup. */
    async stop(reason: string): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        this.markFailed(new Error("stopped"));
        const closed = this.forwarder ? this.forwarder.close() : Promise.resolve();
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
        this.writeMeta({
            stoppedAt: new Date().toISOString(),
            stopReason: reason,
            poweredOff: graceful,
            stopMs: Date.now() - t0,
            cgroupsLeft: failed,
        });
        this.o.log(
            `${this.o.slot}: ${this.o.identity.instanceId} ${graceful ? "powered off" : "killed"} in ${Date.now() - t0} ms (${reason})${failed.length ? `; cgroups left: ${failed.join(" ")}` : ""}`,
        );
    }
}

function comm(pid: number): string | undefined {
    try {
        return fs.readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    } catch {
        return undefined;
    }
}
