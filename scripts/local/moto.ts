/**
 * Starts and stops moto's EC2 server (the local stand-in for AWS) on loopback.
 *
 * Used by `npm run local`, the integration and end-to-end tests and the benchmarks. One server
 * serves every region (moto takes the region from each request's SigV4 scope).
 */
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

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

/** Environment that points AWS SDKs and Packer at a moto endpoint. */
export function motoEnv(endpoint: string): Record<string, string> {
    return {
        AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
        AWS_ENDPOINT_URL_EC2: endpoint,
        AWS_EC2_METADATA_DISABLED: "true",
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
    const child = spawn(opts.executable ?? "moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
        env,
        stdio: ["ignore", out, out],
    });
    if (typeof out === "number") fs.closeSync(out);
    const spawnError = new Promise<never>((_, reject) =>
        child.once("error", (e) => reject(new Error(`cannot start moto_server (run npm run bootstrap): ${e.message}`))),
    );
    const killOnExit = () => child.kill("SIGKILL");
    process.once("exit", killOnExit);
    try {
        await Promise.race([waitReady(endpoint, child, 30_000), spawnError]);
    } catch (e) {
        child.kill("SIGKILL");
        throw e;
    }
    return {
        endpoint,
        port,
        pid: child.pid!,
        env: motoEnv(endpoint),
        stop: () =>
            new Promise<void>((resolve) => {
                process.removeListener("exit", killOnExit);
                if (child.exitCode !== null || child.signalCode !== null) return resolve();
                const t = setTimeout(() => child.kill("SIGKILL"), 5000);
                child.once("exit", () => {
                    clearTimeout(t);
                    resolve();
                });
                child.kill("SIGTERM");
            }),
    };
}
