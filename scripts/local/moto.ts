/**
 * Starts and stops moto's EC2 server (the local stand-in for AWS) on loopback.
 *
 * Used by `npm run local` (scripts/local/localStack.ts), the integration and end-to-end tests and
 * the benchmarks. One server serves every region (moto takes the region from each request's SigV4
 * scope).
 */
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { stopProcess } from "./processes";

/** The base images every local moto starts with (moto's `MOTO_AMIS_PATH`). */
export const BASE_IMAGES_FILE = path.join(__dirname, "amis.json");

/**
 * moto_server with EC2's root device type on the images CreateImage and CopyImage make ("ebs",
 * where moto says "standard"), so Packer's amazon-ebs accepts a built image as a source (the boot
 * test): scripts/local/moto-server.py, run by the Python of moto's virtual environment.
 */
export const MOTO_SERVER_SHIM = path.join(__dirname, "moto-server.py");

/**
 * How to start moto: the shim under the Python next to `moto_server` on PATH (moto's virtual
 * environment), else `moto_server` itself. Pure apart from reading PATH's folders.
 */
export function motoCommand(pathEnv: string | undefined, exists: (f: string) => boolean = fs.existsSync): { file: string; args: string[] } {
    for (const dir of (pathEnv ?? "").split(path.delimiter)) {
        if (!dir) continue;
        const exe = path.join(dir, "moto_server");
        if (!exists(exe)) continue;
        let real = exe;
        try {
            real = fs.realpathSync(exe);
        } catch {
            /* a dangling link: let spawn say so */
        }
        const python = path.join(path.dirname(real), "python3");
        return exists(python) ? { file: python, args: [MOTO_SERVER_SHIM] } : { file: "moto_server", args: [] };
    }
    return { file: "moto_server", args: [] };
}

/** Static credentials moto accepts; never real ones. */
export const MOTO_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" } as const;

export interface MotoServer {
    /** `http://127.0.0.1:<port>` */
    readonly endpoint: string;
    readonly port: number;
    readonly pid: number;
    /** Environment for child processes (AWS SDKs, Packer) that should talk to this server. */
    readonly env: Record<string, string>;
    stop(): Promise<void>;
}

export interface MotoOptions {
    /** Port to listen on; a free one when omitted. */
    port?: number;
    /** A JSON file of extra base images (moto's `MOTO_AMIS_PATH`). */
    amisPath?: string;
    /** Where moto's own output goes; discarded when omitted. */
    logFile?: string;
    /** The moto_server executable; `moto_server` on PATH when omitted. */
    executable?: string;
    /**
     * Keep it running after this process exits (its own session, as `setsid` would; not killed on
     * exit). Stop it by its pid (processes.ts `stopProcess`) or with `stop()`.
     */
    detached?: boolean;
}

/** Returns a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const addr = srv.address();
            srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
        });
    });
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port });
        s.once("connect", () => {
            s.destroy();
            resolve(true);
        });
        s.once("error", () => resolve(false));
    });
}

/** The port of an `http://host:port` endpoint (80 when it names none). */
export function endpointPort(endpoint: string): number {
    const u = new URL(endpoint);
    return u.port ? Number(u.port) : 80;
}

/**
 * Environment that points AWS SDKs and Packer at a moto endpoint; with `region`, also the region
 * they work in (`AWS_REGION`).
 */
export function motoEnv(endpoint: string, region?: string): Record<string, string> {
    return {
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_EC2: endpoint,
        AWS_EC2_METADATA_DISABLED: "true",
        ...(region ? { AWS_REGION: region } : {}),
    };
}

async function waitReady(endpoint: string, child: ChildProcess, deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    let last = "";
    while (Date.now() < until) {
        if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode} before it was ready`);
        try {
            const res = await fetch(`${endpoint}/moto-api/`);
            if (res.ok || res.status < 500) return;
            last = `HTTP ${res.status}`;
        } catch (e) {
            last = (e as Error).message;
        }
        await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`moto_server at ${endpoint} not ready after ${deadlineMs} ms (${last})`);
}

/** Starts moto_server on 127.0.0.1 and resolves once it answers HTTP. */
export async function startMoto(opts: MotoOptions = {}): Promise<MotoServer> {
    const port = opts.port ?? (await freePort());
    const endpoint = `http://127.0.0.1:${port}`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    if (opts.amisPath) env.MOTO_AMIS_PATH = path.resolve(opts.amisPath);
    let out: number | "ignore" = "ignore";
    if (opts.logFile) {
        fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
        out = fs.openSync(opts.logFile, "a");
    }
    const cmd = opts.executable ? { file: opts.executable, args: [] } : motoCommand(env.PATH);
    const child = spawn(cmd.file, [...cmd.args, "-H", "127.0.0.1", "-p", String(port)], {
        env,
        stdio: ["ignore", out, out],
        detached: opts.detached ?? false,
    });
    if (typeof out === "number") fs.closeSync(out);
    const spawnError = new Promise<never>((_, reject) =>
        child.once("error", (e) => reject(new Error(`cannot start moto_server (run npm run bootstrap): ${e.message}`))),
    );
    const killOnExit = () => child.kill("SIGKILL");
    if (!opts.detached) process.once("exit", killOnExit);
    try {
        await Promise.race([waitReady(endpoint, child, 30_000), spawnError]);
    } catch (e) {
        child.kill("SIGKILL");
        throw e;
    }
    if (opts.detached) child.unref();
    return {
        endpoint,
        port,
        pid: child.pid!,
        env: motoEnv(endpoint),
        stop: async () => {
            process.removeListener("exit", killOnExit);
            await stopProcess(child.pid!, 5000);
        },
    };
}
