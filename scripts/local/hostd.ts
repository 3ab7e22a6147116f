/**
 * hostd: the local sandbox build host, "what EC2 gives a new instance", for Packer against moto.
 *
 *   ts-node scripts/local/hostd.ts --endpoint http://127.0.0.1:5000 --ssh-port 2222 [--state-dir .local]
 *                                  [--regions us-east-1,...] [--rootfs DIR] [--interval-ms 100]
 *                                  [--arm64-ssh-port 2223 [--arm64-rootfs DIR]]
 *
 * One *lane* per architecture, each like one small build host of its own: its own SSH port
 * (--ssh-port for amd64, --arm64-ssh-port for arm64), its own Debian root (the arm64 one runs under
 * qemu-aarch64 through binfmt_misc), its own standby sandbox and booted instance. An instance goes
 * to the lane of its Architecture tag (hostd-plan.ts `laneOf`), so an amd64 and an arm64 build, or
 * one's boot test and the other's build, run at the same time. Within a lane, one at a time: a second
 * instance of the same architecture takes the lane's port from the first (as before there were lanes).
 *
 * Polls moto's EC2 API for running instances. The instance Packer launched gets a sandbox: a fresh
 * overlayfs upper over the cached Debian root (scripts/local/rootfs.sh), in its own mount, PID and
 * network namespaces under chroot (the network namespace has a loopback and nothing else: what
 * provisioning runs as root reaches nothing outside it), with its own sshd on that namespace's
 * 127.0.0.1:22 (scripts/local/sandbox-init.sh), reached from the host's 127.0.0.1:<ssh-port> through
 * the forwarder of scripts/local/netns.ts, and the public key of the instance's key pair in
 * /root/.ssh/authorized_keys, as EC2 would.
 * When the instance stops or terminates, the sandbox's PID 1 is killed (every process and mount of
 * the sandbox goes with it); its upper dir stays in <state-dir>/sandbox/<slot>/upper, reachable as
 * <state-dir>/sandbox/<instance-id>/upper, so tests can inspect what provisioning wrote.
 *
 * An instance launched from an image one of those builds made (boot-plan.ts `findBuildOfImage`:
 * the image's SourceInstanceId, else the build whose instance's Name tag is the image's name) is
 * booted instead (scripts/local/boot.ts): the image's root under a fresh upper dir, a real systemd
 * in its own network namespace with instance metadata inside, SSH on the same port forwarded to the
 * image's own sshd. The standby sandbox yields the port while it runs.
 *
 * State: <state-dir>/hostd.pid and <state-dir>/hostd.json (the running sandbox, every instance
 * served). SIGTERM/SIGINT stop the sandbox and exit. Needs root (namespaces, mounts, chroot).
 */
import { spawn, execFileSync, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { DescribeImagesCommand, DescribeInstancesCommand, DescribeKeyPairsCommand, EC2Client, Image } from "@aws-sdk/client-ec2";
import { INPUTS } from "../../pipeline/inputs";
import { BootInstance, BootRecord, removeBootCgroups, writeAuthorizedKey } from "./boot";
import { BuildRecord, findBuildOfImage, InstanceIdentity } from "./boot-plan";
import { Action, CurrentSandbox, LaneArch, laneOf, listensOn, plan, SeenInstance } from "./hostd-plan";
import { rootfsDir } from "./inputs";
import { MOTO_CREDENTIALS, portOpen } from "./moto";
import { NetnsForwarder, NsHelpers, NsTarget } from "./netns";
import { childrenOf, findLeftovers, killAll, pidFromFile, sleep, stopProcess } from "./processes";

const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
const SANDBOX_INIT = path.join(__dirname, "sandbox-init.sh");
/** The port of a build sandbox's sshd on its own network namespace's loopback. */
const SANDBOX_SSHD_PORT = 22;

export interface HostdOptions {
    endpoint: string;
    sshPort: number;
    stateDir: string;
    regions: string[];
    rootfs?: string;
    intervalMs: number;
    /** arm64's lane: its sandbox sshd's port; no arm64 lane when unset. */
    arm64SshPort?: number;
    /** arm64's Debian root (default: rootfs.sh --arch arm64's cache). */
    arm64Rootfs?: string;
}

/** What hostd.json holds of one lane's running sandbox or booted instance. */
export type SandboxState =
    ({ kind?: "build" | "boot"; slot: string; unsharePid: number; nsPid?: number; instanceId?: string } & Partial<BootRecord>) | null;

/** One architecture's lane in hostd.json. */
export interface LaneState {
    arch: LaneArch;
    sshPort: number;
    rootfs: string;
    sandbox: SandboxState;
}

/** What hostd.json holds. */
export interface HostdState {
    pid: number;
    ready: boolean;
    endpoint: string;
    /** amd64's lane's port and root (the first lane's). */
    sshPort: number;
    regions: string[];
    rootfs: string;
    /** amd64's lane's running sandbox, if any (`kind` "boot": a booted instance, with its container's pids and cgroup). */
    sandbox: SandboxState;
    /** Every lane (amd64 first), each with its port, root and running sandbox. */
    lanes?: LaneState[];
    /** instance id → slot (or "" when the instance got no sandbox). */
    served: Record<string, string>;
}

/** Parses hostd's argv. Pure; throws a usage error. */
export function parseHostdArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): HostdOptions {
    const usage =
        "usage: hostd.ts --endpoint URL --ssh-port N [--state-dir DIR] [--regions r1,r2] [--rootfs DIR] [--interval-ms N] [--arm64-ssh-port N] [--arm64-rootfs DIR]";
    const o: Partial<HostdOptions> = { stateDir: path.join(PROJECT_ROOT, ".local"), intervalMs: 100 };
    o.regions = [env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? INPUTS.buildRegion.default];
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = argv[i + 1];
        if (v === undefined) throw new Error(`${a} needs a value\n${usage}`);
        i++;
        if (a === "--endpoint") o.endpoint = v;
        else if (a === "--ssh-port") o.sshPort = Number(v);
        else if (a === "--state-dir") o.stateDir = path.resolve(v);
        else if (a === "--regions") o.regions = v.split(",").filter(Boolean);
        else if (a === "--rootfs") o.rootfs = path.resolve(v);
        else if (a === "--interval-ms") o.intervalMs = Number(v);
        else if (a === "--arm64-ssh-port") o.arm64SshPort = Number(v);
        else if (a === "--arm64-rootfs") o.arm64Rootfs = path.resolve(v);
        else throw new Error(`unknown flag ${a}\n${usage}`);
    }
    if (!o.endpoint) throw new Error(`--endpoint is required\n${usage}`);
    if (!Number.isInteger(o.sshPort) || o.sshPort! <= 0 || o.sshPort! > 65535) throw new Error(`--ssh-port must be a TCP port\n${usage}`);
    if (o.arm64SshPort !== undefined) {
        if (!Number.isInteger(o.arm64SshPort) || o.arm64SshPort <= 0 || o.arm64SshPort > 65535)
            throw new Error(`--arm64-ssh-port must be a TCP port\n${usage}`);
        if (o.arm64SshPort === o.sshPort) throw new Error(`--arm64-ssh-port must differ from --ssh-port (each lane has its own)\n${usage}`);
    } else if (o.arm64Rootfs !== undefined) throw new Error(`--arm64-rootfs needs --arm64-ssh-port\n${usage}`);
    if (!Number.isFinite(o.intervalMs) || o.intervalMs! < 10) throw new Error(`--interval-ms must be >= 10\n${usage}`);
    if (o.regions.length === 0) throw new Error(`--regions must name at least one region\n${usage}`);
    return o as HostdOptions;
}

function log(msg: string): void {
    process.stdout.write(`hostd: ${new Date().toISOString()} ${msg}\n`);
}

interface Sandbox {
    slot: string;
    dir: string;
    child: ChildProcess;
    exited: Promise<void>;
    nsPid?: number;
    instanceId?: string;
    arch: LaneArch;
    /** The lane's port on the host's loopback, forwarded to the sandbox's sshd inside its network namespace. */
    forwarder: NetnsForwarder;
    helpers: NsHelpers;
}

function writeJson(file: string, value: unknown): void {
    fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** A booted instance and the moto instance it is. */
interface Booted {
    slot: string;
    instanceId: string;
    boot: BootInstance;
}

/** One architecture's build host: its port, root, standby or serving sandbox, booted instance. */
class Lane {
    sandbox: Sandbox | undefined;
    booted: Booted | undefined;
    /** The lane's actions in progress; the next poll plans for this lane only once they are done. */
    busy: Promise<void> | undefined;

    constructor(
        readonly arch: LaneArch,
        readonly sshPort: number,
        public rootfs: string,
    ) {}

    current(): CurrentSandbox | undefined {
        if (this.booted) return { slot: this.booted.slot, instanceId: this.booted.instanceId };
        return this.sandbox ? { slot: this.sandbox.slot, instanceId: this.sandbox.instanceId } : undefined;
    }

    state(): LaneState {
        const s = this.sandbox;
        const b = this.booted;
        return {
            arch: this.arch,
            sshPort: this.sshPort,
            rootfs: this.rootfs,
            sandbox: s
                ? { kind: "build", slot: s.slot, unsharePid: s.child.pid!, nsPid: s.nsPid, instanceId: s.instanceId }
                : b
                  ? { kind: "boot", ...b.boot.record(), instanceId: b.instanceId }
                  : null,
        };
    }
}

class Hostd {
    private readonly clients = new Map<string, EC2Client>();
    private readonly lanes: Lane[];
    /** Instance id → the build slot its image came from ("" when it is no build's), decided once. */
    private readonly bootFrom = new Map<string, string>();
    private readonly served: Record<string, string> = {};
    private counter = 0;
    private stopping = false;
    private ready = false;
    private hostKeys = "";
    private lastError = "";

    constructor(private readonly o: HostdOptions) {
        this.lanes = [new Lane("amd64", o.sshPort, o.rootfs ?? "")];
        if (o.arm64SshPort !== undefined) this.lanes.push(new Lane("arm64", o.arm64SshPort, o.arm64Rootfs ?? ""));
    }

    private client(region: string): EC2Client {
        let c = this.clients.get(region);
        if (!c) {
            c = new EC2Client({
                region,
                endpoint: this.o.endpoint,
                credentials: MOTO_CREDENTIALS,
                maxAttempts: 1,
            });
            this.clients.set(region, c);
        }
        return c;
    }

    private writeState(): void {
        const lanes = this.lanes.map((l) => l.state());
        const state: HostdState = {
            pid: process.pid,
            ready: this.ready,
            endpoint: this.o.endpoint,
            sshPort: lanes[0].sshPort,
            regions: this.o.regions,
            rootfs: lanes[0].rootfs,
            sandbox: lanes[0].sandbox,
            lanes,
            served: this.served,
        };
        const file = path.join(this.o.stateDir, "hostd.json");
        writeJson(`${file}.tmp`, state);
        fs.renameSync(`${file}.tmp`, file);
    }

    async start(): Promise<void> {
        if (process.getuid?.() !== 0) throw new Error("hostd needs root (mount and PID namespaces, overlayfs, chroot)");
        fs.mkdirSync(path.join(this.o.stateDir, "sandbox"), { recursive: true });
        fs.writeFileSync(path.join(this.o.stateDir, "hostd.pid"), `${process.pid}\n`);
        // Empty cgroups a booted instance of a hostd that died hard left behind.
        await removeBootCgroups(path.join(this.o.stateDir, "sandbox"), undefined, 0);
        for (const l of this.lanes) {
            l.rootfs ||= rootfsDir({ arch: l.arch });
            if (!fs.existsSync(path.join(l.rootfs, "usr/sbin/sshd"))) throw new Error(`${l.rootfs} (${l.arch}) has no usr/sbin/sshd`);
            if (await portOpen(l.sshPort)) throw new Error(`127.0.0.1:${l.sshPort} (${l.arch}) is already taken (another hostd or sshd?)`);
        }
        // Host keys made once per hostd run (what `ssh-keygen -A` does on a new instance), copied into
        // each sandbox: keeps key generation off the path between RunInstances and Packer's first SSH.
        this.hostKeys = path.join(this.o.stateDir, "hostkeys");
        fs.rmSync(this.hostKeys, { recursive: true, force: true });
        fs.mkdirSync(path.join(this.hostKeys, "etc", "ssh"), { recursive: true });
        execFileSync("ssh-keygen", ["-A", "-f", this.hostKeys], { stdio: "ignore" });
        await Promise.all(this.lanes.map((l) => this.apply(l, [{ kind: "standby" }])));
        this.ready = true;
        this.writeState();
        log(
            `ready: ${this.lanes.map((l) => `${l.arch} sandbox sshd on 127.0.0.1:${l.sshPort}`).join(", ")}, watching ${this.o.endpoint} (${this.o.regions.join(",")})`,
        );
    }

    async run(): Promise<void> {
        const arches = this.lanes.map((l) => l.arch);
        while (!this.stopping) {
            try {
                const instances = await this.withBootSources(await this.list());
                this.recordTags(instances);
                const served = new Set(Object.keys(this.served));
                const byLane = new Map<LaneArch, SeenInstance[]>(arches.map((a) => [a, []]));
                for (const i of instances) {
                    const a = laneOf(i, arches);
                    if (a) byLane.get(a)!.push(i);
                    else if (i.state === "running" && !served.has(i.id)) {
                        this.served[i.id] = "";
                        log(
                            `${i.id}: no sandbox (hostd has no ${i.tags?.Architecture ?? i.architecture} lane; start it with --arm64-ssh-port)`,
                        );
                        this.writeState();
                    }
                }
                // Each lane on its own: one lane's slow boot never holds back another's build.
                for (const l of this.lanes) {
                    if (l.busy || this.stopping) continue;
                    const actions = plan(l.current(), served, byLane.get(l.arch)!);
                    if (actions.length === 0) continue;
                    l.busy = this.apply(l, actions)
                        .catch((e: Error) => log(`${l.arch} lane: ${e.message} (will retry)`))
                        .finally(() => (l.busy = undefined));
                }
                this.lastError = "";
            } catch (e) {
                const msg = (e as Error).message;
                if (msg !== this.lastError) log(`poll failed (will retry): ${msg}`);
                this.lastError = msg;
            }
            await sleep(this.o.intervalMs);
        }
    }

    async shutdown(): Promise<void> {
        this.stopping = true;
        await Promise.all(this.lanes.map((l) => l.busy ?? Promise.resolve()));
        await Promise.all(
            this.lanes.map(async (l) => {
                await this.stopSandbox(l, "hostd stopping");
                await this.stopBooted(l, "hostd stopping");
            }),
        );
        this.ready = false;
        this.writeState();
        fs.rmSync(path.join(this.o.stateDir, "hostd.pid"), { force: true });
        log("stopped");
    }

    /** Last-resort synchronous kill (process exit). */
    killNow(): void {
        for (const l of this.lanes) {
            if (l.sandbox) {
                l.sandbox.helpers.killNow();
                killAll([l.sandbox.nsPid, l.sandbox.child.pid]);
            }
            l.booted?.boot.killNow();
        }
    }

    /** The build sandboxes served so far (this run or an earlier one), from their instance.json. */
    private builds(): BuildRecord[] {
        const dir = path.join(this.o.stateDir, "sandbox");
        const out: BuildRecord[] = [];
        for (const slot of fs.readdirSync(dir)) {
            if (!slot.startsWith("sb-")) continue;
            try {
                const m = JSON.parse(fs.readFileSync(path.join(dir, slot, "instance.json"), "utf8")) as {
                    instanceId: string;
                    tags?: Record<string, string>;
                };
                out.push({ instanceId: m.instanceId, slot, tags: m.tags ?? {} });
            } catch {
                /* a standby that never served, or not written yet */
            }
        }
        return out;
    }

    /**
     * Marks each new running instance whose image one of hostd's builds made (`bootFrom`), asking
     * DescribeImages once per instance. A failed look-up fails the poll (it is retried).
     */
    private async withBootSources(instances: SeenInstance[]): Promise<SeenInstance[]> {
        const out: SeenInstance[] = [];
        for (const i of instances) {
            if (i.state === "running" && !(i.id in this.served) && !this.bootFrom.has(i.id) && i.imageId) {
                let img: Image | undefined;
                try {
                    img = (await this.client(i.region).send(new DescribeImagesCommand({ ImageIds: [i.imageId] }))).Images?.[0];
                } catch (e) {
                    // An image that no longer exists is no build's; any other error fails the poll.
                    if (!/InvalidAMIID/.test((e as Error).name)) throw e;
                }
                const tags: Record<string, string> = {};
                for (const t of img?.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? "";
                const known = new Set(instances.map((x) => x.id));
                const m = findBuildOfImage(
                    { imageId: i.imageId, name: img?.Name, sourceInstanceId: img?.SourceInstanceId, tags },
                    this.builds(),
                    known,
                );
                if (m.kind === "build") {
                    this.bootFrom.set(i.id, m.build.slot);
                    log(`${i.id}: image ${i.imageId} was made by build ${m.build.slot} (${m.build.instanceId}, by ${m.how}): booting it`);
                } else {
                    this.bootFrom.set(i.id, "");
                    const why = m.kind === "ambiguous" ? `several builds carried its tags (${m.slots.join(", ")})` : m.why;
                    log(`${i.id}: image ${i.imageId}: ${why}; a build sandbox`);
                }
            }
            const from = this.bootFrom.get(i.id);
            out.push(from ? { ...i, bootFrom: from } : i);
        }
        return out;
    }

    /** Keeps each serving build sandbox's record of its instance's tags current (Packer may tag after launch). */
    private recordTags(instances: SeenInstance[]): void {
        for (const l of this.lanes) {
            const s = l.sandbox;
            if (!s?.instanceId) continue;
            const i = instances.find((x) => x.id === s.instanceId);
            if (!i?.tags) continue;
            const file = path.join(s.dir, "instance.json");
            try {
                const m = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
                if (JSON.stringify(m.tags ?? {}) === JSON.stringify(i.tags)) continue;
                writeJson(file, { ...m, tags: i.tags });
            } catch {
                /* not bound yet */
            }
        }
    }

    private async list(): Promise<SeenInstance[]> {
        const out: SeenInstance[] = [];
        for (const region of this.o.regions) {
            let token: string | undefined;
            do {
                const r = await this.client(region).send(new DescribeInstancesCommand({ NextToken: token }));
                for (const res of r.Reservations ?? []) {
                    for (const i of res.Instances ?? []) {
                        if (!i.InstanceId) continue;
                        const tags: Record<string, string> = {};
                        for (const t of i.Tags ?? []) if (t.Key) tags[t.Key] = t.Value ?? "";
                        out.push({
                            id: i.InstanceId,
                            state: i.State?.Name ?? "unknown",
                            keyName: i.KeyName,
                            region,
                            launchedAt: i.LaunchTime?.getTime() ?? 0,
                            imageId: i.ImageId,
                            instanceType: i.InstanceType,
                            availabilityZone: i.Placement?.AvailabilityZone,
                            privateIp: i.PrivateIpAddress,
                            accountId: res.OwnerId,
                            architecture: i.Architecture,
                            tags,
                        });
                    }
                }
                token = r.NextToken;
            } while (token);
        }
        return out;
    }

    private async publicKey(instance: SeenInstance): Promise<string | undefined> {
        if (!instance.keyName) return undefined;
        try {
            const r = await this.client(instance.region).send(
                new DescribeKeyPairsCommand({ KeyNames: [instance.keyName], IncludePublicKey: true }),
            );
            return r.KeyPairs?.[0]?.PublicKey;
        } catch (e) {
            log(`${instance.id}: cannot read key pair ${instance.keyName}: ${(e as Error).message}`);
            return undefined;
        }
    }

    private async apply(l: Lane, actions: Action[]): Promise<void> {
        for (const a of actions) {
            switch (a.kind) {
                case "stop":
                    await this.stopSandbox(l, a.reason);
                    await this.stopBooted(l, a.reason);
                    break;
                case "boot":
                    await this.boot(l, a.instance);
                    break;
                case "skip":
                    this.served[a.instance.id] = "";
                    log(`${a.instance.id}: no sandbox (a newer instance took it)`);
                    break;
                case "assign": {
                    const s = l.sandbox!;
                    const key = await this.publicKey(a.instance);
                    if (key) writeAuthorizedKey(`/proc/${s.nsPid}/root`, key);
                    this.bind(s, a.instance, key !== undefined);
                    break;
                }
                case "start": {
                    const key = await this.publicKey(a.instance);
                    const s = await this.startSandbox(l, key);
                    this.bind(s, a.instance, key !== undefined);
                    break;
                }
                case "standby":
                    await this.startSandbox(l, undefined);
                    break;
            }
            this.writeState();
        }
    }

    private bind(s: Sandbox, instance: SeenInstance, withKey: boolean): void {
        s.instanceId = instance.id;
        this.served[instance.id] = s.slot;
        const link = path.join(this.o.stateDir, "sandbox", instance.id);
        fs.rmSync(link, { force: true });
        fs.symlinkSync(s.slot, link);
        writeJson(path.join(s.dir, "instance.json"), {
            instanceId: instance.id,
            region: instance.region,
            keyName: instance.keyName ?? null,
            keyInjected: withKey,
            kind: "build",
            arch: s.arch,
            tags: instance.tags ?? {},
            servedAt: new Date().toISOString(),
        });
        log(`${instance.id}: ${s.arch} sandbox ${s.slot} (key pair ${instance.keyName ?? "none"}${withKey ? ", key written" : ""})`);
    }

    private async startSandbox(l: Lane, publicKey: string | undefined): Promise<Sandbox> {
        this.counter++;
        const slot = `sb-${Date.now().toString(36)}-${this.counter}`;
        const dir = path.join(this.o.stateDir, "sandbox", slot);
        const upper = path.join(dir, "upper");
        const work = path.join(dir, "work");
        const merged = path.join(dir, "merged");
        for (const d of [upper, work, merged]) fs.mkdirSync(d, { recursive: true });
        fs.mkdirSync(path.join(upper, "etc", "ssh"), { recursive: true, mode: 0o755 });
        fs.chmodSync(path.join(upper, "etc"), 0o755);
        fs.chmodSync(path.join(upper, "etc", "ssh"), 0o755);
        for (const f of fs.readdirSync(path.join(this.hostKeys, "etc", "ssh"))) {
            const src = path.join(this.hostKeys, "etc", "ssh", f);
            const dst = path.join(upper, "etc", "ssh", f);
            fs.copyFileSync(src, dst);
            fs.chmodSync(dst, fs.statSync(src).mode & 0o777);
        }
        if (publicKey) writeAuthorizedKey(upper, publicKey);
        // sshd of an emulated architecture starts under qemu: slower.
        const limit = l.arch === "amd64" ? 15 : 60;
        // The lane's port listens at once: a connection that arrives before the sandbox's sshd is up
        // waits for it (as it did on sshd's own listening socket), then goes through a helper
        // entered into the sandbox's network namespace.
        let reached!: (t: NsTarget) => void;
        let failed!: (e: Error) => void;
        const target = new Promise<NsTarget>((resolve, reject) => {
            reached = resolve;
            failed = reject;
        });
        const helpers = new NsHelpers(dir, slot, log);
        const forwarder = await NetnsForwarder.listen(
            { port: l.sshPort, innerPort: SANDBOX_SSHD_PORT, waitMs: limit * 1000, helpers },
            target,
        );
        const logFd = fs.openSync(path.join(dir, "sshd.log"), "a");
        const child = spawn(
            "unshare",
            [
                "--mount",
                "--pid",
                "--net",
                "--fork",
                "--kill-child",
                "--propagation",
                "private",
                "--",
                "bash",
                SANDBOX_INIT,
                l.rootfs,
                upper,
                work,
                merged,
                String(SANDBOX_SSHD_PORT),
            ],
            { stdio: ["ignore", logFd, logFd] },
        );
        fs.closeSync(logFd);
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.once("error", (e) => log(`${slot}: cannot start unshare: ${e.message}`));
        const s: Sandbox = { slot, dir, child, exited, arch: l.arch, forwarder, helpers };
        l.sandbox = s;
        const until = Date.now() + limit * 1000;
        // Up when the namespace's PID 1 (sshd, exec'd by sandbox-init.sh) listens in its namespace.
        for (;;) {
            const ns = childrenOf(child.pid!)[0];
            if (ns !== undefined && listensOn(readTcpTable(ns), SANDBOX_SSHD_PORT)) {
                s.nsPid = ns;
                break;
            }
            if (child.exitCode !== null || child.signalCode !== null) {
                failed(new Error("sandbox exited"));
                await forwarder.close();
                l.sandbox = undefined;
                throw new Error(`sandbox ${slot} exited before sshd listened; see ${path.join(dir, "sshd.log")}`);
            }
            if (Date.now() > until) {
                failed(new Error("sshd not listening"));
                await this.stopSandbox(l, `sshd not listening after ${limit} s`);
                throw new Error(`sandbox ${slot}: sshd not listening after ${limit} s; see ${path.join(dir, "sshd.log")}`);
            }
            await sleep(10);
        }
        reached({ netPid: s.nsPid, pidNsPid: s.nsPid });
        writeJson(path.join(dir, "sandbox.json"), {
            slot,
            arch: l.arch,
            sshPort: l.sshPort,
            rootfs: l.rootfs,
            unsharePid: child.pid,
            nsPid: s.nsPid,
            startedAt: new Date().toISOString(),
        });
        log(
            `${slot}: ${l.arch} sandbox sshd listening on 127.0.0.1:${SANDBOX_SSHD_PORT} of its own network namespace, reached from 127.0.0.1:${l.sshPort} (namespace PID 1 = host pid ${s.nsPid})${publicKey ? "" : " as standby"}`,
        );
        return s;
    }

    /** Boots the image of build `instance.bootFrom` for `instance` (the plan stopped any sandbox first). */
    private async boot(l: Lane, instance: SeenInstance): Promise<void> {
        const from = instance.bootFrom!;
        const sandboxDir = path.join(this.o.stateDir, "sandbox");
        let rootfs = l.rootfs;
        try {
            rootfs =
                (JSON.parse(fs.readFileSync(path.join(sandboxDir, from, "sandbox.json"), "utf8")) as { rootfs?: string }).rootfs ?? rootfs;
        } catch {
            /* an older record: the base root hostd runs with */
        }
        const key = await this.publicKey(instance);
        this.counter++;
        const slot = `bt-${Date.now().toString(36)}-${this.counter}`;
        const identity: InstanceIdentity = {
            instanceId: instance.id,
            region: instance.region,
            availabilityZone: instance.availabilityZone ?? `${instance.region}a`,
            instanceType: instance.instanceType ?? "t3.medium",
            imageId: instance.imageId ?? "",
            privateIp: instance.privateIp ?? "10.0.0.10",
            accountId: instance.accountId ?? "123456789012",
            architecture: instance.architecture ?? (l.arch === "arm64" ? "arm64" : "x86_64"),
            pendingTime: new Date(instance.launchedAt || Date.now()).toISOString(),
            ...(key && instance.keyName ? { key: { name: instance.keyName, publicKey: key } } : {}),
        };
        // Served before the boot, so a failed boot is not retried on every poll.
        this.served[instance.id] = slot;
        const link = path.join(sandboxDir, instance.id);
        fs.rmSync(link, { force: true });
        fs.symlinkSync(slot, link);
        fs.mkdirSync(path.join(sandboxDir, slot), { recursive: true });
        writeJson(path.join(sandboxDir, slot, "instance.json"), {
            instanceId: instance.id,
            region: instance.region,
            keyName: instance.keyName ?? null,
            keyInjected: key !== undefined,
            kind: "boot",
            arch: l.arch,
            bootFrom: from,
            imageId: instance.imageId ?? null,
            tags: instance.tags ?? {},
            servedAt: new Date().toISOString(),
        });
        log(
            `${instance.id}: booting ${l.arch} image ${instance.imageId} (build ${from}) in ${slot} on 127.0.0.1:${l.sshPort} (key pair ${instance.keyName ?? "none"}${key ? ", key written" : ""})`,
        );
        try {
            const boot = await BootInstance.start(
                { sandboxDir, slot, layers: [path.join(sandboxDir, from, "upper"), rootfs], sshPort: l.sshPort, identity, log },
                key,
            );
            l.booted = { slot, instanceId: instance.id, boot };
        } catch (e) {
            log(`${instance.id}: boot failed: ${(e as Error).message}`);
        }
    }

    /** Stops the booted instance, if any, and forgets it. */
    private async stopBooted(l: Lane, reason: string): Promise<void> {
        const b = l.booted;
        if (!b) return;
        l.booted = undefined;
        await b.boot.stop(reason);
        const until = Date.now() + 5000;
        while ((await portOpen(l.sshPort)) && Date.now() < until) await sleep(10);
    }

    /** Stops the running sandbox, if any, and forgets it. */
    private async stopSandbox(l: Lane, reason: string): Promise<void> {
        const s = l.sandbox;
        if (!s) return;
        const closed = s.forwarder.close();
        // The namespace's PID 1 takes every process of the sandbox (helpers too), its mounts and its
        // network namespace with it.
        s.helpers.killNow();
        killAll([s.nsPid, s.child.pid]);
        await closed;
        await Promise.race([s.exited, sleep(5000)]);
        const until = Date.now() + 5000;
        while ((await portOpen(l.sshPort)) && Date.now() < until) await sleep(10);
        const meta = path.join(s.dir, "sandbox.json");
        try {
            const m = JSON.parse(fs.readFileSync(meta, "utf8")) as Record<string, unknown>;
            writeJson(meta, { ...m, instanceId: s.instanceId ?? null, stoppedAt: new Date().toISOString(), stopReason: reason });
        } catch {
            /* never started far enough to write it */
        }
        log(`${s.slot}: sandbox stopped (${reason})${s.instanceId ? `; upper dir kept for ${s.instanceId}` : ""}`);
        if (!s.instanceId) fs.rmSync(s.dir, { recursive: true, force: true });
        l.sandbox = undefined;
    }
}

/** /proc/<pid>/net/tcp: the TCP sockets of `pid`'s network namespace ("" once it is gone). */
function readTcpTable(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/net/tcp`, "utf8");
    } catch {
        return "";
    }
}

async function main(): Promise<number> {
    let o: HostdOptions;
    try {
        o = parseHostdArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`${(e as Error).message}\n`);
        return 2;
    }
    const d = new Hostd(o);
    process.on("exit", () => d.killNow());
    let stopping: Promise<void> | undefined;
    const onSignal = (sig: string) => {
        log(`${sig} received`);
        stopping ??= d.shutdown();
    };
    process.on("SIGTERM", () => onSignal("SIGTERM"));
    process.on("SIGINT", () => onSignal("SIGINT"));
    try {
        await d.start();
    } catch (e) {
        log(`cannot start: ${(e as Error).message}`);
        await d.shutdown();
        return 1;
    }
    await d.run();
    await stopping;
    return 0;
}

// --- a handle for scripts and tests that run hostd as a child process -------------------------

export interface HostdProcess {
    readonly pid: number;
    readonly stateDir: string;
    readonly sshPort: number;
    /** The last state hostd wrote. */
    state(): HostdState;
    stop(): Promise<void>;
}

export interface SpawnHostdOptions {
    endpoint: string;
    sshPort: number;
    stateDir: string;
    regions?: string[];
    rootfs?: string;
    /** arm64's lane: its sandbox sshd's port (none when unset) and its Debian root (default rootfs.sh --arch arm64). */
    arm64SshPort?: number;
    arm64Rootfs?: string;
    /** Where hostd's output goes; <stateDir>/hostd.log when omitted. */
    logFile?: string;
    /**
     * Keep it running after this process exits (its own session, not killed on exit): what
     * `npm run local` leaves behind for the next run. Stop it with {@link stopHostd}.
     */
    detached?: boolean;
}

export function readHostdState(stateDir: string): HostdState {
    return JSON.parse(fs.readFileSync(path.join(stateDir, "hostd.json"), "utf8")) as HostdState;
}

/** The hostd serving `stateDir` (its `hostd.pid`), while it runs; undefined otherwise. */
export function runningHostd(stateDir: string): number | undefined {
    return pidFromFile(path.join(stateDir, "hostd.pid"));
}

/** `file` as a message shows it: relative to the working directory when it lies inside it. */
function shown(file: string): string {
    const rel = path.relative(process.cwd(), file);
    return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : file;
}

/** Starts hostd as a child process and resolves once its standby sandbox listens. */
export async function spawnHostd(opts: SpawnHostdOptions): Promise<HostdProcess> {
    fs.mkdirSync(opts.stateDir, { recursive: true });
    fs.rmSync(path.join(opts.stateDir, "hostd.json"), { force: true });
    const args = [
        "-r",
        "ts-node/register/transpile-only",
        path.join(__dirname, "hostd.ts"),
        "--endpoint",
        opts.endpoint,
        "--ssh-port",
        String(opts.sshPort),
        "--state-dir",
        opts.stateDir,
    ];
    if (opts.regions) args.push("--regions", opts.regions.join(","));
    if (opts.rootfs) args.push("--rootfs", opts.rootfs);
    if (opts.arm64SshPort !== undefined) args.push("--arm64-ssh-port", String(opts.arm64SshPort));
    if (opts.arm64Rootfs) args.push("--arm64-rootfs", opts.arm64Rootfs);
    const logFile = opts.logFile ?? path.join(opts.stateDir, "hostd.log");
    const out = fs.openSync(logFile, "a");
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ["ignore", out, out], detached: opts.detached ?? false });
    fs.closeSync(out);
    const killOnExit = () => child.kill("SIGKILL");
    if (!opts.detached) process.once("exit", killOnExit);
    const until = Date.now() + 180_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`hostd exited; see ${shown(logFile)} (exit code ${child.exitCode})`);
        try {
            if (readHostdState(opts.stateDir).ready) break;
        } catch {
            /* not written yet */
        }
        if (Date.now() > until) {
            child.kill("SIGKILL");
            throw new Error(`hostd not ready after 180 s; see ${shown(logFile)}`);
        }
        await sleep(50);
    }
    if (opts.detached) child.unref();
    return {
        pid: child.pid!,
        stateDir: opts.stateDir,
        sshPort: opts.sshPort,
        state: () => readHostdState(opts.stateDir),
        stop: async () => {
            process.removeListener("exit", killOnExit);
            await stopHostd(opts.stateDir, child.pid);
        },
    };
}

/**
 * Stops hostd (SIGTERM, SIGKILL after 10 s), then, in case it died hard, its sandbox by the pids it
 * recorded. `pid`: the hostd to stop, by default the one `stateDir/hostd.pid` names. Returns how
 * hostd went (processes.ts `stopProcess`).
 */
export async function stopHostd(stateDir: string, pid = runningHostd(stateDir)): Promise<"gone" | "stopped" | "killed"> {
    const how = pid === undefined ? "gone" : await stopProcess(pid, 10_000);
    try {
        const st = readHostdState(stateDir);
        const sandboxes = st.lanes ? st.lanes.map((l) => l.sandbox) : [st.sandbox];
        // Only pids that are still the sandbox's: a recorded pid of a process long gone may be reused.
        const live = findLeftovers(stateDir).pids;
        killAll(sandboxes.flatMap((s) => [s?.nsPid, s?.unsharePid]).filter((p): p is number => p !== undefined && live.includes(p)));
    } catch {
        /* no state */
    }
    // A booted instance's cgroup outlives a hostd that died hard (its processes die with nsPid).
    await removeBootCgroups(path.join(stateDir, "sandbox"));
    return how;
}

if (require.main === module) {
    void main().then((code) => process.exit(code));
}
