/**
 * The build sandbox (what provisioning runs in, as root) has a network namespace of its own with a
 * loopback and nothing else: an instance launched from a base image gets hostd's build sandbox,
 * and through SSH on hostd's port (the port Packer uses) a script inside shows only `lo`, no route,
 * a namespace other than the host's; a listener of this test on the host's 127.0.0.1 is out of
 * reach (that 127.0.0.1 is the namespace's own), and so are the host's other addresses and the
 * metadata address 169.254.169.254 (no route: the connect fails inside the namespace, nothing is
 * sent). The script tries anything beyond loopback only after it has seen that the namespace has
 * nothing but `lo` and no route, so on a sandbox that shares the host's network it never connects
 * anywhere but 127.0.0.1. Then terminate: nothing is left in that namespace, nor anywhere else.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { RunInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { findLeftovers } from "../../scripts/local/processes";
import { isAlive, sleep, started, startWorld, stopWorld, World } from "./harness";
import { importKey, inNetns, sshRun, waitForSsh } from "./hostd-ssh";

/** A base image of scripts/local/amis.json: its instances get a build sandbox, not a boot. */
const BASE_IMAGE = "ami-0c0ffee0000012041";

/** The machine's own addresses other than loopback (read, never connected to from the host). */
function hostAddresses(): string[] {
    return Object.values(os.networkInterfaces())
        .flat()
        .filter((a): a is os.NetworkInterfaceInfo => a !== undefined && !a.internal && a.family === "IPv4")
        .map((a) => a.address);
}

describe("e2e: the build sandbox has its own network namespace (only lo)", function () {
    this.timeout(300_000);
    let w: World | undefined;
    let keyFile = "";
    let instanceId = "";
    let listener: net.Server | undefined;
    let listenerPort = 0;
    const keyName = `hostd-netns-${Date.now()}`;
    const world = (): World => started(w);

    before(async function () {
        this.timeout(600_000);
        w = await startWorld("netns");
        ({ keyFile } = await importKey(w, w.tmp, keyName));
        // A host-side listener on loopback only: what a sandbox sharing the host's network would reach.
        listener = net.createServer((s) => {
            s.on("error", () => s.destroy());
            s.end("host-side listener\n");
        });
        await new Promise<void>((r) => listener!.listen(0, "127.0.0.1", () => r()));
        listenerPort = (listener.address() as net.AddressInfo).port;
    });

    after(async function () {
        this.timeout(120_000);
        await new Promise<void>((r) => (listener ? listener.close(() => r()) : r()));
        const left = await stopWorld(w);
        w = undefined;
        assert.deepEqual(left, { pids: [], mounts: [] });
    });

    it("an instance of a base image gets the build sandbox; SSH on hostd's port reaches its sshd", async () => {
        const t0 = Date.now();
        const r = await world().ec2.send(
            new RunInstancesCommand({ ImageId: BASE_IMAGE, MinCount: 1, MaxCount: 1, InstanceType: "t3.medium", KeyName: keyName }),
        );
        instanceId = r.Instances![0].InstanceId!;
        const ms = await waitForSsh(world(), keyFile, t0, 60_000);
        process.stderr.write(`      build sandbox: RunInstances -> SSH login in ${ms} ms\n`);
        const st = world().hostd.state().sandbox;
        assert.equal(st?.kind, "build");
        assert.equal(st?.instanceId, instanceId);
    });

    it("inside: only lo, no route, not the host's namespace; the host's 127.0.0.1, other addresses and 169.254.169.254 are unreachable", async () => {
        const host = fs.readlinkSync("/proc/self/ns/net");
        const addrs = hostAddresses();
        // The host side's own check: the listener answers on the host's loopback.
        await new Promise<void>((resolve, reject) => {
            const c = net.connect(listenerPort, "127.0.0.1", () => {
                c.destroy();
                resolve();
            });
            c.once("error", reject);
        });
        const probe = (a: string, p: number) => `probe ${a} ${p}`;
        const script = [
            "links=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort | tr '\\n' ' ')",
            "routes=$(tail -n +2 /proc/net/route | wc -l)",
            'echo "links=${links% }"',
            'echo "routes=$routes"',
            'echo "netns=$(readlink /proc/self/ns/net)"',
            // timeout: a connect that hangs counts as a failure too (nothing should hang here).
            'probe() { if out=$(timeout 5 bash -c "exec 3<>/dev/tcp/$1/$2" 2>&1); then echo "connect $1:$2=ok"; else echo "connect $1:$2=failed: ${out##*: }"; fi; }',
            // Loopback is always safe to try; anything else only in a namespace with nothing but lo.
            probe("127.0.0.1", listenerPort),
            'if [ "$links" = "lo " ] && [ "$routes" = 0 ]; then',
            `  ${probe("169.254.169.254", 80)}`,
            ...addrs.map((a) => `  ${probe(a, listenerPort)}`),
            "else",
            '  echo "not probing beyond loopback: the namespace has more than lo"',
            "fi",
        ].join("\n");
        const s = await sshRun(world(), keyFile, script);
        process.stderr.write(`      inside the build sandbox:\n${s.out.replace(/^/gm, "        ")}`);
        assert.equal(s.code, 0, s.out);
        assert.match(s.out, /^links=lo$/m, "a non-loopback interface is visible inside the build sandbox");
        assert.match(s.out, /^routes=0$/m, s.out);
        const inside = /^netns=(\S+)$/m.exec(s.out)?.[1];
        assert.ok(inside, s.out);
        assert.notEqual(inside, host, "the build sandbox shares the host's network namespace");
        assert.equal(fs.readlinkSync(`/proc/${world().hostd.state().sandbox!.nsPid}/ns/net`), inside);
        // The namespace's own loopback: nothing listens on that port there.
        assert.match(s.out, new RegExp(`^connect 127\\.0\\.0\\.1:${listenerPort}=failed: Connection refused$`, "m"), s.out);
        assert.match(s.out, /^connect 169\.254\.169\.254:80=failed: Network is unreachable$/m, s.out);
        for (const a of addrs)
            assert.match(
                s.out,
                new RegExp(`^connect ${a.replace(/\./g, "\\.")}:${listenerPort}=failed: Network is unreachable$`, "m"),
                s.out,
            );
        assert.doesNotMatch(s.out, /=ok$/m, s.out);
    });

    it("terminate: the sandbox stops; nothing is left in its namespace; a fresh standby takes the port", async () => {
        const st = world().hostd.state().sandbox!;
        const ns = fs.readlinkSync(`/proc/${st.nsPid}/ns/net`);
        assert.notEqual(ns, fs.readlinkSync("/proc/self/ns/net"));
        await world().ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
        const until = Date.now() + 30_000;
        const standbyUp = () => {
            const now = world().hostd.state().sandbox;
            return now?.kind === "build" && now.instanceId === undefined && now.slot !== st.slot && now.nsPid !== undefined;
        };
        while (!standbyUp()) {
            assert.ok(Date.now() < until, `no standby 30 s after terminate: ${JSON.stringify(world().hostd.state().sandbox)}`);
            await sleep(100);
        }
        for (const pid of [st.nsPid, st.unsharePid]) assert.equal(isAlive(pid!), false, `pid ${pid} still alive`);
        assert.deepEqual(inNetns(ns), [], `processes still in the sandbox's network namespace ${ns}`);
        assert.deepEqual(findLeftovers(path.join(world().hostd.stateDir, "sandbox", st.slot)), { pids: [], mounts: [] });
        const standby = world().hostd.state().sandbox!;
        assert.equal(standby.kind, "build");
        assert.notEqual(
            fs.readlinkSync(`/proc/${standby.nsPid}/ns/net`),
            fs.readlinkSync("/proc/self/ns/net"),
            "the fresh standby shares the host's network namespace",
        );
    });
});
