/**
 * Drift: an image deregistered outside Pulumi, on the real engine and real Packer against moto +
 * hostd. EC2 keeps (and bills) the deregistered image's snapshots; `refresh` must not forget them:
 * it keeps the resource in state, marked deregistered, with the snapshots that remain; the next
 * `up` builds a new image and then deletes what is left of the old one; `destroy` deletes the new
 * one. Afterwards no snapshot of the stack exists, listed by the stack's tags and by every id seen.
 */
import { strict as assert } from "node:assert";
import { DeregisterImageCommand, DescribeSnapshotsCommand } from "@aws-sdk/client-ec2";
import {
    baseConfig,
    changeSummary,
    createdSinceStart,
    driverOk,
    REGION,
    stackCheckpoint,
    stackInventory,
    upOutputs,
    useWorld,
    writeStackConfig,
} from "./harness";

describe("e2e drift: deregister out of band, refresh, up, destroy", function () {
    this.timeout(300_000);
    const { world, itStopsCleanly } = useWorld("drift");

    /** The snapshots among `ids` that still exist (DescribeSnapshots by id). */
    async function existing(ids: string[]): Promise<string[]> {
        const out: string[] = [];
        for (const id of ids) {
            try {
                const r = await world().ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [id] }));
                if ((r.Snapshots ?? []).length) out.push(id);
            } catch (e) {
                if (!/NotFound/.test((e as { name?: string }).name ?? String(e))) throw e;
            }
        }
        return out;
    }

    it("no snapshot is forgotten: refresh keeps them in state, the next up deletes them, destroy the rest", async () => {
        const stack = `local-e2e-${world().id}`;
        writeStackConfig(world(), stack, baseConfig(world()));
        const first = (upOutputs(await driverOk(world(), "up", stack)).amiIds as Record<string, string>)[REGION];
        const inv = await stackInventory(world(), stack);
        assert.deepEqual(
            inv.images.map((i) => i.id),
            [first],
        );
        const oldSnapshots = inv.images[0].snapshotIds;
        assert.ok(oldSnapshots.length >= 1, "the image has no snapshot");

        // Someone deregisters the image in the console; EC2 keeps its snapshots.
        await world().ec2.send(new DeregisterImageCommand({ ImageId: first }));
        assert.deepEqual(await existing(oldSnapshots), oldSnapshots, "moto deleted the snapshots with the image");

        const refreshed = await driverOk(world(), "refresh", stack);
        assert.match(refreshed, new RegExp(`${first} was deregistered outside Pulumi; its snapshots ${oldSnapshots.join(", ")} remain`));
        const img = stackCheckpoint(world(), stack)?.resources.find((r) => /packer:Image/.test(r.type)) as
            { outputs?: Record<string, unknown> } | undefined;
        assert.ok(img, "refresh dropped the image resource (and with it the snapshots' ids)");
        assert.equal(img.outputs?.deregistered, true);
        assert.deepEqual(img.outputs?.snapshotIds, oldSnapshots);

        // The next up builds a new image, then deletes the old one's snapshots.
        const up = await driverOk(world(), "up", stack);
        const second = (upOutputs(up).amiIds as Record<string, string>)[REGION];
        assert.notEqual(second, first);
        // The image is replaced (and whatever depends on its id, such as the boot test).
        assert.ok((changeSummary(up).replace ?? 0) >= 1, up.slice(-3000));
        assert.match(up, /rebuild needed: image ami-[0-9a-f]+ was deregistered outside Pulumi/);
        assert.deepEqual(await existing(oldSnapshots), [], `old snapshots left after up: ${up.slice(-3000)}`);
        const after = await stackInventory(world(), stack);
        assert.deepEqual(
            after.images.map((i) => i.id),
            [second],
        );
        const newSnapshots = after.images[0].snapshotIds;

        await driverOk(world(), "destroy", stack);
        const gone = await stackInventory(world(), stack);
        assert.deepEqual(gone.snapshots, [], `snapshots by tag: ${JSON.stringify(gone.snapshots)}`);
        assert.deepEqual(gone.images, []);
        assert.deepEqual(await existing([...oldSnapshots, ...newSnapshots]), []);
        assert.deepEqual(await createdSinceStart(world()), [], "objects left in moto");
    });

    itStopsCleanly();
});
