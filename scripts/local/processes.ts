/**
 * The local machinery's processes as /proc shows them: is a pid alive, stop one, kill several, and
 * what sandboxes left behind. Used by `npm run local` / `local:destroy` (scripts/local/up.ts,
 * destroy.ts), hostd, moto's handle and the end-to-end tests. Linux only; reads /proc, no shell.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cgroupPrefix } from "./boot-plan";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** True while `pid` exists and is not a zombie (a child that exited but was not reaped yet). */
export function isAlive(pid: number): boolean {
    if (!Number.isInteger(pid) || pid <= 0) return false;
    try {
        return !/^\S+ \(.*\) Z /s.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

/** The pid a pid file names while that process still runs; undefined otherwise. */
export function pidFromFile(file: string): number | undefined {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        return undefined;
    }
    const pid = Number(text.replace(/[^0-9]/g, ""));
    return isAlive(pid) ? pid : undefined;
}

/** SIGKILLs each of `pids` that is set; one already gone is no error. */
export function killAll(pids: readonly (number | undefined)[]): void {
    for (const pid of pids) {
        if (!pid) continue;
        try {
            process.kill(pid, "SIGKILL");
        } catch {
            /* already gone */
        }
    }
}

/**
 * SIGTERM, then SIGKILL when `pid` still runs after `graceMs`; resolves once it is gone.
 * `"gone"`: it was not running; `"stopped"`: it exited on SIGTERM; `"killed"`: it needed SIGKILL.
 */
export async function stopProcess(pid: number, graceMs: number): Promise<"gone" | "stopped" | "killed"> {
    if (!isAlive(pid)) return "gone";
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return "gone";
    }
    const until = Date.now() + graceMs;
    while (Date.now() < until) {
        if (!isAlive(pid)) return "stopped";
        await sleep(50);
    }
    killAll([pid]);
    for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(50);
    return "killed";
}

/** The direct children of `pid` (its main thread's), from /proc. */
export function childrenOf(pid: number): number[] {
    try {
        return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(/\s+/).filter(Boolean).map(Number);
    } catch {
        return [];
    }
}

/**
 * Processes and mounts that belong to sandboxes under `stateDir` and are still alive: empty after
 * a clean stop. A process belongs when its root is inside `stateDir` (a sandbox's chroot), its
 * command line names a path inside it (unshare, sandbox-init.sh, boot-init.sh, systemd-nspawn,
 * hostd and its helpers), or it runs in the cgroup of a booted instance of `stateDir`'s sandboxes
 * (every process of a booted container: their root is the container's own); this process never counts.
 */
export function findLeftovers(stateDir: string): { pids: number[]; mounts: string[] } {
    const dir = path.resolve(stateDir);
    const inside = (p: string) => p === dir || p.startsWith(`${dir}/`);
    // Booted instances' cgroups: named after hostd's sandbox folder (`stateDir` or `stateDir/sandbox`).
    const cgroups = [cgroupPrefix(dir), cgroupPrefix(path.join(dir, "sandbox"))].map((p) => `/${p}`);
    const pids: number[] = [];
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
        try {
            const root = fs.readlinkSync(`/proc/${e}/root`);
            const args = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
            const cg = fs.readFileSync(`/proc/${e}/cgroup`, "utf8");
            const mine = inside(root) || args.some((a) => inside(a) || a.includes(`${dir}/`)) || cgroups.some((c) => cg.includes(c));
            if (mine && isAlive(Number(e))) pids.push(Number(e));
        } catch {
            /* gone or not ours to read */
        }
    }
    const mounts = fs
        .readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .filter((l) => l.split(" ").some(inside));
    return { pids, mounts };
}
