/**
 * The end-to-end tests' world: one moto, one hostd (sandbox build host), prebuilt inputs (agent
 * artifact, stand-in package), a private file backend, and the stack driver run as a child process
 * (so a test can SIGINT it as a user or CI would). Everything lives under one temp dir, except the
 * stack config files (`Pulumi.<stack>.yaml`, which the engine reads from the project root) and the
 * build inputs under `.build/e2e-<id>/` (the program resolves paths from the project root); all of
 * them are removed by `stop()`.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as crypto from "node:crypto";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { BASE_IMAGES_FILE, freePort, motoEnv, MotoServer, portOpen, startMoto } from "../../scripts/local/moto";
import { HostdProcess, spawnHostd } from "../../scripts/local/hostd";
import { buildAgent, buildStandin, rootfsDir } from "../../scripts/local/inputs";
import { findLeftovers, isAlive, sleep } from "../../scripts/local/processes";
import { stackCheckpoint as checkpointIn, type Checkpoint } from "../../scripts/localStacks";
import { ec2Client } from "../../providers/ec2/client";
import { inventory, Inventory, inventorySize } from "../../providers/ec2/inventory";
import { removeStackBuildFiles } from "../fixtures/buildFiles";

export const ROOT = path.resolve(__dirname, "..", "..");
export const REGION = "us-east-1";
export const PROJECT = "couchbase-images";

export interface World {
    id: string;
    tmp: string;
    /** The shared Debian root under every sandbox (the overlay's lower dir). */
    rootfs: string;
    moto: MotoServer;
    hostd: HostdProcess;
    sshPort: number;
    backendDir: string;
    /** Relative to the project root. */
    buildDir: string;
    agentArtifact: string;
    agentSha256: string;
    /** With `arm64` (WorldOptions): the arm64 agent (project-relative) and hostd's arm64 root. */
    arm64AgentArtifact?: string;
    arm64Rootfs?: string;
    standinDir: string;
    couchbaseVersion: string;
    ec2: EC2Client;
    /** Every object id in moto before the first build (moto's own images, snapshots, default SG...). */
    baseline: Set<string>;
    stacks: Set<string>;
    env: Record<string, string>;
}

export { isAlive, sleep };

/** The version the stand-in package and the stack config agree on. */
export const STANDIN_VERSION = "7.6.3";

/**
 * `arm64`: hostd gets an arm64 lane too (the arm64 Debian root under qemu-aarch64, on sshPort + 1,
 * as pipeline/architectures.ts `emulatorSshPort` has it) and an arm64 agent is built
 * (`arm64AgentArtifact`). Needs qemu-aarch64 registered (scripts/bootstrap.sh).
 */
export interface WorldOptions {
    arm64?: boolean;
}

export async function startWorld(label: string, opts: WorldOptions = {}): Promise<World> {
    const id = `${label}-${crypto.randomBytes(3).toString("hex")}`;
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `cbimg-${id}-`));
    const buildDir = path.join(".build", `e2e-${id}`);
    const absBuild = path.join(ROOT, buildDir);
    fs.mkdirSync(absBuild, { recursive: true });
    const rootfs = rootfsDir();
    const agentSha256 = buildAgent(path.join(absBuild, "agent"), { quiet: true });
    buildStandin(path.join(absBuild, "standin"), STANDIN_VERSION, "enterprise", { quiet: true });
    if (opts.arm64) buildStandin(path.join(absBuild, "standin"), STANDIN_VERSION, "enterprise", { quiet: true, arch: "arm64" });
    const moto = await startMoto({ amisPath: BASE_IMAGES_FILE, logFile: path.join(tmp, "moto.log") });
    let sshPort = await freePort();
    // arm64's lane listens on sshPort + 1: find a port whose next one is free too.
    while (opts.arm64 && (await portOpen(sshPort + 1))) sshPort = await freePort();
    const arm64Rootfs = opts.arm64 ? rootfsDir({ arch: "arm64", quiet: true }) : undefined;
    if (opts.arm64)
        execFileSync("bash", [path.join(ROOT, "agent", "build.sh"), "--out", path.join(absBuild, "agent-arm64"), "--arch", "arm64"], {
            stdio: "ignore",
        });
    let hostd: HostdProcess;
    try {
        hostd = await spawnHostd({
            endpoint: moto.endpoint,
            sshPort,
            stateDir: path.join(tmp, "local"),
            regions: [REGION],
            rootfs,
            ...(opts.arm64 ? { arm64SshPort: sshPort + 1, arm64Rootfs } : {}),
        });
    } catch (e) {
        await moto.stop();
        throw e;
    }
    const env: Record<string, string> = {
        ...motoEnv(moto.endpoint, REGION),
        PULUMI_BACKEND_URL: `file://${path.join(tmp, "state")}`,
    };
    fs.mkdirSync(path.join(tmp, "state"), { recursive: true });
    try {
        return await finishWorld();
    } catch (e) {
        await hostd.stop();
        await moto.stop();
        throw e;
    }

    async function finishWorld(): Promise<World> {
        Object.assign(process.env, motoEnv(moto.endpoint, REGION));
        const ec2 = await ec2Client(REGION, moto.endpoint);
        const w: World = {
            id,
            tmp,
            rootfs,
            moto,
            hostd,
            sshPort,
            backendDir: path.join(tmp, "state"),
            buildDir,
            agentArtifact: path.join(buildDir, "agent", "dp-agent.gz"),
            ...(opts.arm64 ? { arm64AgentArtifact: path.join(buildDir, "agent-arm64", "dp-agent.gz"), arm64Rootfs } : {}),
            agentSha256,
            standinDir: path.join(buildDir, "standin"),
            couchbaseVersion: STANDIN_VERSION,
            ec2,
            baseline: new Set(),
            stacks: new Set(),
            env,
        };
        w.baseline = await allIds(w);
        return w;
    }
}

/**
 * True when the program reads a `templateDir` config key (declared in Pulumi.yaml): then tests can
 * point a stack at an edited copy of the template instead of the repo's own files.
 */
export function programTakesTemplateDir(): boolean {
    return /^ {2}templateDir:/m.test(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));
}

/** The stack config every e2e stack starts from: the local stack's settings on this world's ports. */
export function baseConfig(w: World): Record<string, unknown> {
    return {
        environment: "local",
        // The sandbox is Debian bookworm: build on the Debian 12 entry of scripts/local/amis.json,
        // as Pulumi.local.yaml does, so names say what really ran.
        baseImageNameFilter: "debian-12-amd64-*",
        baseImageOwners: ["136693071363"],
        ec2Endpoint: w.moto.endpoint,
        emulator: true,
        sshHost: "127.0.0.1",
        sshPort: w.sshPort,
        sshUsername: "root",
        agentArtifact: w.agentArtifact,
        couchbaseVersion: w.couchbaseVersion,
        couchbasePackageSource: w.standinDir,
        versionsDir: path.join(w.buildDir, "versions"),
        sshCidrs: ["127.0.0.1/32"],
        ttlHours: 1,
        owner: "e2e",
    };
}

/** Writes Pulumi.<stack>.yaml at the project root (values as JSON, which YAML reads as is). */
export function writeStackConfig(w: World, stack: string, values: Record<string, unknown>): void {
    const lines = ["config:"];
    for (const k of Object.keys(values).sort()) lines.push(`  ${PROJECT}:${k}: ${JSON.stringify(values[k])}`);
    const file = path.join(ROOT, `Pulumi.${stack}.yaml`);
    // Keep the passphrase salt the engine wrote when the stack was created.
    const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
    const salt = /^encryptionsalt:.*$/m.exec(old)?.[0];
    fs.writeFileSync(file, `${salt ? `${salt}\n` : ""}${lines.join("\n")}\n`);
    w.stacks.add(stack);
}

export interface DriverRun {
    child: ChildProcess;
    /** Everything the driver printed so far (stdout and stderr interleaved). */
    output(): string;
    done: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/** Runs `scripts/stack.ts <op> --stack <stack> [...flags]` as a child process. */
export function driver(w: World, op: string, stack: string, flags: string[] = [], log?: string): DriverRun {
    return tsScript(w, "scripts/stack.ts", [op, "--stack", stack, ...flags], log);
}

/** Runs a project TypeScript file (`node -r ts-node/register/transpile-only <script> ...args`) in the world's environment. */
export function tsScript(w: World, script: string, args: string[], log?: string): DriverRun {
    let out = "";
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, script), ...args], {
        cwd: ROOT,
        env: { ...process.env, ...w.env },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const logFd = log ? fs.openSync(log, "a") : undefined;
    const onData = (b: Buffer) => {
        out += b.toString();
        if (logFd !== undefined) fs.appendFileSync(logFd, b.toString());
        if (process.env.E2E_VERBOSE) process.stderr.write(b.toString());
    };
    child.stdout?.on("data", (b: Buffer) => onData(b));
    child.stderr?.on("data", (b: Buffer) => onData(b));
    const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>((resolve) =>
        child.once("close", (code, signal) => {
            if (logFd !== undefined) fs.closeSync(logFd);
            resolve({ code, signal, output: out });
        }),
    );
    return { child, output: () => out, done };
}

/** Runs the driver and fails with its output when it does not exit 0. */
export async function driverOk(w: World, op: string, stack: string, flags: string[] = []): Promise<string> {
    const r = await driver(w, op, stack, flags, path.join(w.tmp, `${stack}.log`)).done;
    if (r.code !== 0) throw new Error(`stack ${op} ${stack} exited ${r.code ?? r.signal}:\n${r.output.slice(-6000)}`);
    return r.output;
}

/** The outputs JSON object the driver prints at the end of a successful `up`. */
export function upOutputs(output: string): Record<string, unknown> {
    const start = output.lastIndexOf("\n{\n");
    if (start < 0) throw new Error(`no outputs in:\n${output.slice(-2000)}`);
    const end = output.indexOf("\n}\n", start);
    return JSON.parse(output.slice(start + 1, end + 2)) as Record<string, unknown>;
}

/** Waits until `cond(output)` holds for a running driver; throws if it exits first. */
export async function waitForOutput(run: DriverRun, cond: (out: string) => boolean, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let exited = false;
    void run.done.then(() => (exited = true));
    while (!cond(run.output())) {
        if (exited) throw new Error(`driver exited before the expected output:\n${run.output().slice(-4000)}`);
        if (Date.now() > until) throw new Error(`expected output not seen after ${timeoutMs} ms:\n${run.output().slice(-4000)}`);
        await sleep(50);
    }
}

/**
 * Every id moto holds now: images, snapshots, live instances, key pairs, security groups. Lists by
 * owner on purpose: this moto belongs to the test alone, and the result is only ever diffed against
 * the baseline taken before the first build (so moto's own objects cancel out).
 */
export async function allIds(w: World): Promise<Set<string>> {
    const sdk = await import("@aws-sdk/client-ec2");
    const out = new Set<string>();
    for (const i of (await w.ec2.send(new sdk.DescribeImagesCommand({ Owners: ["self"] }))).Images ?? []) out.add(i.ImageId!);
    let token: string | undefined;
    do {
        const r = await w.ec2.send(new sdk.DescribeSnapshotsCommand({ OwnerIds: ["self"], NextToken: token }));
        for (const s of r.Snapshots ?? []) out.add(s.SnapshotId!);
        token = r.NextToken;
    } while (token);
    for (const res of (await w.ec2.send(new sdk.DescribeInstancesCommand({}))).Reservations ?? [])
        for (const i of res.Instances ?? []) if (i.State?.Name !== "terminated") out.add(i.InstanceId!);
    for (const k of (await w.ec2.send(new sdk.DescribeKeyPairsCommand({}))).KeyPairs ?? []) out.add(k.KeyName!);
    for (const g of (await w.ec2.send(new sdk.DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []) out.add(g.GroupId!);
    return out;
}

/** Objects that appeared in moto since the world started (the ids the tests created). */
export async function createdSinceStart(w: World): Promise<string[]> {
    const now = await allIds(w);
    return [...now].filter((id) => !w.baseline.has(id)).sort();
}

/** The stack's objects selected by its tags. */
export async function stackInventory(w: World, stack: string): Promise<Inventory> {
    return inventory(w.ec2, { tags: { Project: PROJECT, Stack: stack } });
}

export { inventorySize };

/** Instances hostd served so far → their sandbox upper dirs (newest last). */
export function sandboxUppers(w: World): { instanceId: string; upper: string }[] {
    const served = w.hostd.state().served;
    return Object.entries(served)
        .filter(([, slot]) => slot !== "")
        .map(([instanceId, slot]) => ({ instanceId, upper: path.join(w.hostd.stateDir, "sandbox", slot, "upper") }))
        .sort((a, b) => fs.statSync(path.dirname(a.upper)).mtimeMs - fs.statSync(path.dirname(b.upper)).mtimeMs);
}

/** The started world, for tests whose `before` started it (fails clearly when it did not). */
export function started(w: World | undefined): World {
    assert.ok(w, "the world did not start");
    return w;
}

/** Stops everything the world started and removes its files; returns what was left behind. */
export async function stopWorld(w: World | undefined): Promise<{ pids: number[]; mounts: string[] }> {
    if (!w) return { pids: [], mounts: [] };
    await w.hostd.stop();
    await w.moto.stop();
    const left = findLeftovers(w.hostd.stateDir);
    for (const s of w.stacks) fs.rmSync(path.join(ROOT, `Pulumi.${s}.yaml`), { force: true });
    fs.rmSync(path.join(ROOT, w.buildDir), { recursive: true, force: true });
    if (!process.env.E2E_KEEP) {
        removeStackBuildFiles(w.stacks);
        fs.rmSync(w.tmp, { recursive: true, force: true });
    }
    return left;
}

/**
 * Copies the image template (images/aws) to `.build/e2e-<id>/<name>` and returns that path relative
 * to the project root, for the stack's `templateDir`. `edit` may change the copy (never the repo's).
 */
export function templateCopy(w: World, name: string, edit?: (dir: string) => void): string {
    const rel = path.join(w.buildDir, name);
    const abs = path.join(ROOT, rel);
    fs.rmSync(abs, { recursive: true, force: true });
    fs.cpSync(path.join(ROOT, "images", "aws"), abs, { recursive: true });
    edit?.(abs);
    return rel;
}

/** Inserts shell lines right after a script's `set -o ...` line (or its shebang). */
export function insertIntoScript(file: string, lines: string): void {
    const text = fs.readFileSync(file, "utf8");
    const m = /^set -o[^\n]*\n/m.exec(text) ?? /^#![^\n]*\n/.exec(text);
    const at = m ? m.index + m[0].length : 0;
    fs.writeFileSync(file, text.slice(0, at) + lines + (lines.endsWith("\n") ? "" : "\n") + text.slice(at));
}

/** The change summary in the driver's "succeeded" line, e.g. {"same":4}. */
export function changeSummary(output: string): Record<string, number> {
    const m = /succeeded in [0-9.]+s (\{.*\})/.exec(output);
    if (!m) throw new Error(`no change summary in:\n${output.slice(-2000)}`);
    return JSON.parse(m[1]) as Record<string, number>;
}

/** One process as /proc shows it. */
export interface ProcInfo {
    pid: number;
    ppid: number;
    pgid: number;
    /** `comm` (at most 15 characters, e.g. `packer`, `packer-plugin-a`). */
    comm: string;
}

/** Every process /proc lists now (those that vanish while reading are skipped). */
export function listProcesses(): ProcInfo[] {
    const out: ProcInfo[] = [];
    for (const d of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${d}/stat`, "utf8");
            // pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses.
            const close = stat.lastIndexOf(")");
            const comm = stat.slice(stat.indexOf("(") + 1, close);
            const rest = stat.slice(close + 2).split(" ");
            out.push({ pid: Number(d), ppid: Number(rest[1]), pgid: Number(rest[2]), comm });
        } catch {
            // exited meanwhile
        }
    }
    return out;
}

/** `root` and all its descendants (by parent pid), root first. */
export function processTree(root: number): ProcInfo[] {
    const all = listProcesses();
    const byParent = new Map<number, ProcInfo[]>();
    for (const p of all) byParent.set(p.ppid, [...(byParent.get(p.ppid) ?? []), p]);
    const self = all.find((p) => p.pid === root);
    if (!self) return [];
    const out: ProcInfo[] = [];
    const todo = [self];
    while (todo.length) {
        const p = todo.shift()!;
        out.push(p);
        todo.push(...(byParent.get(p.pid) ?? []));
    }
    return out;
}

/**
 * SIGKILLs `root` and every descendant at once, as the OOM killer or a dead CI runner would: the
 * tree is first frozen with SIGSTOP (re-scanned until no new process appears, so nothing forks or
 * reacts to a sibling's death), then each process gets SIGKILL. Nobody gets a chance to clean up.
 * Returns the processes killed.
 */
export function hardKillTree(root: number): ProcInfo[] {
    const seen = new Map<number, ProcInfo>();
    for (let round = 0; round < 20; round++) {
        const tree = processTree(root).filter((p) => !seen.has(p.pid));
        if (tree.length === 0 && round > 0) break;
        for (const p of tree) {
            seen.set(p.pid, p);
            try {
                process.kill(p.pid, "SIGSTOP");
            } catch {
                // already gone
            }
        }
        // Descendants of a stopped process can only be processes it forked before it stopped.
        for (const p of [...seen.values()]) {
            for (const c of processTree(p.pid)) {
                if (seen.has(c.pid)) continue;
                seen.set(c.pid, c);
                try {
                    process.kill(c.pid, "SIGSTOP");
                } catch {
                    // already gone
                }
            }
        }
    }
    for (const p of seen.values()) {
        try {
            process.kill(p.pid, "SIGKILL");
        } catch {
            // already gone
        }
    }
    return [...seen.values()];
}

/**
 * The stack's checkpoint in the world's file backend (`.pulumi/stacks/<project>/<stack>.json`), or
 * undefined when the stack has none yet.
 */
export function stackCheckpoint(w: World, stack: string): Checkpoint | undefined {
    return checkpointIn(w.backendDir, PROJECT, stack);
}

/**
 * Where the aws provider plugin (`pulumi-resource-aws`) is installed, or undefined: on PATH, in
 * the plugin cache (`$PULUMI_HOME/plugins` or `~/.pulumi/plugins`), or as `pulumi plugin ls` lists it.
 */
export function awsPluginLocation(): string | undefined {
    for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
        if (!dir) continue;
        const f = path.join(dir, "pulumi-resource-aws");
        if (fs.existsSync(f)) return f;
    }
    const home = process.env.PULUMI_HOME ?? path.join(os.homedir(), ".pulumi");
    const plugins = path.join(home, "plugins");
    if (fs.existsSync(plugins)) {
        const d = fs.readdirSync(plugins).find((n) => /^resource-aws-v/.test(n) && !n.endsWith(".lock") && !n.endsWith(".partial"));
        if (d) return path.join(plugins, d);
    }
    try {
        const pulumi = path.join(ROOT, "bin", "pulumi");
        const listed = JSON.parse(
            execFileSync(fs.existsSync(pulumi) ? pulumi : "pulumi", ["plugin", "ls", "--json"], {
                encoding: "utf8",
                stdio: ["ignore", "pipe", "ignore"],
                timeout: 30_000,
            }),
        ) as { name?: string; kind?: string; version?: string; path?: string }[] | null;
        const aws = (listed ?? []).find((p) => p.name === "aws" && p.kind === "resource");
        if (aws) return aws.path ?? `aws ${aws.version ?? ""}`.trim();
    } catch {
        // no pulumi CLI, or it failed: treat as not installed
    }
    return undefined;
}

/** What {@link useWorld} gives a describe block. */
export interface WorldHooks {
    /** The started world (fails clearly when `before` did not start it). */
    world: () => World;
    /** The world, or undefined before it started or once it stopped. */
    current: () => World | undefined;
    /**
     * Registers the block's last test: stopping the emulator and the build host leaves no process
     * or mount. `first` runs before the stop (close what the block opened itself, e.g. a proxy).
     */
    itStopsCleanly: (first?: () => unknown) => void;
}

/** {@link useWorld}'s settings besides the world's own. */
export interface UseWorldOptions extends WorldOptions {
    /** Timeout of the `before` that starts the world (the first start builds the tools' inputs). */
    startTimeoutMs?: number;
    /** Timeout of the `after` that destroys the stacks and stops the world. */
    stopTimeoutMs?: number;
    /**
     * In `after`, destroy (`--remove`) every stack the block wrote config for, best effort, so
     * nothing outlives a test that failed half way; skipped with E2E_KEEP=1. Default true.
     */
    destroyStacks?: boolean;
    /** A reason to skip the whole block (printed, then every test skipped), or undefined to run it. */
    skipWhen?: () => string | undefined;
}

/**
 * The e2e world of one describe block, set up once here instead of in each file: `before` starts
 * it ({@link startWorld}), `after` destroys the stacks it wrote config for and stops it
 * ({@link stopWorld}), also when a test failed; the block's own `before` and `after` hooks run
 * after these (mocha keeps their order), so they can use `world()`. Call it inside `describe`.
 */
export function useWorld(label: string, opts: UseWorldOptions = {}): WorldHooks {
    let w: World | undefined;
    before(async function () {
        const skip = opts.skipWhen?.();
        if (skip !== undefined) {
            console.log(`      skipped: ${skip}`);
            this.skip();
        }
        this.timeout(opts.startTimeoutMs ?? 600_000);
        w = await startWorld(label, opts);
    });
    after(async function () {
        this.timeout(opts.stopTimeoutMs ?? 180_000);
        if (w && opts.destroyStacks !== false && process.env.E2E_KEEP !== "1")
            for (const s of w.stacks) await driver(w, "destroy", s, ["--remove"]).done.catch(() => undefined);
        await stopWorld(w);
        w = undefined;
    });
    return {
        world: () => started(w),
        current: () => w,
        itStopsCleanly: (first?: () => unknown): void => {
            it("stopping the emulator and the build host leaves no process or mount", async function () {
                this.timeout(60_000);
                await first?.();
                const left = await stopWorld(w);
                w = undefined;
                assert.deepEqual(left, { pids: [], mounts: [] });
            });
        },
    };
}

/**
 * `npm run janitor -- --stack S --delete` (janitor/cli.ts, as a child process) against this world's
 * moto and file backend; resolves with its output, rejects when it exits non-zero.
 */
export async function janitorCli(w: World, stack: string, flags: string[] = ["--delete"]): Promise<string> {
    const r = await tsScript(w, "janitor/cli.ts", [
        "--regions",
        REGION,
        "--endpoint",
        w.moto.endpoint,
        "--stack",
        stack,
        "--backend-url",
        `file://${w.backendDir}`,
        ...flags,
    ]).done;
    if (r.code !== 0) throw new Error(`janitor exited ${r.code ?? r.signal}:\n${r.output}`);
    return r.output;
}

/** Live instances, key pairs and security groups moto holds that were not there when the world started (images and snapshots aside). */
export async function launchLeftovers(w: World): Promise<string[]> {
    return (await createdSinceStart(w)).filter((id) => !id.startsWith("ami-") && !id.startsWith("snap-"));
}
