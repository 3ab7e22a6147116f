/**
 * The boot test as the pipeline's gate, on the real engine and real Packer against moto and hostd
 * (which boots an instance launched from a sandbox-built image with systemd-nspawn in its own
 * network namespace, IMDSv2 inside):
 *
 * - a good image passes and the versions file names it with its test;
 * - an image whose agent cannot start (a template copy whose install-agent.sh installs a binary
 *   that exits at once: the build's own validate.sh cannot tell, only a boot can) fails `up` with
 *   the failed checks listed, the versions file stays on the previous image, and no test
 *   instance, key pair or security group is left (inventory by tags, and every id moto holds);
 * - SIGINT while the boot test runs (a copy whose check script waits first: a wide window): the
 *   engine cancels, the test in flight ends with Packer's cleanup, no versions file names an
 *   untested image; then the documented recovery (docs/local.md): refresh --clear-pending-creates,
 *   up, destroy, the janitor; the inventory ends empty;
 * - SIGKILL of the pulumi CLI alone (the engine) while the boot test runs: the provider notices
 *   the engine is gone and interrupts Packer, which terminates the test instance and deletes its
 *   key pair and security group; then cancel (the dead run's lock) and the same recovery.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    baseConfig,
    createdSinceStart,
    driver,
    driverOk,
    insertIntoScript,
    inventorySize,
    isAlive,
    janitorCli,
    launchLeftovers,
    processTree,
    REGION,
    ROOT,
    sleep,
    stackInventory,
    templateCopy,
    upOutputs,
    useWorld,
    waitForOutput,
    writeStackConfig,
} from "./harness";
import { versionsSchemaValidator } from "../fixtures/versionsSchema";

interface Doc {
    images: Record<string, { imageId: string }>;
    bootTest: { enabled: boolean; passed?: boolean; at?: string; checks?: { name: string; status: string; saw: string }[] };
}

describe("e2e: the boot test gates the versions file", function () {
    this.timeout(300_000);
    const { world, itStopsCleanly } = useWorld("boot");
    let good = "";
    let broken = "";
    let slow = "";
    let stack = "";
    let goodImage = "";
    const versionsFile = () => path.join(ROOT, world().buildDir, "versions", `${stack}.json`);
    const readDoc = () => JSON.parse(fs.readFileSync(versionsFile(), "utf8")) as Doc;

    /** The recovery docs/local.md gives after an interrupted up (refresh --clear-pending-creates, up, destroy, the janitor): the inventory ends empty. */
    const recover = async (s: string): Promise<void> => {
        await driverOk(world(), "refresh", s, ["--clear-pending-creates"]);
        const up = await driverOk(world(), "up", s);
        assert.equal((upOutputs(up).bootTest as { passed: boolean }).passed, true);
        await driverOk(world(), "destroy", s, ["--remove"]);
        await janitorCli(world(), s);
        assert.equal(inventorySize(await stackInventory(world(), s)), 0);
        assert.deepEqual(await createdSinceStart(world()), [], "objects left in moto");
    };

    before(() => {
        const w = world();
        stack = `local-e2e-${w.id}`;
        good = templateCopy(w, "good");
        // The agent's binary exits at once: installed, executable and enabled (so the build's
        // validate.sh passes), but dp-agent.service cannot stay active on a booted instance.
        broken = templateCopy(w, "broken", (dir) =>
            fs.appendFileSync(
                path.join(dir, "scripts", "install-agent.sh"),
                '\n# e2e fault: a dp-agent that exits at once\nprintf \'#!/bin/sh\\necho "e2e: broken agent" >&2\\nexit 3\\n\' >"$r/usr/local/bin/dp-agent"\n',
            ),
        );
        // The check script waits before checking: a wide, certain window while the test instance runs.
        slow = templateCopy(w, "slow", (dir) => insertIntoScript(path.join(dir, "boot-test", "boot-check.sh"), "sleep 20"));
    });

    it("a good image passes its boot test and the versions file names it with the test", async () => {
        writeStackConfig(world(), stack, { ...baseConfig(world()), templateDir: good });
        const out = await driverOk(world(), "up", stack);
        goodImage = (upOutputs(out).amiIds as Record<string, string>)[REGION];
        const doc = readDoc();
        assert.equal(doc.images[REGION].imageId, goodImage);
        assert.equal(doc.bootTest.passed, true);
        assert.ok(versionsSchemaValidator()(doc));
        assert.deepEqual(await launchLeftovers(world()), [], "a test instance, key pair or security group is left");
    });

    it("an image whose agent cannot start fails up listing the failed checks; the versions file stays on the previous image; nothing of the test is left", async () => {
        const before = fs.readFileSync(versionsFile(), "utf8");
        writeStackConfig(world(), stack, { ...baseConfig(world()), templateDir: broken });
        const r = await driver(world(), "up", stack, [], path.join(world().tmp, `${stack}-broken.log`)).done;
        assert.notEqual(r.code, 0, "up passed with a broken agent");
        const m = /boot test of (ami-[0-9a-f]+) failed: (\d+) of (\d+) checks failed/.exec(r.output);
        assert.ok(m, `no boot test failure in:\n${r.output.slice(-4000)}`);
        assert.notEqual(m[1], goodImage, "the failed test was not of the new image");
        assert.match(r.output, / {2}- dp-agent-active: /, "the failed check dp-agent-active is not listed");
        // Nothing after the gate ran: the versions file is byte for byte the previous one.
        assert.equal(fs.readFileSync(versionsFile(), "utf8"), before);
        assert.equal(readDoc().images[REGION].imageId, goodImage);
        // The test instance was terminated; Packer deleted its key pair and security group.
        const inv = await stackInventory(world(), stack);
        assert.deepEqual(
            {
                instances: inv.instances.map((i) => i.id),
                keyPairs: inv.keyPairs.map((k) => k.id),
                securityGroups: inv.securityGroups.map((g) => g.id),
            },
            { instances: [], keyPairs: [], securityGroups: [] },
        );
        assert.deepEqual(await launchLeftovers(world()), []);
        // The report with what each check saw is in the test's log.
        const log = /report: \S+; log: (\.build\/logs\/\S+\.log)/.exec(r.output)?.[1];
        assert.ok(log && fs.existsSync(path.join(ROOT, log)), `no test log named in the output`);
        assert.match(fs.readFileSync(path.join(ROOT, log), "utf8"), /boot-test: failed {2}dp-agent-active: /);
    });

    it("back on the good template: up passes again and destroy leaves nothing", async () => {
        writeStackConfig(world(), stack, { ...baseConfig(world()), templateDir: good });
        const out = await driverOk(world(), "up", stack);
        assert.equal((upOutputs(out).amiIds as Record<string, string>)[REGION], goodImage);
        assert.equal(readDoc().bootTest.passed, true);
        await driverOk(world(), "destroy", stack, ["--remove"]);
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0);
        assert.deepEqual(await createdSinceStart(world()), [], "objects left in moto");
    });

    it("SIGINT during the boot test: Packer cleans up, and the documented recovery leaves the inventory empty", async () => {
        const s = `${stack}-int`;
        writeStackConfig(world(), s, { ...baseConfig(world()), templateDir: slow });
        const run = driver(world(), "up", s, [], path.join(world().tmp, `${s}.log`));
        await waitForOutput(run, (o) => /amazon-ebs\.boot-test: Provisioning with shell script/.test(o), 240_000);
        run.child.kill("SIGINT");
        const r = await run.done;
        assert.match(r.output, /SIGINT received/);
        assert.notEqual(r.code, null, `driver killed by ${r.signal}`);
        assert.notEqual(r.code, 0, "the interrupted up passed");
        // The engine's cancel lets the test in flight end (its instance terminated by Packer) and
        // starts nothing after it: a versions file, if any, names only a tested image.
        console.log(
            `      (the test in flight ${/boot-test: passed:/.test(r.output) ? "ran to its end and passed" : "ended before passing"})`,
        );
        const file = path.join(ROOT, world().buildDir, "versions", `${s}.json`);
        if (fs.existsSync(file))
            assert.equal((JSON.parse(fs.readFileSync(file, "utf8")) as Doc).bootTest.passed, true, "a versions file without a passed test");
        // Packer's cleanup: no test instance, key pair or security group.
        assert.deepEqual(await launchLeftovers(world()), [], "test objects left after SIGINT");
        await recover(s);
    });

    it("SIGKILL of the engine during the boot test: Packer is interrupted and cleans up; the recovery leaves the inventory empty", async () => {
        const s = `${stack}-kill`;
        writeStackConfig(world(), s, { ...baseConfig(world()), templateDir: slow });
        const run = driver(world(), "up", s, [], path.join(world().tmp, `${s}.log`));
        await waitForOutput(run, (o) => /amazon-ebs\.boot-test: Provisioning with shell script/.test(o), 240_000);
        const tree = processTree(run.child.pid!);
        const cli = tree.filter((p) => p.comm === "pulumi");
        assert.equal(cli.length, 1, `pulumi CLI processes: ${tree.map((p) => `${p.pid} ${p.comm}`).join(", ")}`);
        const packers = tree.filter((p) => p.comm === "packer" || p.comm.startsWith("packer-plugin"));
        assert.ok(packers.length > 0, "no Packer running the boot test");
        process.kill(cli[0].pid, "SIGKILL");
        const until = Date.now() + 90_000;
        while (packers.some((p) => isAlive(p.pid)) && Date.now() < until) await sleep(100);
        assert.deepEqual(
            packers.filter((p) => isAlive(p.pid)).map((p) => `${p.pid} ${p.comm}`),
            [],
            "Packer still runs 90 s after its engine died",
        );
        await run.done;
        // Packer's cleanup ran: nothing of the test is left, and its log says why it stopped.
        assert.deepEqual(await launchLeftovers(world()), [], "test objects left after the engine died");
        const logs = fs.readdirSync(path.join(ROOT, ".build/logs")).filter((f) => f.startsWith(`${s}-boot-test-`));
        assert.equal(logs.length, 1, `boot test logs: ${logs.join(", ")}`);
        assert.match(
            fs.readFileSync(path.join(ROOT, ".build/logs", logs[0]), "utf8"),
            /Terminating the source AWS instance|Cleanly cancelled/,
        );
        // After a hard kill (README): release the dead run's lock first.
        await driverOk(world(), "cancel", s);
        await recover(s);
    });

    itStopsCleanly();
});
