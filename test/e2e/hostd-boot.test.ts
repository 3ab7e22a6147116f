/**
 * hostd boots an instance launched from an image one of its builds made: the real Packer builds a
 * small image (test/fixtures/boot-image, with encrypt_boot, so the final image is a
 * CopyImage that only its name and tags tie to its build) in a hostd build sandbox on moto; then
 * RunInstances from that image with a key pair, and through SSH on hostd's port with that key:
 * a real systemd is PID 1 and reaches a state, the root is the image's (its marker, its first-boot
 * host keys, only the launch key authorised), IMDSv2 inside answers with the moto instance, moto's
 * port and every route are out of reach from inside; then terminate, and nothing is left: no
 * process, mount, network namespace or cgroup, and the build sandbox's standby is back on the port.
 * Then the project's own image, built by the real pipeline (its boot test off, so this test
 * launches the instance itself): booted the same way, images/aws/boot-test/boot-check.sh runs on it
 * and its report is printed; the agent's identity, read from the IMDSv2 inside, must be the
 * launched instance's (the other checks are the image's business, docs/image.md).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { DescribeImagesCommand, RunInstancesCommand, TerminateInstancesCommand } from "@aws-sdk/client-ec2";
import { bootCgroups } from "../../scripts/local/boot";
import { packerEnv } from "../../providers/packer/argv";
import { portOpen } from "../../scripts/local/moto";
import { findLeftovers } from "../../scripts/local/processes";
import {
    baseConfig,
    driver,
    driverOk,
    isAlive,
    REGION,
    ROOT,
    sleep,
    started,
    startWorld,
    stopWorld,
    upOutputs,
    World,
    writeStackConfig,
} from "./harness";
import { importKey, inNetns, run, sshRun, waitForSsh } from "./hostd-ssh";

const TEMPLATE = path.join(ROOT, "test", "fixtures", "boot-image", "boot-image.pkr.hcl");

describe("e2e: hostd boots an instance of an image its build made", function () {
    this.timeout(300_000);
    let w: World | undefined;
    let keyFile = "";
    let publicKey = "";
    let imageId = "";
    let instanceId = "";
    let bootMs = 0;
    const keyName = `hostd-boot-${Date.now()}`;
    const world = (): World => started(w);

    /** Runs `script` with bash as root on the booted instance, through hostd's SSH port. */
    const ssh = (script: string, timeoutMs = 90_000) => sshRun(world(), keyFile, script, timeoutMs);

    before(async function () {
        this.timeout(600_000);
        w = await startWorld("boot");
        ({ keyFile, publicKey } = await importKey(w, w.tmp, keyName));
    });

    after(async function () {
        this.timeout(120_000);
        const left = await stopWorld(w);
        w = undefined;
        assert.deepEqual(left, { pids: [], mounts: [] });
    });

    it("the real Packer builds the fixture image in a hostd build sandbox (final image: an encrypted copy)", async () => {
        const manifestless = await run(
            "packer",
            [
                "build",
                "-color=false",
                "-var",
                `ec2_endpoint=${world().moto.endpoint}`,
                "-var",
                `ssh_port=${world().sshPort}`,
                "-var",
                `region=${REGION}`,
                "-var",
                `name=hostd-boot-${world().id}`,
                TEMPLATE,
            ],
            {
                env: packerEnv({ ...process.env, ...world().env }, { ec2Endpoint: world().moto.endpoint, emulator: true }),
                timeoutMs: 240_000,
            },
        );
        assert.equal(manifestless.code, 0, manifestless.out.slice(-4000));
        const m = /us-east-1: (ami-[0-9a-f]+)/.exec(manifestless.out);
        assert.ok(m, manifestless.out.slice(-2000));
        imageId = m[1];
        const img = (await world().ec2.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images?.[0];
        assert.ok(img);
        // The copy carries no SourceInstanceId: hostd must tie it to its build by its name.
        assert.equal(img.SourceInstanceId, undefined);
        assert.equal(img.Name, `hostd-boot-${world().id}`);
        assert.ok((img.Tags ?? []).some((t) => t.Key === "Purpose" && t.Value === "hostd-boot-e2e"));
    });

    it("RunInstances from that image boots it; SSH with the launch key reaches the image's own sshd", async () => {
        assert.ok(imageId, "no image");
        const t0 = Date.now();
        const r = await world().ec2.send(
            new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: "t3.medium", KeyName: keyName }),
        );
        instanceId = r.Instances![0].InstanceId!;
        bootMs = await waitForSsh(world(), keyFile, t0);
        process.stderr.write(`      boot: RunInstances -> the image's sshd answered SSH in ${bootMs} ms\n`);
        const st = world().hostd.state().sandbox;
        assert.equal(st?.kind, "boot");
        assert.match(
            fs.readFileSync(path.join(world().hostd.stateDir, "hostd.log"), "utf8"),
            new RegExp(`image ${imageId} was made by build sb-\\S+ \\(i-[0-9a-f]+, by name\\): booting it`),
        );
        assert.equal(st?.instanceId, instanceId);
    });

    it("a real systemd is PID 1; systemctl is-system-running --wait says where the boot ended", async () => {
        const s = await ssh("cat /proc/1/comm; systemctl is-system-running --wait; systemctl --failed --no-legend --plain | cat");
        const [pid1, state, ...failed] = s.out.trim().split("\n");
        process.stderr.write(`      is-system-running: ${state}${failed.length ? `; failed: ${failed.join(" | ")}` : ""}\n`);
        assert.equal(pid1, "systemd");
        assert.ok(["running", "degraded"].includes(state), s.out);
        // The fixture brings what a booted image needs: nothing should fail.
        assert.equal(state, "running", s.out);
    });

    it("the root is the image's: its marker, fresh host keys made at first boot, only the launch key authorised", async () => {
        const s = await ssh(
            "cat /etc/boot-fixture; cat /etc/ssh/ssh_host_ed25519_key.pub; cat /root/.ssh/authorized_keys; systemctl is-active fixture-hostkeys.service ssh.service",
        );
        const lines = s.out.trim().split("\n");
        assert.equal(lines[0], "built by the boot fixture");
        const hostd = fs
            .readFileSync(path.join(world().hostd.stateDir, "hostkeys", "etc", "ssh", "ssh_host_ed25519_key.pub"), "utf8")
            .trim();
        assert.match(lines[1], /^ssh-ed25519 /);
        assert.notEqual(lines[1], hostd, "the booted image uses hostd's build host keys");
        assert.equal(lines[2], publicKey);
        assert.equal(lines.length, 5, s.out);
        assert.deepEqual(lines.slice(3), ["active", "active"]);
    });

    it("IMDSv2 inside the instance answers for the moto instance; without a token it refuses", async () => {
        const http = (method: string, p: string, headers: string) =>
            `exec 3<>/dev/tcp/169.254.169.254/80; printf "${method} ${p} HTTP/1.0\\r\\n${headers}\\r\\n" >&3; tr -d '\\r' <&3 | sed -e '1,/^$/d'; exec 3>&-`;
        const script = [
            `tok=$(${http("PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds: 60\\r\\n")})`,
            `h="X-aws-ec2-metadata-token: $tok\\r\\n"`,
            `echo "id=$(${http("GET", "/latest/meta-data/instance-id", "$h")})"`,
            `echo "region=$(${http("GET", "/latest/meta-data/placement/region", "$h")})"`,
            `echo "ami=$(${http("GET", "/latest/meta-data/ami-id", "$h")})"`,
            `echo "doc=$(${http("GET", "/latest/dynamic/instance-identity/document", "$h")})"`,
            `echo "notoken=$(exec 3<>/dev/tcp/169.254.169.254/80; printf 'GET /latest/meta-data/instance-id HTTP/1.0\\r\\n\\r\\n' >&3; head -1 <&3)"`,
        ].join("\n");
        const s = await ssh(script);
        assert.match(s.out, new RegExp(`^id=${instanceId}$`, "m"), s.out);
        assert.match(s.out, new RegExp(`^region=${REGION}$`, "m"), s.out);
        assert.match(s.out, new RegExp(`^ami=${imageId}$`, "m"), s.out);
        assert.match(s.out, new RegExp(`"instanceId": "${instanceId}"`), s.out);
        assert.match(s.out, /^notoken=HTTP\/1\.1 401/m, s.out);
    });

    it("nothing outside its own namespace is reachable from inside: no route, only lo, moto's port refused", async () => {
        const port = world().moto.port;
        assert.ok(await portOpen(port), "moto should answer on the host's loopback");
        const s = await ssh(
            [
                "echo routes=$(tail -n +2 /proc/net/route | wc -l)",
                "echo links=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' ')",
                `if (exec 3<>/dev/tcp/127.0.0.1/${port}) 2>/dev/null; then echo moto=reachable; else echo moto=unreachable; fi`,
            ].join("\n"),
        );
        assert.match(s.out, /^routes=0$/m, s.out);
        assert.match(s.out, /^links=lo$/m, s.out);
        assert.match(s.out, /^moto=unreachable$/m, s.out);
    });

    it("terminate: the container powers off; no process, mount, network namespace or cgroup is left; the standby is back", async () => {
        const st = world().hostd.state().sandbox!;
        assert.equal(st.kind, "boot");
        const leader = st.leaderPid!;
        const ns = fs.readlinkSync(`/proc/${leader}/ns/net`);
        const slotDir = path.join(world().hostd.stateDir, "sandbox", st.slot);
        await world().ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
        const until = Date.now() + 30_000;
        while (world().hostd.state().sandbox?.kind !== "build" || world().hostd.state().sandbox?.instanceId !== undefined) {
            assert.ok(Date.now() < until, `no standby 30 s after terminate: ${JSON.stringify(world().hostd.state().sandbox)}`);
            await sleep(100);
        }
        for (const pid of [st.nsPid, st.leaderPid, st.unsharePid]) assert.equal(isAlive(pid!), false, `pid ${pid} still alive`);
        assert.deepEqual(inNetns(ns), [], `processes still in the instance's network namespace ${ns}`);
        const left = findLeftovers(slotDir);
        assert.deepEqual(left, { pids: [], mounts: [] });
        assert.deepEqual(bootCgroups(path.join(world().hostd.stateDir, "sandbox")), []);
        const boot = JSON.parse(fs.readFileSync(path.join(slotDir, "boot.json"), "utf8")) as {
            poweredOff: boolean;
            stopMs: number;
            sshdAnsweredAfterMs: number;
        };
        process.stderr.write(
            `      stop: ${boot.poweredOff ? "powered off" : "killed"} in ${boot.stopMs} ms; hostd measured sshd after ${boot.sshdAnsweredAfterMs} ms of boot\n`,
        );
        assert.equal(boot.poweredOff, true);
        assert.ok(await portOpen(world().sshPort), "the standby build sandbox is not listening");
    });

    it("hostd killed hard while an instance is booted: stopping it by its state leaves nothing", async () => {
        const r = await world().ec2.send(
            new RunInstancesCommand({ ImageId: imageId, MinCount: 1, MaxCount: 1, InstanceType: "t3.medium", KeyName: keyName }),
        );
        const id = r.Instances![0].InstanceId!;
        await waitForSsh(world(), keyFile, Date.now(), 60_000);
        const st = world().hostd.state().sandbox!;
        assert.equal(st.instanceId, id);
        const ns = fs.readlinkSync(`/proc/${st.leaderPid}/ns/net`);
        process.kill(world().hostd.pid, "SIGKILL");
        await sleep(300);
        assert.equal(isAlive(st.leaderPid!), true, "the container should outlive a hard-killed hostd until it is stopped");
        // What local:destroy and the harness look for finds all of it: nspawn and unshare by their
        // command lines, the container's processes (their root is the container's) by its cgroup.
        const found = findLeftovers(world().hostd.stateDir).pids;
        for (const pid of [st.unsharePid, st.nsPid, st.leaderPid])
            assert.ok(found.includes(pid!), `findLeftovers misses pid ${pid}: ${found.join(" ")}`);
        const inContainer = fs
            .readdirSync("/proc")
            .filter((e) => /^\d+$/.test(e) && fs.readFileSync(`/proc/${e}/cgroup`, "utf8").includes(st.cgroup!));
        assert.ok(inContainer.length > 3, `expected the container's processes in ${st.cgroup}`);
        for (const pid of inContainer) assert.ok(found.includes(Number(pid)), `findLeftovers misses container process ${pid}`);
        await world().hostd.stop();
        await sleep(300);
        for (const pid of [st.nsPid, st.leaderPid, st.unsharePid]) assert.equal(isAlive(pid!), false, `pid ${pid} still alive`);
        assert.deepEqual(findLeftovers(world().hostd.stateDir), { pids: [], mounts: [] });
        assert.deepEqual(bootCgroups(path.join(world().hostd.stateDir, "sandbox")), []);
        assert.deepEqual(inNetns(ns), []);
    });
});

describe("e2e: hostd boots the project's image built by the real pipeline", function () {
    this.timeout(600_000);
    let w: World | undefined;
    let stack = "";
    let imageId = "";
    let key = { keyFile: "", publicKey: "" };
    const world = (): World => started(w);

    before(async function () {
        this.timeout(600_000);
        w = await startWorld("bootimg");
        stack = `local-e2e-${w.id}`;
        writeStackConfig(w, stack, { ...baseConfig(w), bootTest: false });
        key = await importKey(w, w.tmp, `boot-img-${w.id}`);
    });

    after(async function () {
        this.timeout(180_000);
        if (w) await driver(w, "destroy", stack, ["--remove"]).done.catch(() => undefined);
        const left = await stopWorld(w);
        w = undefined;
        assert.deepEqual(left, { pids: [], mounts: [] });
    });

    it("up builds the image (boot test off)", async () => {
        const out = await driverOk(world(), "up", stack);
        imageId = (upOutputs(out).amiIds as Record<string, string>)[REGION];
        assert.match(imageId, /^ami-[0-9a-f]+$/);
    });

    it("an instance of it boots; boot-check.sh reports, and the agent's identity is the launched instance's", async () => {
        assert.ok(imageId, "no image");
        const t0 = Date.now();
        const r = await world().ec2.send(
            new RunInstancesCommand({
                ImageId: imageId,
                MinCount: 1,
                MaxCount: 1,
                InstanceType: "t3.medium",
                KeyName: `boot-img-${world().id}`,
            }),
        );
        const id = r.Instances![0].InstanceId!;
        const ms = await waitForSsh(world(), key.keyFile, t0);
        process.stderr.write(`      boot: RunInstances -> the image's sshd answered SSH in ${ms} ms\n`);
        const check = fs.readFileSync(path.join(ROOT, "images", "aws", "boot-test", "boot-check.sh"), "utf8");
        const s = await sshRun(
            world(),
            key.keyFile,
            [
                `cat > /tmp/boot-check.sh <<'BOOT_CHECK_EOF'\n${check}\nBOOT_CHECK_EOF`,
                `BOOT_CHECK_WAIT=60 bash /tmp/boot-check.sh --out /tmp/report.json --expect-instance-id ${id} --expect-region ${REGION} --authorized-key '${key.publicKey}' >/dev/null 2>&1 || echo "boot-check exit $?"`,
                "cat /tmp/report.json",
            ].join("\n"),
            400_000,
        );
        const json = s.out.slice(s.out.indexOf("{"));
        const report = JSON.parse(json) as { passed: boolean; checks: { name: string; status: string; saw: string }[] };
        process.stderr.write(`      boot-check: ${report.passed ? "passed" : "FAILED"}\n`);
        for (const c of report.checks) process.stderr.write(`        ${c.status.padEnd(7)} ${c.name}: ${c.saw.slice(0, 160)}\n`);
        const identity = report.checks.find((c) => c.name === "agent-node-identity");
        assert.equal(identity?.status, "passed", `the agent did not report the launched instance: ${JSON.stringify(identity)}`);
        await world().ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
        const until = Date.now() + 30_000;
        while (world().hostd.state().sandbox?.kind === "boot") {
            assert.ok(Date.now() < until, "the booted instance did not stop");
            await sleep(100);
        }
        assert.deepEqual(bootCgroups(path.join(world().hostd.stateDir, "sandbox")), []);
    });
});
