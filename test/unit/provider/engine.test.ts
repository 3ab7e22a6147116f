/**
 * Engine-death detection (providers/packer/engine.ts) and what the runner and the image provider do
 * with it. Pure parts by table; the watch against real processes and a real TCP listener standing
 * in for the engine's gRPC server; runPacker and create() against the fake `packer` and a mocked
 * EC2 client. Proof limit: the real engine, shell wrapper and Packer are the e2e kill test's
 * (test/e2e/kill.test.ts).
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as cp from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import { mockClient } from "aws-sdk-client-mock";
import {
    CreateTagsCommand,
    DeleteSnapshotCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    EC2Client,
    type DescribeImagesCommandInput,
} from "@aws-sdk/client-ec2";
import {
    ancestorGone,
    engineAddressFromArgv,
    findAncestor,
    parseProcStat,
    watchEngine,
    type EngineWatchdog,
    type ProcStat,
} from "../../../providers/packer/engine";
import { runPacker } from "../../../providers/packer/run";
import { madeImageIds } from "../../../providers/packer/build";
import { PackerImageProvider } from "../../../providers/packer/provider";
import { captureConsole, FAKE_PACKER, inputs, makeProject, waitFor, type Project } from "./harness";

const HOST = "/x/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js";

describe("engine.ts: pure parts", () => {
    it("parseProcStat reads pid, comm (with spaces and parentheses), state, ppid, start time", () => {
        // Fields 5… hold their own field number, so field 22 (start time) reads "22".
        const rest = Array.from({ length: 30 }, (_, i) => String(i + 5)).join(" ");
        const cases: [string, Partial<ProcStat> | undefined][] = [
            [`42 (pulumi) S 7 ${rest}`, { pid: 42, comm: "pulumi", state: "S", ppid: 7, startTime: "22" }],
            [`43 (a b) (c)) Z 1 ${rest}`, { pid: 43, comm: "a b) (c)", state: "Z", ppid: 1, startTime: "22" }],
            ["44 (short) S 1 2 3", undefined],
            ["garbage", undefined],
        ];
        for (const [text, want] of cases) {
            const got = parseProcStat(text);
            if (want === undefined) assert.equal(got, undefined, text);
            else assert.deepEqual(got, want, text);
        }
    });

    it("engineAddressFromArgv: the host's last argument, only in the dynamic-provider host", () => {
        const cases: [string | undefined, string[], string | undefined][] = [
            [HOST, ["node", HOST, "127.0.0.1:40123"], "127.0.0.1:40123"],
            // Log flags and tracing come first (buildPluginArguments), the address last.
            [HOST, ["node", HOST, "--logtostderr", "-v=9", "--tracing", "127.0.0.1:1", "127.0.0.1:40124"], "127.0.0.1:40124"],
            [HOST, ["node", HOST, "localhost:5"], "localhost:5"],
            [HOST, ["node", HOST], undefined],
            [HOST, ["node", HOST, "-v=9"], undefined],
            ["/x/mocha/bin/mocha.js", ["node", "/x/mocha/bin/mocha.js", "127.0.0.1:40123"], undefined],
            [undefined, ["node"], undefined],
        ];
        for (const [main, argv, want] of cases) assert.equal(engineAddressFromArgv(main, argv), want, argv.join(" "));
    });

    it("findAncestor walks parent pids to the nearest pulumi, through a shell wrapper", () => {
        const table = new Map<number, ProcStat>([
            [100, { pid: 100, comm: "node", state: "S", ppid: 90, startTime: "5" }],
            [90, { pid: 90, comm: "sh", state: "S", ppid: 80, startTime: "4" }],
            [80, { pid: 80, comm: "pulumi", state: "S", ppid: 70, startTime: "3" }],
            [70, { pid: 70, comm: "pulumi", state: "S", ppid: 1, startTime: "2" }],
            [200, { pid: 200, comm: "node", state: "S", ppid: 1, startTime: "9" }],
        ]);
        const stat = (pid: number) => table.get(pid);
        assert.equal(findAncestor(100, stat)?.pid, 80);
        assert.equal(findAncestor(200, stat), undefined, "reparented to init: no engine");
        assert.equal(findAncestor(999, stat), undefined);
        assert.equal(findAncestor(100, stat, "pulumi", 1), undefined, "depth limit");
    });

    it("ancestorGone: exited, pid reused, zombie; alive otherwise", () => {
        const a = { pid: 80, startTime: "3" };
        const s = (over: Partial<ProcStat>): ProcStat => ({ pid: 80, comm: "pulumi", state: "S", ppid: 1, startTime: "3", ...over });
        assert.equal(ancestorGone(a, s({})), undefined);
        assert.equal(ancestorGone(a, s({ state: "R" })), undefined);
        assert.match(ancestorGone(a, undefined) ?? "", /exited$/);
        assert.match(ancestorGone(a, s({ startTime: "4" })) ?? "", /pid reused/);
        assert.match(ancestorGone(a, s({ state: "Z" })) ?? "", /zombie/);
    });

    it("madeImageIds: the images Packer says it made, never the base image or a provisioner's output", () => {
        const cases: [string, string[]][] = [
            ["1796123075,,ui,say,==> couchbase-cloud.amazon-ebs.couchbase: AMI: ami-892882f8835261150", ["ami-892882f8835261150"]],
            [
                "1796123075,,ui,say,==> couchbase-cloud.amazon-ebs.couchbase: Modifying attributes on AMI (ami-443c72118b32d2df1)...",
                ["ami-443c72118b32d2df1"],
            ],
            [
                "1796123075,,ui,say,==> couchbase-cloud.amazon-ebs.couchbase: Adding tags to AMI (ami-443c72118b32d2df1)...",
                ["ami-443c72118b32d2df1"],
            ],
            ["1796123075,,ui,say,==> couchbase-cloud.amazon-ebs.couchbase: Found Image ID: ami-0c0ffee0000012042", []],
            ["1796123075,,ui,message,    couchbase-cloud.amazon-ebs.couchbase: AMI: ami-892882f8835261150", []],
            [
                "1796123075,,ui,say,==> couchbase-cloud.amazon-ebs.couchbase: Copying/Encrypting AMI (ami-892882f8835261150) to other regions...",
                [],
            ],
        ];
        for (const [line, want] of cases) assert.deepEqual(madeImageIds(line), want, line);
    });
});

/** A TCP listener standing in for the engine's gRPC server. */
async function fakeEngine(): Promise<{ address: string; close(): Promise<void> }> {
    const srv = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const port = (srv.address() as net.AddressInfo).port;
    return { address: `127.0.0.1:${port}`, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

function statOf(pid: number): ProcStat {
    const s = parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
    assert.ok(s);
    return s;
}

describe("engine.ts: the watch", function () {
    this.timeout(30_000);
    let w: EngineWatchdog | undefined;
    afterEach(() => w?.stop());

    it("by address: gone after the listener closes (two refusals), not while it listens", async () => {
        const e = await fakeEngine();
        const logs: string[] = [];
        w = watchEngine({ address: e.address, pollMs: 100, exit: false, log: (m) => logs.push(m) });
        assert.ok(w);
        assert.equal(await w.check(), undefined);
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(w.gone, undefined);
        const seen: string[] = [];
        w.onGone((r) => seen.push(r));
        const t0 = Date.now();
        await e.close();
        await waitFor(() => w!.gone !== undefined, 5000);
        assert.ok(Date.now() - t0 < 2000, `noticed after ${Date.now() - t0} ms`);
        assert.match(w.gone!, /refuses connections/);
        assert.deepEqual(seen, [w.gone]);
        assert.ok(logs.some((l) => /interrupting/.test(l)));
        // A late subscriber hears it at once.
        const late: string[] = [];
        w.onGone((r) => late.push(r));
        await waitFor(() => late.length === 1, 1000);
    });

    it("by ancestor: gone when that process exits, with its start time guarding against pid reuse", async () => {
        const child = spawn("sleep", ["30"], { stdio: "ignore" });
        await waitFor(() => fs.existsSync(`/proc/${child.pid}/stat`));
        const s = statOf(child.pid!);
        w = watchEngine({ ancestor: { pid: s.pid, startTime: s.startTime }, pollMs: 100, exit: false, log: () => undefined });
        assert.equal(await w!.check(), undefined);
        child.kill("SIGKILL");
        await new Promise((r) => child.once("exit", r));
        await waitFor(() => w!.gone !== undefined, 3000);
        assert.match(w!.gone!, /exited/);
        const other = watchEngine({ ancestor: { pid: process.pid, startTime: "1" }, pollMs: 100, exit: false, log: () => undefined });
        w = other;
        assert.match((await other!.check()) ?? "", /pid reused/);
    });

    it("outside a provider host, watchEngine() starts nothing", () => {
        assert.equal(watchEngine(), undefined);
    });

    it("the provider host exits once the engine is gone and its operation finished, not before", async () => {
        // A real process running the watchdog with exit: true (as in the provider host).
        const e = await fakeEngine();
        const script = `
            require("ts-node/register/transpile-only");
            const { watchEngine } = require(${JSON.stringify(require.resolve("../../../providers/packer/engine"))});
            const w = watchEngine({ address: ${JSON.stringify(e.address)}, pollMs: 100, exit: true, log: (m) => console.log(m) });
            w.track(() => new Promise((r) => w.onGone(() => setTimeout(() => { console.log("cleanup done"); r(); }, 500))));
            setInterval(() => undefined, 1000); // like the host's gRPC server: never idle
        `;
        const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        child.stdout.on("data", (b: Buffer) => (out += b.toString()));
        child.stderr.on("data", (b: Buffer) => (out += b.toString()));
        await waitFor(() => out.length > 0 || child.exitCode !== null, 100).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 1500));
        assert.equal(child.exitCode, null, `exited while the engine was there: ${out}`);
        const t0 = Date.now();
        await e.close();
        const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
        const ms = Date.now() - t0;
        assert.equal(code, 1, out);
        assert.ok(ms < 3000, `exited ${ms} ms after the engine`);
        const lines = out.trim().split("\n");
        assert.ok(
            lines.indexOf("cleanup done") >= 0 && lines.indexOf("cleanup done") < lines.findIndex((l) => /exiting/.test(l)),
            `the operation finished before the exit: ${out}`,
        );
    });
});

describe("runPacker and create() when the engine is gone", function () {
    this.timeout(60_000);
    const ec2 = mockClient(EC2Client);
    const IMAGE = "ami-0fa4e000000000001";
    let p: Project;
    let w: EngineWatchdog | undefined;
    let engine: { address: string; close(): Promise<void> };

    before(() => {
        p = makeProject();
    });
    after(() => {
        p.restore();
        ec2.restore();
    });
    beforeEach(async () => {
        ec2.reset();
        p.reset();
        ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => ({
            Images: input.ImageIds
                ? [
                      {
                          ImageId: input.ImageIds[0],
                          State: "pending",
                          BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { SnapshotId: "snap-0fa4e000000000001" } }],
                          Tags: [],
                      },
                  ]
                : [],
        }));
        ec2.on(DeregisterImageCommand).resolves({});
        ec2.on(DeleteSnapshotCommand).resolves({});
        ec2.on(CreateTagsCommand).resolves({});
        engine = await fakeEngine();
        w = watchEngine({ address: engine.address, pollMs: 100, exit: false, log: () => undefined });
    });
    afterEach(async () => {
        w?.stop();
        await engine.close().catch(() => undefined);
    });

    it("runPacker: SIGINT to Packer, which cleans up; the result names the reason", async () => {
        p.knobs({ FAKE_PACKER_SLEEP_AT: "provision", FAKE_PACKER_SLEEP: "30", FAKE_PACKER_CLEANUP_MS: "300" });
        const run = runPacker({
            cp,
            executable: FAKE_PACKER,
            argv: ["build"],
            env: { ...process.env } as Record<string, string>,
            timeoutMs: 60_000,
            graceMs: 5000,
            onLine: () => undefined,
        });
        await waitFor(() => p.events().some((e) => e.sleeping === "provision"));
        const t0 = Date.now();
        await engine.close();
        const r = await run;
        assert.match(r.engineGone ?? "", /refuses connections/);
        assert.equal(r.killed, false);
        assert.equal(r.code, 1);
        assert.ok(Date.now() - t0 < 3000, `Packer ran ${Date.now() - t0} ms after the engine`);
        assert.ok(p.events().some((e) => e.signal === "SIGINT"));
        assert.ok(
            p.events().some((e) => e.exit === "cancelled"),
            "Packer's cleanup finished",
        );
    });

    it("runPacker: a Packer that does not stop is killed after engineGraceMs, with the plugins that hold its output", async () => {
        // Stands in for Packer waiting on a provisioner command: ignores SIGINT, and a child of it
        // (a plugin) inherited its stdout, so "close" alone would never come.
        const script = `process.on("SIGINT", () => console.log("interrupt ignored"));
            const c = require("node:child_process").spawn("sleep", ["300"], { stdio: "inherit" });
            console.log("plugin " + c.pid);
            setInterval(() => undefined, 1000);`;
        let plugin = 0;
        const run = runPacker({
            cp,
            executable: process.execPath,
            argv: ["-e", script],
            env: { ...process.env } as Record<string, string>,
            timeoutMs: 60_000,
            graceMs: 60_000,
            engineGraceMs: 500,
            onLine: (l) => {
                const m = /^plugin (\d+)$/.exec(l);
                if (m) plugin = Number(m[1]);
            },
        });
        await waitFor(() => plugin > 0);
        const t0 = Date.now();
        await engine.close();
        const r = await run;
        assert.match(r.engineGone ?? "", /refuses connections/);
        assert.equal(r.killed, true);
        assert.equal(r.signal, "SIGKILL");
        assert.ok(Date.now() - t0 < 5000, `runPacker returned ${Date.now() - t0} ms after the engine went`);
        await waitFor(() => {
            try {
                process.kill(plugin, 0);
                return false;
            } catch {
                return true;
            }
        }, 2000);
    });

    it("runPacker with engine: false is not watched", async () => {
        p.knobs({ FAKE_PACKER_SLEEP_AT: "provision", FAKE_PACKER_SLEEP: "1" });
        await engine.close();
        const r = await runPacker({
            cp,
            executable: FAKE_PACKER,
            argv: ["build"],
            env: { ...process.env } as Record<string, string>,
            timeoutMs: 60_000,
            graceMs: 5000,
            onLine: () => undefined,
            engine: false,
        });
        assert.equal(r.engineGone, undefined);
        assert.equal(r.code, 0);
    });

    it("create: engine gone while provisioning → Packer interrupted, nothing left, clear error", async () => {
        p.knobs({ FAKE_PACKER_SLEEP_AT: "provision", FAKE_PACKER_SLEEP: "30" });
        const run = captureConsole(() => new PackerImageProvider().create(inputs(p)));
        await waitFor(() => p.events().some((e) => e.sleeping === "provision"));
        await engine.close();
        const { error } = await run;
        assert.match(error?.message ?? "", /packer build interrupted: engine at .* refuses connections; full log:/);
        assert.ok(p.events().some((e) => e.exit === "cancelled"));
        assert.equal(ec2.commandCalls(DeregisterImageCommand).length, 0, "no image existed");
        const log = fs.readFileSync(/full log: (\S+)/.exec(error!.message)![1], "utf8");
        assert.match(log, /step provision/);
    });

    it("create: engine gone after the image exists (pending) → Packer interrupted, that image and its snapshot deleted", async () => {
        p.knobs({ FAKE_PACKER_SLEEP_AT: "manifest", FAKE_PACKER_SLEEP: "30" });
        const run = captureConsole(() => new PackerImageProvider().create(inputs(p)));
        await waitFor(() => p.events().some((e) => e.sleeping === "manifest"));
        await engine.close();
        const { error, lines } = await run;
        assert.match(error?.message ?? "", /interrupted: engine at .* refuses connections/);
        assert.deepEqual(
            ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId),
            [IMAGE],
            lines.join("\n"),
        );
        assert.deepEqual(
            ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId),
            ["snap-0fa4e000000000001"],
        );
    });

    it("create: Packer finished, but the engine is gone before the result is returned → the image is deleted", async () => {
        p.knobs({});
        ec2.on(DescribeImagesCommand).callsFake(async (input: DescribeImagesCommandInput) => {
            if (input.ImageIds) await engine.close().catch(() => undefined);
            return { Images: input.ImageIds ? [{ ImageId: IMAGE, State: "available", BlockDeviceMappings: [], Tags: [] }] : [] };
        });
        const { error } = await captureConsole(() => new PackerImageProvider().create(inputs(p)));
        assert.match(error?.message ?? "", /built ami-0fa4e000000000001, but engine at .* refuses connections: nobody can record it/);
        assert.ok(ec2.commandCalls(DeregisterImageCommand).some((c) => c.args[0].input.ImageId === IMAGE));
    });
});
