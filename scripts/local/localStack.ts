/**
 * The local stack on this machine, shared by `npm run local` (up.ts) and `npm run local:destroy`
 * (destroy.ts): which stack, the few settings of it they need, and its emulator (moto) and sandbox
 * build host (hostd) as background processes that outlive one run, with their files in `.local/`:
 *
 *   .local/moto.pid, moto.log         moto's EC2 server on the port of the stack's ec2Endpoint
 *   .local/hostd.pid, hostd.json, hostd.log, hostkeys/, sandbox/   hostd (scripts/local/hostd.ts)
 *   .local/outputs-<stack>.json       the outputs of the last `npm run local`
 *
 * The building blocks are the ones the end-to-end tests' world uses (test/e2e/harness.ts): moto.ts,
 * hostd.ts, processes.ts, inputs.ts, the stack driver (scripts/stack.ts) and the local backend
 * (scripts/localStacks.ts); only their long-lived use lives here.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULTS } from "../../pipeline/config";
import { ec2Client } from "../../providers/ec2/client";
import { inventory, type Inventory } from "../../providers/ec2/inventory";
import { PROJECT } from "../../providers/ec2/tags";
import { isLocalStack, recordsResources, stackCheckpoint } from "../localStacks";
import { stackConfigValues, stackEnv } from "../stack";
import { emulatorSshPort } from "../../pipeline/architectures";
import { readHostdState, runningHostd, spawnHostd, stopHostd, type HostdState } from "./hostd";
import { removeBootCgroups } from "./boot";
import { BASE_IMAGES_FILE, endpointPort, motoEnv, portOpen, startMoto } from "./moto";
import { findLeftovers, killAll, pidFromFile, sleep, stopProcess } from "./processes";

export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
/** Where the local emulator's processes keep their files. */
export const LOCAL_DIR = path.join(PROJECT_ROOT, ".local");
const MOTO_PID = path.join(LOCAL_DIR, "moto.pid");

/** A failure with a message for the user; the entries print `local: error: <message>` and exit 1. */
export class LocalError extends Error {}

export function log(msg: string): void {
    process.stderr.write(`local: ${msg}\n`);
}

/** `$LOCAL_STACK` (default `local`); it must name a local stack. */
export function localStackName(env: NodeJS.ProcessEnv = process.env): string {
    const stack = env.LOCAL_STACK || "local";
    if (!isLocalStack(stack)) throw new LocalError(`LOCAL_STACK must be local or local-<name>, got '${stack}'`);
    return stack;
}

/** What `npm run local` and `local:destroy` need of the stack's config. */
export interface LocalSettings {
    /** moto's endpoint, `http://127.0.0.1:<port>` (`ec2Endpoint`). */
    endpoint: string;
    motoPort: number;
    /** The sandbox sshd's port (`sshPort`); 0 when the stack sets none. */
    sshPort: number;
    /** `buildRegion`. */
    region: string;
    /** The stand-in package's version: `couchbaseVersion` without a `-build` suffix. */
    couchbaseVersion: string;
    couchbaseEdition: string;
    /** `architectures` (default amd64 alone): hostd gets a lane for each, arm64's on sshPort + 1. */
    architectures: string[];
}

/**
 * The settings from the stack's config values (`<project>:<key>` or bare `key` → value, as
 * `stackConfigValues` reads them); an absent or empty key takes the program's default
 * (pipeline/config.ts DEFAULTS, which mirror Pulumi.yaml). Pure; throws a LocalError without an
 * `ec2Endpoint` (nothing tells where the emulator belongs).
 */
export function localSettings(stack: string, values: Readonly<Record<string, unknown>>, project = PROJECT): LocalSettings {
    const get = (key: keyof typeof DEFAULTS): string => {
        const v = scalarText(values[`${project}:${key}`] ?? values[key]).trim();
        return v === "" ? scalarText(DEFAULTS[key]) : v;
    };
    const endpoint = get("ec2Endpoint");
    if (!endpoint)
        throw new LocalError(`Pulumi.${stack}.yaml sets no ${project}:ec2Endpoint (the local emulator's, e.g. http://127.0.0.1:5000)`);
    let motoPort: number;
    try {
        motoPort = endpointPort(endpoint);
    } catch {
        throw new LocalError(`${project}:ec2Endpoint "${endpoint}" is not a URL like http://127.0.0.1:5000`);
    }
    const sshPort = Number(get("sshPort"));
    let arches: unknown = values[`${project}:architectures`] ?? values.architectures;
    if (typeof arches === "string") {
        try {
            arches = arches.trim() === "" ? undefined : JSON.parse(arches);
        } catch {
            arches = [arches];
        }
    }
    const architectures = Array.isArray(arches) && arches.length > 0 ? arches.map(String) : ["amd64"];
    return {
        architectures,
        endpoint,
        motoPort,
        sshPort: Number.isInteger(sshPort) && sshPort > 0 && sshPort < 65536 ? sshPort : 0,
        region: get("buildRegion"),
        couchbaseVersion: get("couchbaseVersion").replace(/-.*$/, ""),
        couchbaseEdition: get("couchbaseEdition"),
    };
}

/** The settings of the stack's config (`Pulumi.<stack>.yaml`, seeded from Pulumi.local.yaml). */
export async function readLocalSettings(stack: string): Promise<LocalSettings> {
    return localSettings(stack, await stackConfigValues(stack));
}

/**
 * Whether the stack's state records anything (resources or a pending operation). Read from the
 * local file backend's checkpoint; a stack on another backend (PULUMI_BACKEND_URL) counts as
 * recording something, since it cannot be read here.
 */
export function stackRecordsResources(stack: string): boolean {
    const url = stackEnv(stack).PULUMI_BACKEND_URL ?? "";
    if (!url.startsWith("file://")) return true;
    return recordsResources(stackCheckpoint(url.slice("file://".length), PROJECT, stack));
}

/** A config value or output as text: strings, numbers and booleans as they print; anything else (absent, an object) "". */
function scalarText(v: unknown): string {
    return typeof v === "string" || typeof v === "number" || typeof v === "boolean" ? String(v) : "";
}

/** The image id (in `region`) and versions file an `up`'s outputs name; the versions file is `versions/<stack>.json` when they name none. */
export function summaryOf(outputs: Record<string, unknown>, region: string, stack: string): { imageId: string; versionsFile: string } {
    const amiIds = (outputs.amiIds ?? {}) as Record<string, unknown>;
    const imageId = scalarText(amiIds[region]);
    const versionsFile = typeof outputs.versionsFile === "string" && outputs.versionsFile ? outputs.versionsFile : `versions/${stack}.json`;
    return { imageId, versionsFile };
}

/** The boot test output as one line: `passed (N checks, M skipped) at T`, or `off (bootTest: false)`. */
export function bootTestLine(outputs: Record<string, unknown>): string {
    const b = outputs.bootTest as { enabled?: boolean; passed?: boolean; at?: string; checks?: { status?: string }[] } | undefined;
    if (!b) return "(none recorded)";
    if (b.enabled === false) return "off (bootTest: false in the stack's config)";
    const checks = b.checks ?? [];
    const skipped = checks.filter((c) => c.status === "skipped").length;
    return `${b.passed ? "passed" : "NOT passed"} (${checks.length - skipped} checks passed${skipped ? `, ${skipped} skipped` : ""}) at ${b.at ?? "?"}`;
}

/**
 * One summary line per architecture the outputs name (`amiIdsByArch`, `imagesByArch`):
 * `amd64: ami-... boot test passed (...)`; empty when the outputs have no per-architecture entries.
 */
export function architectureLines(outputs: Record<string, unknown>, region: string): string[] {
    const ids = (outputs.amiIdsByArch ?? {}) as Record<string, Record<string, unknown> | undefined>;
    const images = (outputs.imagesByArch ?? {}) as Record<string, { bootTest?: unknown } | undefined>;
    return Object.keys(ids)
        .sort()
        .map(
            (arch) =>
                `${arch}: ${scalarText(ids[arch]?.[region]) || "(no image)"}, boot test ${bootTestLine({ bootTest: images[arch]?.bootTest })}`,
        );
}

/** Logs how a background process went: `stopped NAME (pid N)`, or `killed ... after 10 s`. */
function logStop(name: string, pid: number, how: "gone" | "stopped" | "killed"): void {
    if (how === "stopped") log(`stopped ${name} (pid ${pid})`);
    if (how === "killed") log(`killed ${name} (pid ${pid}) after 10 s`);
}

/**
 * The pid of our moto (`.local/moto.pid`) when it answers on the settings' port. One of ours that
 * runs on another port (the config changed) is stopped.
 */
async function runningMoto(s: LocalSettings): Promise<number | undefined> {
    const pid = pidFromFile(MOTO_PID);
    if (pid === undefined) return undefined;
    if (await portOpen(s.motoPort)) return pid;
    logStop("moto (other settings)", pid, await stopProcess(pid, 10_000));
    return undefined;
}

/**
 * Starts moto in the background on the settings' endpoint with the base images of
 * scripts/local/amis.json (pid in `.local/moto.pid`, output in `.local/moto.log`); resolves once it
 * answers. Refuses a port that something else holds.
 */
async function startLocalMoto(s: LocalSettings): Promise<number> {
    if (await portOpen(s.motoPort))
        throw new LocalError(
            `127.0.0.1:${s.motoPort} is taken by something that is not our moto (.local/moto.pid); stop it or change ec2Endpoint`,
        );
    fs.mkdirSync(LOCAL_DIR, { recursive: true });
    const moto = await startMoto({
        port: s.motoPort,
        amisPath: BASE_IMAGES_FILE,
        logFile: path.join(LOCAL_DIR, "moto.log"),
        detached: true,
    });
    fs.writeFileSync(MOTO_PID, `${moto.pid}\n`);
    return moto.pid;
}

/**
 * Our moto for these settings, running: the one `.local/moto.pid` names, or a new one (after
 * logging `onStart`). Points this process's environment (the stack driver, the providers, Packer) at
 * it. `fresh`: it was started now, with nothing in it.
 */
export async function ensureMoto(s: LocalSettings, onStart: string): Promise<{ pid: number; fresh: boolean }> {
    let pid = await runningMoto(s);
    const fresh = pid === undefined;
    if (pid === undefined) {
        log(onStart);
        pid = await startLocalMoto(s);
    }
    Object.assign(process.env, motoEnv(s.endpoint, s.region));
    return { pid, fresh };
}

/** hostd's state when it serves exactly these settings and is ready. */
function hostdServes(state: HostdState | undefined, s: LocalSettings): boolean {
    const lanes = (state?.lanes ?? []).map((l) => `${l.arch}:${l.sshPort}`).join(",");
    return (
        !!state &&
        state.ready &&
        state.endpoint === s.endpoint &&
        state.sshPort === s.sshPort &&
        state.regions.join(",") === s.region &&
        lanes === hostdLanes(s).join(",")
    );
}

/** The lanes hostd runs for these settings, `arch:port`: amd64 on sshPort, arm64 (when built) on sshPort + 1. */
export function hostdLanes(s: LocalSettings): string[] {
    const out = [`amd64:${s.sshPort}`];
    if (s.architectures.includes("arm64")) out.push(`arm64:${emulatorSshPort(s.sshPort, "arm64")}`);
    return out;
}

/**
 * Makes sure hostd runs in the background for these settings: reuses the one `.local/hostd.pid`
 * names when it serves them, else stops it and starts a new one (resolves once its standby sandbox
 * listens). Returns its pid.
 */
export async function ensureHostd(s: LocalSettings, rootfs: string, arm64Rootfs?: string): Promise<number> {
    const shown = hostdLanes(s)
        .map((l) => `${l.split(":")[0]} sandbox sshd on 127.0.0.1:${l.split(":")[1]}`)
        .join(", ");
    const pid = runningHostd(LOCAL_DIR);
    if (pid !== undefined) {
        let state: HostdState | undefined;
        try {
            state = readHostdState(LOCAL_DIR);
        } catch {
            state = undefined;
        }
        if (hostdServes(state, s)) {
            log(`hostd: reusing pid ${pid} (${shown})`);
            return pid;
        }
        logStop("hostd (other settings)", pid, await stopHostd(LOCAL_DIR, pid));
    }
    log(`hostd: starting (${shown})`);
    const arm64 = s.architectures.includes("arm64") ? { arm64SshPort: emulatorSshPort(s.sshPort, "arm64"), arm64Rootfs } : {};
    const hostd = await spawnHostd({
        endpoint: s.endpoint,
        sshPort: s.sshPort,
        stateDir: LOCAL_DIR,
        regions: [s.region],
        rootfs,
        detached: true,
        ...arm64,
    });
    return hostd.pid;
}

/** The stack's objects left in moto (by its Project and Stack tags), in the build region. */
export async function stackLeftInMoto(s: LocalSettings, stack: string): Promise<Inventory> {
    return inventory(await ec2Client(s.region, s.endpoint), { tags: { Project: PROJECT, Stack: stack } });
}

/** One line per kind of object an inventory holds, e.g. `1 image (ami-1234)`. */
export function describeInventory(inv: Inventory): string {
    const kinds: [string, { id: string; name?: string }[]][] = [
        ["image", inv.images],
        ["snapshot", inv.snapshots],
        ["instance", inv.instances],
        ["key pair", inv.keyPairs],
        ["security group", inv.securityGroups],
    ];
    return kinds
        .filter(([, list]) => list.length > 0)
        .map(([kind, list]) => `${list.length} ${kind}${list.length > 1 ? "s" : ""} (${list.map((o) => o.name || o.id).join(", ")})`)
        .join(", ");
}

/**
 * Stops hostd (and its sandbox or booted instance), kills any process a sandbox left, stops moto,
 * then checks that no sandbox process, no mount under `.local/` and no booted instance's cgroup is
 * left. Returns false (after logging each) when something is.
 */
export async function stopLocal(): Promise<boolean> {
    const sandboxDir = path.join(LOCAL_DIR, "sandbox");
    const hostd = runningHostd(LOCAL_DIR);
    if (hostd !== undefined) logStop("hostd", hostd, await stopHostd(LOCAL_DIR, hostd));
    fs.rmSync(path.join(LOCAL_DIR, "hostd.pid"), { force: true });
    for (const pid of findLeftovers(sandboxDir).pids) {
        log(`killing leftover sandbox process ${pid}`);
        killAll([pid]);
    }
    const moto = pidFromFile(MOTO_PID);
    if (moto !== undefined) logStop("moto", moto, await stopProcess(moto, 10_000));
    fs.rmSync(MOTO_PID, { force: true });

    await sleep(200);
    let ok = true;
    const pids = findLeftovers(sandboxDir).pids;
    const mounts = findLeftovers(LOCAL_DIR).mounts;
    if (pids.length > 0) {
        log(`error: sandbox processes still running: ${pids.join(" ")}`);
        ok = false;
    }
    if (mounts.length > 0) {
        log(`error: mounts left under .local: ${mounts.join("\n")}`);
        ok = false;
    }
    // A booted instance's cgroup outlives a hostd that died hard; empty once its processes are gone.
    const cgroups = await removeBootCgroups(sandboxDir);
    if (cgroups.length > 0) {
        log(`error: cgroups of booted instances left: ${cgroups.join(" ")}`);
        ok = false;
    }
    return ok;
}

/**
 * Runs an entry's main: a LocalError (or any other error) is printed as `local: error: <message>`
 * and exits 1; otherwise exits with the code main returns.
 */
export function runEntry(main: () => Promise<number>): void {
    main().then(
        (code) => process.exit(code),
        (e: unknown) => {
            process.stderr.write(`local: error: ${(e as Error).message ?? String(e)}\n`);
            process.exit(1);
        },
    );
}
