import * as assert from "node:assert/strict";
import {
    CopyImageCommand,
    CreateImageCommand,
    DescribeImagesCommand,
    DescribeSnapshotsCommand,
    EC2Client,
    RunInstancesCommand,
    TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { startMoto, motoEnv, type MotoServer } from "../../scripts/local/moto";
import { ec2Client } from "../../providers/ec2/client";
import { deleteImageAndSnapshots, describeImage } from "../../providers/ec2/images";
import { PROJECT, TAG, tagFilters } from "../../providers/ec2/tags";
import { PROVIDER } from "../../providers/copySnapshotTagsProvider";
import { setEnv } from "../fixtures/env";

/** The copy's snapshots get the copy's tags (AmiCopy tags only the image), against moto's EC2. */
describe("CopySnapshotTags provider against moto", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let src: EC2Client;
    let dst: EC2Client;
    let restoreEnv = () => {};
    const tags = {
        [TAG.project]: PROJECT,
        [TAG.stack]: "it-copy-tags",
        [TAG.buildId]: `it-${process.pid}`,
        [TAG.sourceRegion]: "us-east-1",
    };

    before(async () => {
        moto = await startMoto();
        restoreEnv = setEnv(motoEnv(moto.endpoint));
        src = await ec2Client("us-east-1", moto.endpoint);
        dst = await ec2Client("eu-west-1", moto.endpoint);
    });
    after(async () => {
        src?.destroy();
        dst?.destroy();
        restoreEnv();
        await moto?.stop();
    });

    it("tags the snapshots of an image copied into a second region, so a tag search finds them; update re-tags; delete does nothing", async () => {
        const base = (await src.send(new DescribeImagesCommand({}))).Images![0].ImageId!;
        const run = await src.send(new RunInstancesCommand({ ImageId: base, MinCount: 1, MaxCount: 1, InstanceType: "t3.micro" }));
        const instanceId = run.Instances![0].InstanceId!;
        const name = `couchbase-images-it-copy-${Date.now()}`;
        const sourceId = (await src.send(new CreateImageCommand({ InstanceId: instanceId, Name: name }))).ImageId!;
        const copyId = (
            await dst.send(new CopyImageCommand({ SourceImageId: sourceId, SourceRegion: "us-east-1", Name: name, Encrypted: true }))
        ).ImageId!;
        const copy = await describeImage(dst, copyId);
        assert.ok(copy && copy.snapshotIds.length > 0, `the copy ${copyId} lists its snapshots`);

        const bySearch = async (t: Record<string, string>) =>
            ((await dst.send(new DescribeSnapshotsCommand({ Filters: tagFilters(t) }))).Snapshots ?? []).map((s) => s.SnapshotId!).sort();
        assert.deepEqual(await bySearch(tags), [], "untagged before");

        const inputs = { region: "eu-west-1", imageId: copyId, tags, ec2Endpoint: moto.endpoint };
        const checked = await PROVIDER.check(inputs, inputs);
        assert.deepEqual(checked.failures, []);
        const created = await PROVIDER.create(checked.inputs!);
        assert.deepEqual(created.outs!.snapshotIds, [...copy.snapshotIds].sort());
        assert.deepEqual(await bySearch(tags), [...copy.snapshotIds].sort(), "DescribeSnapshots by the tags finds the copy's snapshots");
        // The source region's snapshot is not touched.
        const srcSnaps = ((await src.send(new DescribeSnapshotsCommand({ Filters: tagFilters(tags) }))).Snapshots ?? []).length;
        assert.equal(srcSnaps, 0);

        const retagged = { ...tags, [TAG.expiresAt]: "never" };
        const diff = await PROVIDER.diff(created.id, created.outs!, { ...inputs, tags: retagged });
        assert.equal(diff.changes, true);
        assert.deepEqual(diff.replaces, []);
        await PROVIDER.update(created.id, created.outs!, { ...inputs, tags: retagged });
        assert.deepEqual(
            await bySearch({ [TAG.expiresAt]: "never", [TAG.buildId]: tags[TAG.buildId] }),
            [...copy.snapshotIds].sort(),
            "update re-tags",
        );
        assert.equal((await PROVIDER.diff(created.id, created.outs!, inputs)).changes, false, "same inputs: no change");

        await PROVIDER.delete();
        assert.deepEqual(await bySearch(tags), [...copy.snapshotIds].sort(), "delete leaves the snapshots to the AmiCopy");

        // Clean up and prove nothing is left.
        await deleteImageAndSnapshots(dst, copyId, { retry: { baseMs: 50 } });
        await deleteImageAndSnapshots(src, sourceId, { retry: { baseMs: 50 } });
        await src.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
        assert.deepEqual(await bySearch(tags), []);
        assert.equal(await describeImage(dst, copyId), undefined);
    });

    it("the serialized provider (the text the provider host runs) tags a copy's snapshots too", async () => {
        const pulumi = await import("@pulumi/pulumi");
        const fs = await import("node:fs");
        const path = await import("node:path");
        const text = (await pulumi.runtime.serializeFunction(() => PROVIDER, { allowSecrets: true })).text;
        // Under the project so that require("@aws-sdk/client-ec2") resolves as in the provider host.
        const dir = fs.mkdtempSync(path.join(process.cwd(), ".build", "it-copy-tags-"));
        try {
            const file = path.join(dir, "provider.js");
            fs.writeFileSync(file, text);
            const serialized = (require(file) as { handler: () => typeof PROVIDER }).handler();
            const base = (await src.send(new DescribeImagesCommand({}))).Images![0].ImageId!;
            const run = await src.send(new RunInstancesCommand({ ImageId: base, MinCount: 1, MaxCount: 1, InstanceType: "t3.micro" }));
            const instanceId = run.Instances![0].InstanceId!;
            const name = `couchbase-images-it-copy2-${Date.now()}`;
            const sourceId = (await src.send(new CreateImageCommand({ InstanceId: instanceId, Name: name }))).ImageId!;
            const copyId = (await dst.send(new CopyImageCommand({ SourceImageId: sourceId, SourceRegion: "us-east-1", Name: name })))
                .ImageId!;
            const mine = { ...tags, [TAG.buildId]: `it-serialized-${process.pid}` };
            const created = await serialized.create({ region: "eu-west-1", imageId: copyId, tags: mine, ec2Endpoint: moto.endpoint });
            const found = ((await dst.send(new DescribeSnapshotsCommand({ Filters: tagFilters(mine) }))).Snapshots ?? [])
                .map((x) => x.SnapshotId!)
                .sort();
            assert.ok(found.length > 0);
            assert.deepEqual(found, created.outs!.snapshotIds);
            await deleteImageAndSnapshots(dst, copyId, { retry: { baseMs: 50 } });
            await deleteImageAndSnapshots(src, sourceId, { retry: { baseMs: 50 } });
            await src.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
            assert.deepEqual(
                ((await dst.send(new DescribeSnapshotsCommand({ Filters: tagFilters(mine) }))).Snapshots ?? []).length,
                0,
                "nothing left",
            );
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("retries a copy EC2 does not know yet, then fails with its error", async () => {
        const inputs = { region: "eu-west-1", imageId: "ami-00000000000000000", tags, ec2Endpoint: moto.endpoint };
        const { tagSnapshots } = await import("../../providers/copySnapshotTagsProvider");
        await assert.rejects(tagSnapshots(inputs, { attempts: 2, baseMs: 10 }), (e: Error) =>
            /InvalidAMIID|not found/i.test(`${e.name} ${e.message}`),
        );
    });
});
