/**
 * A hard-killed `up`, on the real engine and real Packer against moto + hostd.
 *
 * SIGINT (faults.test.ts) lets Packer finish or clean up, so nothing is left for the janitor. Here
 * the driver's whole process tree (driver, pulumi CLI, dynamic-provider host, packer, its amazon
 * plugin) gets SIGKILL while Packer provisions: Packer's own cleanup never runs, and its builder
 * instance, temporary key pair and temporary security group stay in the emulator while the state
 * keeps a pending create. Then the recovery docs/local.md gives for this case:
 *
 *   npm run stack -- refresh --stack S --clear-pending-creates
 *   npm run janitor -- --endpoint <moto> --regions us-east-1 --stack S --longest-build 0s --delete
 *
 * must remove exactly this build's leftovers and nothing else (another live stack's image, foreign
 * untagged `packer_…` objects), and a second janitor run must find nothing.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
    CreateKeyPairCommand,
    CreateSecurityGroupCommand,
    CreateTagsCommand,
    DescribeImagesCommand,
    DescribeKeyPairsCommand,
    DescribeSecurityGroupsCommand,
    DescribeSnapshotsCommand,
    DescribeVolumesCommand,
    RegisterImageCommand,
} from "@aws-sdk/client-ec2";
import { inventory, type Inventory } from "../../providers/ec2/inventory";
import { PROJECT, TAG, tagList } from "../../providers/ec2/tags";
import { parseArgs } from "../../scripts/janitor/args";
import { runJanitor, type JanitorResult } from "../../scripts/janitor";
import {
    baseConfig,
    createdSinceStart,
    driver,
    driverOk,
    hardKillTree,
    insertIntoScript,
    inventorySize,
    isAlive,
    processTree,
    REGION,
    ROOT,
    sleep,
    stackCheckpoint,
    stackInventory,
    started,
    startWorld,
    stopWorld,
    templateCopy,
    waitForOutput,
    World,
    writeStackConfig,
} from "./harness";

/** The janitor exactly as docs/local.md gives it after a SIGKILL, run in-process (runJanitor). */
async function janitor(w: World, stack: string, extra: string[] = ["--delete"]): Promise<{ r: JanitorResult; out: string }> {
    const argv = ["--endpoint", w.moto.endpoint, "--regions", REGION, "--stack", stack, "--longest-build", "0s", ...extra];
    const lines: string[] = [];
    const r = await runJanitor(parseArgs(argv, {}), { out: (l) => lines.push(l), err: (l) => lines.push(l), retry: { baseMs: 50, maxMs: 500 } });
    return { r, out: lines.join("\n") };
}

/** EBS volumes tagged with the stack (the builder's root volume, via run_volume_tags); the inventory has no volumes. */
async function stackVolumes(w: World, stack: string): Promise<string[]> {
    const r = await w.ec2.send(
        new DescribeVolumesCommand({ Filters: [{ Name: `tag:${TAG.project}`, Values: [PROJECT] }, { Name: `tag:${TAG.stack}`, Values: [stack] }] }),
    );
    return (r.Volumes ?? []).map((v) => v.VolumeId!).sort();
}

const ids = (inv: Inventory): string[] =>
    [
        ...inv.images.map((x) => x.id),
        ...inv.snapshots.map((x) => x.id),
        ...inv.instances.map((x) => x.id),
        ...inv.keyPairs.map((x) => x.id),
        ...inv.securityGroups.map((x) => x.id),
    ].sort();

describe("e2e: SIGKILL during provisioning, then refresh --clear-pending-creates and the janitor", function () {
    this.timeout(180_000);
    let w: World | undefined;
    let stack = "";
    let other = "";
    /** What the other stack and foreigners own in this moto: must survive. */
    const bystanders = { image: "", snapshot: "", keyPair: "packer_foreign", securityGroup: "" };
    /** The killed build's leftovers as seen in moto right after the kill. */
    let leftovers: Inventory | undefined;
    let leftoverIds: string[] = [];
    /** The builder's volumes (tagged by run_volume_tags) after the kill. */
    let volumes: string[] = [];
    /** The unshare process (sandbox PID 1's parent) of the orphaned builder's sandbox. */
    let sandboxPid = 0;
    /** allIds() names: instance id, key pair *name*, security group id. */
    let leftoverNames: string[] = [];

    const world = (): World => started(w);

    before(async function () {
        this.timeout(600_000);
        w = await startWorld("kill");
        stack = `local-e2e-${w.id}`;
        other = `local-e2e-${w.id}-other`;
        // A template copy whose agent install sleeps far longer than the test waits: the kill
        // certainly lands inside a provisioner, with the builder running.
        const slow = templateCopy(w, "slow", (dir) => insertIntoScript(path.join(dir, "scripts", "install-agent.sh"), "sleep 120"));
        writeStackConfig(w, stack, { ...baseConfig(w), templateDir: slow });

        // Bystanders. A live second stack (it exists in the backend) with an *expired* tagged
        // image and snapshot, made without an instance so hostd (one build at a time) ignores it;
        // and Packer-named objects of someone else, untagged.
        writeStackConfig(w, other, baseConfig(w));
        await driverOk(w, "refresh", other);
        const ec2 = w.ec2;
        // moto's RegisterImage ignores block device mappings and gives the image its own snapshot.
        const img = await ec2.send(new RegisterImageCommand({ Name: `couchbase-cloud-server-${other}-000000000000`, Architecture: "x86_64", VirtualizationType: "hvm" }));
        const described = (await ec2.send(new DescribeImagesCommand({ ImageIds: [img.ImageId!] }))).Images ?? [];
        const snap = { SnapshotId: described[0]?.BlockDeviceMappings?.find((m) => m.Ebs?.SnapshotId)?.Ebs?.SnapshotId };
        assert.ok(snap.SnapshotId, `no snapshot behind ${img.ImageId}`);
        const tags = { [TAG.project]: PROJECT, [TAG.stack]: other, [TAG.environment]: "local", [TAG.expiresAt]: "2000-01-01T00:00:00Z", [TAG.managedBy]: "pulumi" };
        await ec2.send(new CreateTagsCommand({ Resources: [img.ImageId!, snap.SnapshotId!], Tags: tagList(tags) }));
        await ec2.send(new CreateKeyPairCommand({ KeyName: bystanders.keyPair }));
        const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: "packer_foreign", Description: "someone else's" }));
        Object.assign(bystanders, { image: img.ImageId!, snapshot: snap.SnapshotId!, securityGroup: sg.GroupId! });
    });

    after(async function () {
        this.timeout(120_000);
        if (w) {
            for (const s of w.stacks) await driver(w, "destroy", s, ["--remove"]).done.catch(() => undefined);
        }
        await stopWorld(w);
        w = undefined;
    });

    async function bystandersIntact(): Promise<void> {
        const ec2 = world().ec2;
        const im = (await ec2.send(new DescribeImagesCommand({ ImageIds: [bystanders.image] }))).Images ?? [];
        assert.equal(im[0]?.State, "available", `the other stack's image ${bystanders.image} was touched`);
        const sn = (await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [bystanders.snapshot] }))).Snapshots ?? [];
        assert.equal(sn.length, 1, `the other stack's snapshot ${bystanders.snapshot} was touched`);
        const kp = (await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [bystanders.keyPair] }))).KeyPairs ?? [];
        assert.equal(kp.length, 1, "the foreign packer_foreign key pair was touched");
        const sg = (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [bystanders.securityGroup] }))).SecurityGroups ?? [];
        assert.equal(sg.length, 1, "the foreign packer_foreign security group was touched");
    }

    it("SIGKILL of the driver's process tree while Packer provisions leaves Packer's objects in the emulator", async () => {
        const run = driver(world(), "up", stack, [], path.join(world().tmp, `${stack}.log`));
        await waitForOutput(run, (o) => /Provisioning with shell script: .*install-agent\.sh/.test(o), 120_000);
        // The builder is running in moto and Packer is in the process tree under the driver.
        const building = await stackInventory(world(), stack);
        assert.equal(building.instances.length, 1, `builders: ${JSON.stringify(building.instances)}`);
        assert.equal(building.instances[0].state, "running");
        const tree = processTree(run.child.pid!);
        const comms = tree.map((p) => p.comm);
        assert.ok(comms.includes("packer"), `no packer under the driver: ${comms.join(", ")}`);
        assert.ok(
            comms.some((c) => c.startsWith("packer-plugin-a")),
            `no amazon plugin under the driver: ${comms.join(", ")}`,
        );

        const killed = hardKillTree(run.child.pid!);
        const r = await run.done;
        assert.equal(r.signal, "SIGKILL");
        assert.ok(killed.some((p) => p.comm === "packer"));
        await sleep(200);
        assert.deepEqual(
            killed.filter((p) => isAlive(p.pid)).map((p) => `${p.pid} ${p.comm}`),
            [],
            "processes of the killed tree still alive",
        );
        assert.doesNotMatch(r.output, /Cleaning up any extra volumes|Terminating the source AWS instance|Deleting temporary (security group|keypair)/);

        // Give a surviving cleaner (there must be none) a moment, then look.
        await sleep(1000);
        leftovers = await stackInventory(world(), stack);
        assert.equal(leftovers.images.length, 0, "no image yet: killed during provisioning");
        assert.equal(leftovers.snapshots.length, 0);
        assert.equal(leftovers.instances.length, 1, "the builder instance stays");
        assert.equal(leftovers.instances[0].id, building.instances[0].id);
        assert.equal(leftovers.instances[0].state, "running");
        assert.equal(leftovers.keyPairs.length, 1, "Packer's temporary key pair stays (tagged by run_tags)");
        // The image provider names it (temporary_key_pair_name): packer-<build>-<time>.
        assert.match(leftovers.keyPairs[0].name, /^packer[-_]/);
        assert.equal(leftovers.instances[0].keyName, leftovers.keyPairs[0].name);
        assert.equal(leftovers.securityGroups.length, 1, "Packer's temporary security group stays (tagged by run_tags)");
        assert.match(leftovers.securityGroups[0].name, /^packer_/);
        assert.deepEqual(leftovers.instances[0].securityGroupIds, [leftovers.securityGroups[0].id]);
        // The builder's root volume exists too; it is not an inventory kind: it goes with the instance.
        volumes = await stackVolumes(world(), stack);
        assert.equal(volumes.length, 1, `builder volumes: ${volumes.join(", ")}`);
        leftoverIds = ids(leftovers);
        // hostd still serves the orphaned builder's sandbox (its sshd and the sleeping provisioner).
        const sb = world().hostd.state().sandbox;
        assert.equal(sb?.instanceId, leftovers.instances[0].id, `hostd sandbox: ${JSON.stringify(sb)}`);
        sandboxPid = sb.unsharePid;
        assert.ok(isAlive(sandboxPid));
        leftoverNames = [leftovers.instances[0].id, leftovers.keyPairs[0].name, leftovers.securityGroups[0].id].sort();
        // Nothing else of the build exists in moto (everything new is a leftover or a bystander).
        const known = new Set([...leftoverNames, bystanders.image, bystanders.snapshot, bystanders.keyPair, bystanders.securityGroup]);
        assert.deepEqual(
            (await createdSinceStart(world())).filter((id) => !known.has(id)),
            [],
        );
        // The state records an unfinished create of the image.
        const cp = stackCheckpoint(world(), stack);
        assert.ok(cp, "no checkpoint for the stack");
        assert.ok(
            cp.pendingOperations.some((o) => o.type === "creating" && /packer:Image/.test(o.urn)),
            `pending operations: ${JSON.stringify(cp.pendingOperations)}`,
        );
    });

    it("refresh --clear-pending-creates repairs the state; the janitor removes exactly the leftovers", async () => {
        assert.ok(leftovers, "the kill test did not run");
        // The killed engine never released the file backend's stack lock: every operation fails
        // until `cancel` removes it (docs/local.md: the first step after a hard kill).
        const locked = await driver(world(), "refresh", stack, ["--clear-pending-creates"]).done;
        assert.notEqual(locked.code, 0);
        assert.match(locked.output, /currently locked by 1 lock/);
        await driverOk(world(), "cancel", stack);
        await driverOk(world(), "refresh", stack, ["--clear-pending-creates"]);
        const cp = stackCheckpoint(world(), stack);
        assert.deepEqual(cp?.pendingOperations ?? [], [], "refresh left pending operations");
        assert.ok(!(cp?.resources ?? []).some((x) => /packer:Image/.test(x.type)), "the state holds an image after refresh");

        // The dry run (the documented first step) plans exactly the leftovers, all for deletion.
        const dry = await janitor(world(), stack, []);
        assert.deepEqual(
            dry.r.rows.map((x) => `${x.kind} ${x.id} ${x.action}`).sort(),
            [
                `instance ${leftovers.instances[0].id} delete`,
                `key-pair ${leftovers.keyPairs[0].id} delete`,
                `security-group ${leftovers.securityGroups[0].id} delete`,
            ].sort(),
            dry.out,
        );
        if (process.env.E2E_VERBOSE) process.stderr.write(`${dry.out}\n`);
        for (const id of leftoverIds) assert.match(dry.out, new RegExp(`\\b${id}\\b`), "the table does not list a leftover");

        const del = await janitor(world(), stack);
        assert.equal(del.r.exitCode, 0, del.out);
        assert.deepEqual(
            del.r.rows.map((x) => x.id).sort(),
            leftoverIds,
            del.out,
        );
        assert.deepEqual(
            del.r.outcomes.map((o) => `${o.row.kind} ${o.row.id} ${o.status}`),
            // KIND_ORDER: the instance is terminated before its group and key pair go.
            [
                `instance ${leftovers.instances[0].id} deleted`,
                `security-group ${leftovers.securityGroups[0].id} deleted`,
                `key-pair ${leftovers.keyPairs[0].id} deleted`,
            ],
            del.out,
        );

        const again = await janitor(world(), stack);
        assert.deepEqual(again.r.rows, [], `second run: ${again.out}`);
        assert.match(again.out, /no objects of this project found/);

        // Empty by the stack's tags and by every id the test saw.
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0);
        const byIds = await inventory(world().ec2, { ids: [...leftoverIds, ...leftoverNames] });
        assert.equal(inventorySize(byIds), 0, `left by id: ${JSON.stringify(byIds)}`);
        const known = new Set([bystanders.image, bystanders.snapshot, bystanders.keyPair, bystanders.securityGroup]);
        assert.deepEqual(
            (await createdSinceStart(world())).filter((id) => !known.has(id)),
            [],
            "objects of the killed build left in moto",
        );
        // hostd saw the termination and stopped the orphan's sandbox (every process in it dies).
        for (let i = 0; i < 100 && isAlive(sandboxPid); i++) await sleep(100);
        assert.ok(!isAlive(sandboxPid), `sandbox of ${leftovers.instances[0].id} still running (pid ${sandboxPid})`);
        // The builder's volume went with the instance (DeleteOnTermination), so nothing is left
        // that the janitor does not list.
        assert.deepEqual(await stackVolumes(world(), stack), [], `volumes before: ${volumes.join(", ")}`);
        await bystandersIntact();
    });

    it("an unscoped sweep afterwards deletes nothing: the live stack's expired image is protected", async () => {
        const lines: string[] = [];
        const o = parseArgs(["--endpoint", world().moto.endpoint, "--regions", REGION, "--longest-build", "0s", "--backend-url", `file://${world().backendDir}`], {});
        const r = await runJanitor(o, { out: (l) => lines.push(l), err: (l) => lines.push(l) });
        assert.deepEqual(
            r.rows.filter((x) => x.action === "delete"),
            [],
            lines.join("\n"),
        );
        const img = r.rows.find((x) => x.id === bystanders.image);
        assert.ok(img, lines.join("\n"));
        assert.equal(img.reason, `stack ${other} still exists`);
        // Foreign, untagged packer_ objects are not even listed.
        assert.ok(!r.rows.some((x) => x.name === "packer_foreign"), lines.join("\n"));
        await bystandersIntact();
    });

    it("the stack is still usable: destroy --remove succeeds with nothing to delete in the emulator", async () => {
        await driverOk(world(), "destroy", stack, ["--remove"]);
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0);
        await bystandersIntact();
    });

    it("stopping the emulator and the build host leaves no process or mount", async function () {
        this.timeout(60_000);
        const left = await stopWorld(w);
        w = undefined;
        assert.deepEqual(left, { pids: [], mounts: [] });
    });
});
