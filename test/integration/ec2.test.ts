import * as assert from "node:assert/strict";
import {
    CreateImageCommand,
    CreateTagsCommand,
    DescribeImagesCommand,
    EC2Client,
    RunInstancesCommand,
    TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { startMoto, motoEnv, type MotoServer } from "../../scripts/local/moto";
import { ec2Client } from "../../providers/ec2/client";
import { deleteImageAndSnapshots, describeImage, findImagesByTags } from "../../providers/ec2/images";
import { inventory, inventorySize } from "../../providers/ec2/inventory";
import { PROJECT, TAG, tagList } from "../../providers/ec2/tags";
import { setEnv } from "../fixtures/env";

/** Real EC2 API semantics (moto): image → snapshot → delete → nothing left. */
describe("providers/ec2 against moto", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let ec2: EC2Client;
    let restoreEnv = () => {};
    const tags = { [TAG.project]: PROJECT, [TAG.stack]: "it-ec2", [TAG.buildId]: `it-${process.pid}` };

    before(async () => {
        moto = await startMoto();
        restoreEnv = setEnv(motoEnv(moto.endpoint));
        ec2 = await ec2Client("us-east-1", moto.endpoint);
    });
    after(async () => {
        ec2?.destroy();
        restoreEnv();
        await moto?.stop();
    });

    async function baseAmi(): Promise<string> {
        const r = await ec2.send(new DescribeImagesCommand({ ImageIds: ["ami-785db401"] })).catch(() => undefined);
        if (r?.Images?.length) return "ami-785db401";
        const any = await ec2.send(new DescribeImagesCommand({}));
        return any.Images![0].ImageId!;
    }

    async function makeImage(name: string): Promise<{ imageId: string; instanceId: string }> {
        const run = await ec2.send(
            new RunInstancesCommand({
                ImageId: await baseAmi(),
                MinCount: 1,
                MaxCount: 1,
                InstanceType: "t3.micro",
                TagSpecifications: [{ ResourceType: "instance", Tags: tagList(tags) }],
            }),
        );
        const instanceId = run.Instances![0].InstanceId!;
        const img = await ec2.send(
            new CreateImageCommand({
                InstanceId: instanceId,
                Name: name,
                TagSpecifications: [{ ResourceType: "image", Tags: tagList(tags) }],
            }),
        );
        return { imageId: img.ImageId!, instanceId };
    }

    it("inventory refuses to select by owner alone", async () => {
        await assert.rejects(inventory(ec2, {}), /never select by owner alone/);
    });

    it("creates a tagged image, deletes it with its snapshot, and leaves an empty inventory", async () => {
        const { imageId, instanceId } = await makeImage(`couchbase-images-it-${Date.now()}`);
        const summary = await describeImage(ec2, imageId);
        assert.ok(summary, "image exists");
        assert.equal(summary.snapshotIds.length, 1);
        const snap = summary.snapshotIds[0];
        // Tag the snapshot as Packer's snapshot_tags would, so the tag inventory sees it too.
        await ec2.send(new CreateTagsCommand({ Resources: [snap], Tags: tagList(tags) }));
        assert.deepEqual(
            (await findImagesByTags(ec2, tags)).map((i) => i.id),
            [imageId],
        );

        const before = await inventory(ec2, { tags, ids: [imageId, snap, instanceId] });
        assert.deepEqual(
            before.images.map((i) => i.id),
            [imageId],
        );
        assert.deepEqual(
            before.snapshots.map((s) => s.id),
            [snap],
        );
        assert.deepEqual(
            before.instances.map((i) => i.id),
            [instanceId],
        );
        assert.ok(before.snapshots[0].volumeSize > 0);

        const logs: string[] = [];
        const r = await deleteImageAndSnapshots(ec2, imageId, { log: (m) => logs.push(m), retry: { baseMs: 50 } });
        assert.deepEqual(r, { imageId, deregistered: true, deletedSnapshots: [snap], goneSnapshots: [] });
        const again = await deleteImageAndSnapshots(ec2, imageId, { snapshotIds: [snap], retry: { baseMs: 50 } });
        assert.deepEqual(again, { imageId, deregistered: false, deletedSnapshots: [], goneSnapshots: [snap] });
        assert.equal(await describeImage(ec2, imageId), undefined);

        await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
        const after = await inventory(ec2, { tags, ids: [imageId, snap, instanceId] });
        assert.equal(inventorySize(after), 0, JSON.stringify(after));
    });

    it("snapshot delete while the image is registered is refused by EC2 (why deregister comes first)", async () => {
        const { imageId, instanceId } = await makeImage(`couchbase-images-it-inuse-${Date.now()}`);
        const snap = (await describeImage(ec2, imageId))!.snapshotIds[0];
        const { deleteSnapshot } = await import("../../providers/ec2/images");
        await assert.rejects(deleteSnapshot(ec2, snap, { attempts: 2, baseMs: 10 }), /InUse|in use/i);
        await deleteImageAndSnapshots(ec2, imageId, { retry: { baseMs: 50 } });
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
        assert.equal(inventorySize(await inventory(ec2, { ids: [imageId, snap, instanceId] })), 0);
    });
});
