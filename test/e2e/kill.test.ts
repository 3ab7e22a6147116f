/**
 * A hard-killed `up`, on the real engine and real Packer against moto + hostd: every cell of the
 * README's kill matrix (kill point: the `pulumi` CLI alone, or the whole process tree; moment: while
 * Packer provisions, or while the image is pending; recovery: finish or give up), each ending with
 * an inventory of every region of the emulator that holds nothing the build made.
 *
 * The recovery, as the README gives it: `cancel`, `refresh --clear-pending-creates`, then
 *   finish:  the janitor (`--stack S`, dry run, then `--delete`), then `up` (and `destroy` to end empty);
 *   give up: `destroy`, then the janitor (`--stack S`, dry run, then `--delete`).
 *
 * The first describe block below is the whole-tree kill while provisioning, give-up branch, in detail:
 *
 * SIGINT (faults.test.ts) lets Packer finish or clean up, so nothing is left for the janitor. Here
 * the driver's whole process tree (driver, pulumi CLI, dynamic-provider host, packer, its amazon
 * plugin) gets SIGKILL while Packer provisions: Packer's own cleanup never runs, and its builder
 * instance, temporary key pair and temporary security group stay in the emulator while the state
 * keeps a pending create. Then the recovery docs/local.md gives for this case:
 *
 *   npm run stack -- cancel --stack S
 *   npm run stack -- refresh --stack S --clear-pending-creates
 *   npm run janitor -- --endpoint <moto> --regions us-east-1 --stack S --delete
 *
 * (no --longest-build 0s: the stack's state is settled, so the janitor knows no build of it runs)
 *
 * must remove exactly this build's leftovers and nothing else (another live stack's image, foreign
 * untagged `packer_…` objects), and a second janitor run must find nothing.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
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
import { parseArgs } from "../../janitor/args";
import { runJanitor, type JanitorResult } from "../../janitor/cli";
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
    useWorld,
    templateCopy,
    upOutputs,
    waitForOutput,
    World,
    writeStackConfig,
} from "./harness";
import { startPendingProxy, type PendingProxy } from "./pendingImages";
import { everyRegion, leftSince, type Listing } from "./everyRegion";

/** A template copy whose agent install pauses `seconds` first: a kill lands inside a provisioner, and a later up still finishes. */
const pausedTemplate = (w: World, seconds: number) =>
    templateCopy(w, `pause-${seconds}`, (dir) => insertIntoScript(path.join(dir, "scripts", "install-agent.sh"), `sleep ${seconds}`));

/** The stack's image creates that the killed run left pending in its state. */
function pendingCreates(w: World, stack: string): string[] {
    return (stackCheckpoint(w, stack)?.pendingOperations ?? []).filter((o) => o.type === "creating").map((o) => o.urn);
}

/**
 * The janitor as the README's recovery gives it after a SIGKILL (`--stack S`, no age flag), with the
 * emulator's endpoint and this world's file backend, run in-process (runJanitor). The stack's state
 * is settled by then (cancel + refresh --clear-pending-creates), so the killed build's leftovers are
 * orphans however young they are.
 */
async function janitor(w: World, stack: string, extra: string[] = ["--delete"]): Promise<{ r: JanitorResult; out: string }> {
    const argv = [
        "--endpoint",
        w.moto.endpoint,
        "--regions",
        REGION,
        "--stack",
        stack,
        "--backend-url",
        `file://${w.backendDir}`,
        ...extra,
    ];
    const lines: string[] = [];
    const r = await runJanitor(parseArgs(argv, {}), {
        out: (l) => lines.push(l),
        err: (l) => lines.push(l),
        retry: { baseMs: 50, maxMs: 500 },
    });
    return { r, out: lines.join("\n") };
}

/** EBS volumes tagged with the stack (the builder's root volume, via run_volume_tags); the inventory has no volumes. */
async function stackVolumes(w: World, stack: string): Promise<string[]> {
    const r = await w.ec2.send(
        new DescribeVolumesCommand({
            Filters: [
                { Name: `tag:${TAG.project}`, Values: [PROJECT] },
                { Name: `tag:${TAG.stack}`, Values: [stack] },
            ],
        }),
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

describe("e2e: SIGKILL of the whole process tree (during provisioning, while the image is pending), then each recovery", function () {
    this.timeout(420_000);
    const { world, itStopsCleanly } = useWorld("kill", { stopTimeoutMs: 120_000 });
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
    /** Holds images pending (the whole-tree kills while the image is pending). */
    let proxy: PendingProxy | undefined;
    /** Every region of the emulator before the first build (the bystanders included). */
    let regionBase: Listing = [];

    before(async function () {
        this.timeout(600_000);
        const w = world();
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
        const img = await ec2.send(
            new RegisterImageCommand({
                Name: `couchbase-cloud-server-${other}-000000000000`,
                Architecture: "x86_64",
                VirtualizationType: "hvm",
            }),
        );
        const described = (await ec2.send(new DescribeImagesCommand({ ImageIds: [img.ImageId!] }))).Images ?? [];
        const snap = { SnapshotId: described[0]?.BlockDeviceMappings?.find((m) => m.Ebs?.SnapshotId)?.Ebs?.SnapshotId };
        assert.ok(snap.SnapshotId, `no snapshot behind ${img.ImageId}`);
        const tags = {
            [TAG.project]: PROJECT,
            [TAG.stack]: other,
            [TAG.environment]: "local",
            [TAG.expiresAt]: "2000-01-01T00:00:00Z",
            [TAG.managedBy]: "pulumi",
        };
        await ec2.send(new CreateTagsCommand({ Resources: [img.ImageId!, snap.SnapshotId], Tags: tagList(tags) }));
        await ec2.send(new CreateKeyPairCommand({ KeyName: bystanders.keyPair }));
        const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: "packer_foreign", Description: "someone else's" }));
        Object.assign(bystanders, { image: img.ImageId!, snapshot: snap.SnapshotId, securityGroup: sg.GroupId! });
        proxy = await startPendingProxy(w.moto.endpoint);
        regionBase = await everyRegion(w);
    });

    after(async () => {
        await proxy?.close();
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
        assert.doesNotMatch(
            r.output,
            /Cleaning up any extra volumes|Terminating the source AWS instance|Deleting temporary (security group|keypair)/,
        );

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
        assert.deepEqual(del.r.rows.map((x) => x.id).sort(), leftoverIds, del.out);
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
        const o = parseArgs(
            [
                "--endpoint",
                world().moto.endpoint,
                "--regions",
                REGION,
                "--longest-build",
                "0s",
                "--backend-url",
                `file://${world().backendDir}`,
            ],
            {},
        );
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

    it("the stack is still usable: destroy --remove succeeds with nothing to delete in the emulator; nothing left in any region", async () => {
        await driverOk(world(), "destroy", stack, ["--remove"]);
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0);
        await nothingLeftAnywhere();
    });

    /** SIGKILLs the driver's whole tree once its output matches `marker`; nothing of the tree survives. */
    async function killTree(s: string, marker: RegExp): Promise<void> {
        const run = driver(world(), "up", s, [], path.join(world().tmp, `${s}.log`));
        await waitForOutput(run, (o) => marker.test(o), 120_000);
        const killed = hardKillTree(run.child.pid!);
        const r = await run.done;
        assert.equal(r.signal, "SIGKILL");
        assert.ok(
            killed.some((p) => p.comm === "packer"),
            `packer was not in the killed tree: ${killed.map((p) => p.comm).join(", ")}`,
        );
        await sleep(200);
        assert.deepEqual(
            killed.filter((p) => isAlive(p.pid)).map((p) => `${p.pid} ${p.comm}`),
            [],
        );
        assert.ok(
            pendingCreates(world(), s).some((u) => /packer:Image/.test(u)),
            "the state keeps the image's pending create",
        );
    }

    /** cancel (the dead run's lock) and refresh --clear-pending-creates: the state is settled. */
    async function repairState(s: string): Promise<void> {
        await driverOk(world(), "cancel", s);
        await driverOk(world(), "refresh", s, ["--clear-pending-creates"]);
        assert.deepEqual(stackCheckpoint(world(), s)?.pendingOperations ?? [], []);
    }

    /** The janitor as the README gives it (dry run, then --delete, then nothing is left to find): the rows it deleted. */
    async function janitorSweep(s: string): Promise<string[]> {
        const dry = await janitor(world(), s, []);
        const planned = dry.r.rows.filter((x) => x.action === "delete").map((x) => `${x.kind} ${x.id}`);
        assert.deepEqual(
            dry.r.rows.filter((x) => x.action !== "delete"),
            [],
            dry.out,
        );
        const del = await janitor(world(), s);
        assert.equal(del.r.exitCode, 0, del.out);
        assert.deepEqual(
            del.r.outcomes.filter((o) => o.status === "failed"),
            [],
            del.out,
        );
        const again = await janitor(world(), s, []);
        assert.deepEqual(again.r.rows, [], again.out);
        return planned.sort();
    }

    /** The matrix's end: nothing in any region but what was there before (the bystanders). */
    async function nothingLeftAnywhere(): Promise<void> {
        assert.deepEqual(await leftSince(world(), regionBase), []);
        await bystandersIntact();
    }

    it("whole tree, while Packer provisions; finish: cancel, refresh, the janitor removes the dead builder, up builds anew, destroy: nothing left in any region", async () => {
        const s = `${stack}-tpf`;
        writeStackConfig(world(), s, { ...baseConfig(world()), templateDir: pausedTemplate(world(), 20) });
        await killTree(s, /Provisioning with shell script: .*install-agent\.sh/);
        const left = await stackInventory(world(), s);
        assert.deepEqual(
            [left.images.length, left.snapshots.length, left.instances.length, left.keyPairs.length, left.securityGroups.length],
            [0, 0, 1, 1, 1],
            JSON.stringify(left),
        );
        await repairState(s);
        assert.deepEqual(
            await janitorSweep(s),
            [`instance ${left.instances[0].id}`, `key-pair ${left.keyPairs[0].id}`, `security-group ${left.securityGroups[0].id}`].sort(),
        );
        const up = await driverOk(world(), "up", s);
        const image = (upOutputs(up).amiIds as Record<string, string>)[REGION];
        assert.deepEqual(
            (await stackInventory(world(), s)).images.map((i) => i.id),
            [image],
        );
        await driverOk(world(), "destroy", s);
        assert.deepEqual(await janitorSweep(s), []);
        await nothingLeftAnywhere();
    });

    /**
     * Whole tree killed while the image is pending: the dead builder, its key pair and group, and
     * the image with its snapshot. On the emulator the image and snapshot carry no tag (CreateImage
     * there takes no snapshot tags: the template's skip_ami_run_tags; Packer tags them after its
     * wait, which never ends), so no tag finds them; the snapshot's description names the builder.
     */
    async function killWhilePending(s: string): Promise<{ image: string; snapshot: string; builder: Inventory }> {
        const p = proxy!;
        p.created.clear();
        p.hold = true;
        writeStackConfig(world(), s, { ...baseConfig(world()), ec2Endpoint: p.endpoint });
        await killTree(s, /Waiting for AMI to become ready/);
        p.hold = false;
        assert.equal(p.created.size, 1, `images created: ${[...p.created].join(", ")}`);
        const image = [...p.created][0];
        const im = ((await world().ec2.send(new DescribeImagesCommand({ ImageIds: [image] }))).Images ?? [])[0];
        assert.ok(im, `${image} is not in the emulator`);
        assert.deepEqual(im.Tags ?? [], [], "the emulator's pending image carries no tag");
        const snapshot = im.BlockDeviceMappings?.find((m) => m.Ebs?.SnapshotId)?.Ebs?.SnapshotId ?? "";
        const sn = ((await world().ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshot] }))).Snapshots ?? [])[0];
        const builder = await stackInventory(world(), s);
        assert.deepEqual(
            [
                builder.images.length,
                builder.snapshots.length,
                builder.instances.length,
                builder.keyPairs.length,
                builder.securityGroups.length,
            ],
            [0, 0, 1, 1, 1],
            `by tags: ${JSON.stringify(builder)}`,
        );
        assert.deepEqual(sn?.Tags ?? [], [], "its snapshot carries no tag either");
        assert.equal(sn?.Description, `Created by CreateImage(${builder.instances[0].id}) for ${image}`);
        return { image, snapshot, builder };
    }

    const expectedSweep = (k: { image: string; snapshot: string; builder: Inventory }) =>
        [
            `image ${k.image}`,
            `snapshot ${k.snapshot}`,
            `instance ${k.builder.instances[0].id}`,
            `key-pair ${k.builder.keyPairs[0].id}`,
            `security-group ${k.builder.securityGroups[0].id}`,
        ].sort();

    it("whole tree, while the image is pending; give up: cancel, refresh, destroy, the janitor removes the untagged image (through its builder), its snapshot and the builder: nothing left in any region", async () => {
        const s = `${stack}-tpg`;
        const k = await killWhilePending(s);
        await repairState(s);
        await driverOk(world(), "destroy", s);
        const dry = await janitor(world(), s, []);
        assert.match(dry.out, new RegExp(`${k.image}.*untagged, made from builder ${k.builder.instances[0].id}`));
        assert.deepEqual(await janitorSweep(s), expectedSweep(k));
        await nothingLeftAnywhere();
    });

    it("whole tree, while the image is pending; finish: up alone fails on the taken image name, so the janitor comes first; then up builds anew, destroy: nothing left in any region", async () => {
        const s = `${stack}-tpu`;
        const k = await killWhilePending(s);
        await repairState(s);
        // What happens without the janitor first: Packer refuses the name the untagged image holds,
        // and the failed up makes nothing.
        const early = await driver(world(), "up", s, [], path.join(world().tmp, `${s}.log`)).done;
        assert.notEqual(early.code, 0);
        const earlyLog = /log: (\.build\/logs\/\S+\.log)/.exec(early.output)?.[1];
        const said = early.output + (earlyLog ? fs.readFileSync(path.join(ROOT, earlyLog), "utf8") : "");
        assert.match(said, new RegExp(`is used by an existing AMI: ${k.image}`), early.output.slice(-3000));
        assert.deepEqual(pendingCreates(world(), s), []);
        assert.deepEqual(await janitorSweep(s), expectedSweep(k));
        const up = await driverOk(world(), "up", s);
        const image = (upOutputs(up).amiIds as Record<string, string>)[REGION];
        assert.notEqual(image, k.image);
        await driverOk(world(), "destroy", s);
        assert.deepEqual(await janitorSweep(s), []);
        await nothingLeftAnywhere();
    });

    itStopsCleanly(async () => {
        await proxy?.close();
        proxy = undefined;
    });
});

/** The command line of a process ("" once it is gone). */
function cmdline(pid: number): string {
    try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    } catch {
        return "";
    }
}

/** When each of `pids` died, polling every 25 ms for at most `ms` (pid → ms after `t0`; absent: still alive). */
async function deaths(pids: number[], t0: number, ms: number): Promise<Map<number, number>> {
    const dead = new Map<number, number>();
    const until = Date.now() + ms;
    while (dead.size < pids.length && Date.now() < until) {
        for (const p of pids) if (!dead.has(p) && !isAlive(p)) dead.set(p, Date.now() - t0);
        await sleep(25);
    }
    return dead;
}

describe("e2e: SIGKILL of the pulumi CLI alone (the engine), provider host and Packer left running", function () {
    this.timeout(420_000);
    const { world, itStopsCleanly } = useWorld("cli-kill", { stopTimeoutMs: 120_000 });
    let proxy: PendingProxy | undefined;
    /** Every region of the emulator before the first build. */
    let regionBase: Listing = [];
    /** How long each provider host outlived its engine (ms), per phase: the README's numbers. */
    const outlived: Record<string, number> = {};

    before(async function () {
        this.timeout(600_000);
        proxy = await startPendingProxy(world().moto.endpoint);
        regionBase = await everyRegion(world());
    });

    after(async () => {
        await proxy?.close();
        if (Object.keys(outlived).length)
            process.stderr.write(`      provider host outlived its engine by (ms): ${JSON.stringify(outlived)}\n`);
    });

    /** The README's recovery as the driver and janitor run it, against this world. */
    const janitorDelete = async (stack: string, dry = false) => {
        const argv = [
            "--endpoint",
            world().moto.endpoint,
            "--regions",
            REGION,
            "--stack",
            stack,
            "--backend-url",
            `file://${world().backendDir}`,
            ...(dry ? [] : ["--delete"]),
        ];
        const lines: string[] = [];
        const r = await runJanitor(parseArgs(argv, {}), {
            out: (l) => lines.push(l),
            err: (l) => lines.push(l),
            retry: { baseMs: 50, maxMs: 500 },
        });
        assert.equal(r.exitCode, 0, lines.join("\n"));
        return { r, out: lines.join("\n") };
    };

    /**
     * Runs `up`, waits for `marker`, SIGKILLs only the pulumi CLI (not its tree), then watches the
     * provider host, the shell wrapper before it, Packer and its plugin until they exit.
     */
    async function killEngine(
        stack: string,
        marker: RegExp,
    ): Promise<{ hostMs: number; packerMs: number; output: string; buildLog: string }> {
        const run = driver(world(), "up", stack, [], path.join(world().tmp, `${stack}.log`));
        await waitForOutput(run, (o) => marker.test(o), 120_000);
        const tree = processTree(run.child.pid!);
        const cli = tree.filter((p) => p.comm === "pulumi");
        assert.equal(cli.length, 1, `pulumi CLI processes: ${tree.map((p) => `${p.pid} ${p.comm}`).join(", ")}`);
        const hosts = tree.filter((p) => p.comm === "node" && /cmd\/dynamic-provider/.test(cmdline(p.pid)));
        assert.ok(hosts.length >= 1, `no provider host: ${tree.map((p) => `${p.pid} ${p.comm} ${cmdline(p.pid)}`).join("\n")}`);
        // The engine starts the host through a shell wrapper (pulumi-resource-pulumi-nodejs): the
        // host's parent is that shell, not the engine, so its parent pid never changes.
        for (const h of hosts) assert.notEqual(h.ppid, cli[0].pid, "the provider host is the engine's own child: no wrapper in between");
        const packers = tree.filter((p) => p.comm === "packer" || p.comm.startsWith("packer-plugin"));
        assert.ok(
            packers.some((p) => p.comm === "packer"),
            `no packer: ${tree.map((p) => p.comm).join(", ")}`,
        );
        const t0 = Date.now();
        process.kill(cli[0].pid, "SIGKILL");
        const watched = [...hosts, ...packers, ...tree.filter((p) => p.comm.startsWith("pulumi-resource"))];
        const dead = await deaths(
            watched.map((p) => p.pid),
            t0,
            60_000,
        );
        const alive = watched.filter((p) => !dead.has(p.pid));
        const logPath = /log: (\.build\/logs\/\S+\.log)/.exec(run.output())?.[1];
        assert.ok(logPath, `no build log named in:\n${run.output().slice(-3000)}`);
        const buildLog = fs.readFileSync(path.join(ROOT, logPath), "utf8");
        const cpu = (pid: number) => {
            try {
                const f = fs
                    .readFileSync(`/proc/${pid}/stat`, "utf8")
                    .slice(fs.readFileSync(`/proc/${pid}/stat`, "utf8").lastIndexOf(")") + 2)
                    .split(" ");
                return `${f[0]} utime=${f[11]} stime=${f[12]} wchan=${fs.readFileSync(`/proc/${pid}/wchan`, "utf8")}`;
            } catch {
                return "gone";
            }
        };
        const diag = alive.map((p) => `${p.pid} ${p.comm}: ${cpu(p.pid)}`).join("\n");
        if (alive.length) for (const p of alive) process.kill(p.pid, "SIGKILL"); // ours: never leave them
        assert.deepEqual(
            alive.map((p) => `${p.pid} ${p.comm}`),
            [],
            `still running a minute after the engine died (${diag}); the build log ends:\n${buildLog.split("\n").slice(-25).join("\n")}`,
        );
        const hostMs = Math.max(...hosts.map((h) => dead.get(h.pid)!));
        const packerMs = Math.max(...packers.map((h) => dead.get(h.pid)!));
        const r = await run.done;
        assert.notEqual(r.code, 0, "the driver reported success after its CLI was killed");
        return { hostMs, packerMs, output: r.output, buildLog };
    }

    it("while Packer provisions: Packer cleans up, the host exits within 10 s; give up (cancel, refresh, destroy, janitor) leaves nothing", async () => {
        const stack = `local-e2e-${world().id}-prov`;
        const slow = templateCopy(world(), "slow", (dir) => insertIntoScript(path.join(dir, "scripts", "install-agent.sh"), "sleep 120"));
        writeStackConfig(world(), stack, { ...baseConfig(world()), templateDir: slow });
        const k = await killEngine(stack, /Provisioning with shell script: .*install-agent\.sh/);
        outlived.provisioning = k.hostMs;
        assert.ok(k.hostMs < 10_000, `the provider host outlived its engine by ${k.hostMs} ms`);
        assert.ok(k.packerMs <= k.hostMs + 100, "the host exited before Packer finished");
        assert.match(k.buildLog, /packer-image: watching engine process \d+/);
        // Packer waits for the running provisioner command before its own cleanup, so after 3 s the
        // provider kills it and removes the builder, its key pair and security group itself.
        assert.match(k.buildLog, /packer-image: the engine is gone \(engine process \d+ exited\): Packer was interrupted/);
        assert.match(k.buildLog, /terminating i-[0-9a-f]+|Terminating the source AWS instance/);
        // No build goes on unattended: nothing of it is left even before any recovery.
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0, JSON.stringify(await stackInventory(world(), stack)));
        assert.deepEqual(await createdSinceStart(world()), [], "objects of the build left in moto");

        // The README's "give up" branch, exactly.
        await driverOk(world(), "cancel", stack);
        await driverOk(world(), "refresh", stack, ["--clear-pending-creates"]);
        const cp = stackCheckpoint(world(), stack);
        assert.deepEqual(cp?.pendingOperations ?? [], []);
        await driverOk(world(), "destroy", stack);
        const dry = await janitorDelete(stack, true);
        assert.deepEqual(dry.r.rows, [], dry.out);
        await janitorDelete(stack);
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0);
        assert.deepEqual(await createdSinceStart(world()), []);
        assert.deepEqual(await leftSince(world(), regionBase), []);
    });

    it("while Packer provisions; finish (cancel, refresh, janitor: nothing to find, up builds anew, destroy): nothing left in any region", async () => {
        const stack = `local-e2e-${world().id}-provfin`;
        writeStackConfig(world(), stack, { ...baseConfig(world()), templateDir: pausedTemplate(world(), 20) });
        const k = await killEngine(stack, /Provisioning with shell script: .*install-agent\.sh/);
        outlived.provisioningFinish = k.hostMs;
        assert.ok(k.hostMs < 10_000, `the provider host outlived its engine by ${k.hostMs} ms`);
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0, JSON.stringify(await stackInventory(world(), stack)));
        assert.ok(
            pendingCreates(world(), stack).some((u) => /packer:Image/.test(u)),
            "the state keeps the image's pending create",
        );
        await driverOk(world(), "cancel", stack);
        await driverOk(world(), "refresh", stack, ["--clear-pending-creates"]);
        assert.deepEqual((await janitorDelete(stack, true)).r.rows, []);
        const up = await driverOk(world(), "up", stack);
        const image = (upOutputs(up).amiIds as Record<string, string>)[REGION];
        assert.deepEqual(
            (await stackInventory(world(), stack)).images.map((i) => i.id),
            [image],
        );
        await driverOk(world(), "destroy", stack);
        assert.deepEqual((await janitorDelete(stack, true)).r.rows, []);
        assert.deepEqual(await leftSince(world(), regionBase), []);
    });

    /**
     * `up` of a fresh stack through the proxy, which holds its image pending, and its engine
     * SIGKILLed while Packer waits for that image: the provider host must exit within 10 s
     * (recorded under `phase`), and the build must have created exactly one image.
     */
    const killWhilePending = async (suffix: string, phase: string) => {
        const stack = `local-e2e-${world().id}-${suffix}`;
        const p = proxy!;
        p.created.clear();
        p.hold = true;
        writeStackConfig(world(), stack, { ...baseConfig(world()), ec2Endpoint: p.endpoint });
        const k = await killEngine(stack, /Waiting for AMI to become ready/);
        outlived[phase] = k.hostMs;
        assert.ok(k.hostMs < 10_000, `the provider host outlived its engine by ${k.hostMs} ms`);
        assert.equal(p.created.size, 1, `images created: ${[...p.created].join(", ")}`);
        return { stack, p, k, pending: [...p.created][0] };
    };

    it("while the image is pending; give up (cancel, refresh, destroy, janitor): the host deleted the pending image; nothing left in any region", async () => {
        const { stack, p, k, pending } = await killWhilePending("pendgive", "imagePendingGiveUp");
        p.hold = false;
        assert.match(k.buildLog, new RegExp(`deleting image ${pending}`));
        assert.ok(
            pendingCreates(world(), stack).some((u) => /packer:Image/.test(u)),
            "the state keeps the image's pending create",
        );
        await driverOk(world(), "cancel", stack);
        await driverOk(world(), "refresh", stack, ["--clear-pending-creates"]);
        await driverOk(world(), "destroy", stack);
        assert.deepEqual((await janitorDelete(stack, true)).r.rows, []);
        await janitorDelete(stack);
        assert.deepEqual(await leftSince(world(), regionBase), []);
    });

    it("while the image is pending: the host deletes the pending image, exits within 10 s; finish (cancel, refresh, up, destroy) leaves nothing", async () => {
        const { stack, p, k, pending } = await killWhilePending("pend", "imagePending");
        assert.match(k.buildLog, new RegExp(`AMI: ${pending}`));
        assert.match(k.buildLog, /the engine is gone/);
        assert.match(k.buildLog, new RegExp(`deleting image ${pending}`));
        // Gone from moto itself (the pending image carried no tags yet on the emulator).
        const left = (await world().ec2.send(new DescribeImagesCommand({ Owners: ["self"] }))).Images ?? [];
        assert.ok(!left.some((i) => i.ImageId === pending), `the pending image ${pending} is still there`);
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0, JSON.stringify(await stackInventory(world(), stack)));
        assert.deepEqual(await createdSinceStart(world()), [], "objects of the build left in moto");

        // The README's "finish" branch: the next up builds the image (nothing to adopt), destroy removes it.
        p.hold = false;
        await driverOk(world(), "cancel", stack);
        await driverOk(world(), "refresh", stack, ["--clear-pending-creates"]);
        assert.deepEqual((await janitorDelete(stack, true)).r.rows, [], "the janitor finds nothing before up");
        const up = await driverOk(world(), "up", stack);
        const image = (upOutputs(up).amiIds as Record<string, string>)[REGION];
        assert.deepEqual(
            (await stackInventory(world(), stack)).images.map((i) => i.id),
            [image],
        );
        await driverOk(world(), "destroy", stack);
        const dry = await janitorDelete(stack, true);
        assert.deepEqual(dry.r.rows, [], dry.out);
        assert.equal(inventorySize(await stackInventory(world(), stack)), 0);
        assert.deepEqual(await createdSinceStart(world()), []);
        assert.deepEqual(await leftSince(world(), regionBase), []);
    });

    itStopsCleanly(async () => {
        await proxy?.close();
        proxy = undefined;
    });
});
