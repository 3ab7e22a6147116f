/**
 * SSH into what hostd serves on its port, for the hostd end-to-end tests: a key pair made in moto
 * from a fresh key, a bash script run as root through hostd's SSH port, a wait for the first login.
 * Only 127.0.0.1 is ever connected to (hostd's port).
 */
import { strict as assert } from "node:assert";
import { execFileSync, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ImportKeyPairCommand } from "@aws-sdk/client-ec2";
import { sleep, World } from "./harness";

/** Makes a key pair in moto from a fresh ed25519 key in `dir`; returns the private key file and public key. */
export async function importKey(w: World, dir: string, name: string): Promise<{ keyFile: string; publicKey: string }> {
    const keyFile = path.join(dir, `${name}.key`);
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", keyFile]);
    const publicKey = fs.readFileSync(`${keyFile}.pub`, "utf8").trim();
    await w.ec2.send(new ImportKeyPairCommand({ KeyName: name, PublicKeyMaterial: new TextEncoder().encode(publicKey) }));
    return { keyFile, publicKey };
}

/** Runs `cmd args` (stdin `input`), SIGKILLed after `timeoutMs`; resolves with its exit code and output. */
export function run(
    cmd: string,
    args: string[],
    opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): Promise<{ code: number | null; out: string }> {
    return new Promise((resolve) => {
        const c = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ["pipe", "pipe", "pipe"] });
        // A command that exits before reading all of its input (ssh refused) must not fail the test.
        c.stdin.on("error", () => undefined);
        c.stdin.end(opts.input ?? "");
        let out = "";
        c.stdout.on("data", (b: Buffer) => (out += b.toString()));
        c.stderr.on("data", (b: Buffer) => (out += b.toString()));
        const t = setTimeout(() => c.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
        c.once("close", (code) => {
            clearTimeout(t);
            resolve({ code, out });
        });
    });
}

/** Runs `script` with bash as root through hostd's SSH port (`port`, default the amd64 lane's) with `keyFile`. */
export function sshRun(
    w: World,
    keyFile: string,
    script: string,
    timeoutMs = 90_000,
    port = w.sshPort,
): Promise<{ code: number | null; out: string }> {
    return run(
        "ssh",
        [
            ...["-i", keyFile, "-p", String(port)],
            ...[
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "LogLevel=ERROR",
                "-o",
                "ConnectTimeout=80",
            ],
            "root@127.0.0.1",
            "bash",
            "-s",
        ],
        { timeoutMs, input: `${script}\n` },
    );
}

/** Waits until SSH with `keyFile` logs in; returns how long it took from `t0`. */
export async function waitForSsh(w: World, keyFile: string, t0: number, limitMs = 120_000): Promise<number> {
    for (;;) {
        const s = await sshRun(w, keyFile, "true");
        if (s.code === 0) return Date.now() - t0;
        if (Date.now() - t0 > limitMs)
            assert.fail(
                `no SSH through hostd's port after ${limitMs} ms: ${s.out}\n${fs.readFileSync(path.join(w.hostd.stateDir, "hostd.log"), "utf8").slice(-3000)}`,
            );
        await sleep(200);
    }
}

/** Pids whose network namespace is `ns` (`net:[inode]`, as /proc/<pid>/ns/net reads). */
export function inNetns(ns: string): number[] {
    return fs.readdirSync("/proc").flatMap((e) => {
        try {
            return /^\d+$/.test(e) && fs.readlinkSync(`/proc/${e}/ns/net`) === ns ? [Number(e)] : [];
        } catch {
            return [];
        }
    });
}
