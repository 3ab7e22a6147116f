import * as assert from "node:assert/strict";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import { DeleteSnapshotCommand, DeregisterImageCommand, DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { deleteImageAndSnapshots, describeImage, findImagesByTags } from "../../../providers/ec2/images";
import { awsError } from "./awsError";

const fast = { baseMs: 1, maxMs: 2 };
const image = {
    ImageId: "ami-0123456789abcdef0",
    Name: "couchbase-images-dev-abc",
    State: "available" as const,
    CreationDate: "2026-11-25T10:00:00.000Z",
    Tags: [{ Key: "Project", Value: "couchbase-images" }],
    BlockDeviceMappings: [
        { DeviceName: "/dev/sda1", Ebs: { SnapshotId: "snap-aaaa" } },
        { DeviceName: "/dev/sdb", Ebs: { SnapshotId: "snap-bbbb" } },
        { DeviceName: "/dev/sdc", VirtualName: "ephemeral0" },
    ],
};

describe("ec2/images", () => {
    let mock: AwsClientStub<EC2Client>;
    before(() => {
        mock = mockClient(EC2Client);
    });
    after(() => mock.restore());
    const ec2 = new EC2Client({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" } });
    afterEach(() => mock.reset());

    it("describeImage returns a summary with the mapped snapshots", async () => {
        mock.on(DescribeImagesCommand).resolves({ Images: [image] });
        const s = await describeImage(ec2, image.ImageId);
        assert.deepEqual(s?.snapshotIds, ["snap-aaaa", "snap-bbbb"]);
        assert.equal(s?.tags.Project, "couchbase-images");
        assert.equal(s?.state, "available");
    });

    it("describeImage returns undefined when the image is gone", async () => {
        mock.on(DescribeImagesCommand).rejects(awsError("InvalidAMIID.NotFound"));
        assert.equal(await describeImage(ec2, "ami-gone"), undefined);
        mock.on(DescribeImagesCommand).resolves({ Images: [] });
        assert.equal(await describeImage(ec2, "ami-gone"), undefined);
        mock.on(DescribeImagesCommand).resolves({ Images: [{ ...image, State: "deregistered" }] });
        assert.equal(await describeImage(ec2, image.ImageId), undefined);
    });

    it("deregisters, then deletes snapshots, retrying InvalidSnapshot.InUse twice", async () => {
        mock.on(DescribeImagesCommand).resolves({ Images: [image] });
        mock.on(DeregisterImageCommand).resolves({});
        mock.on(DeleteSnapshotCommand, { SnapshotId: "snap-aaaa" })
            .rejectsOnce(awsError("InvalidSnapshot.InUse"))
            .rejectsOnce(awsError("InvalidSnapshot.InUse"))
            .resolves({});
        mock.on(DeleteSnapshotCommand, { SnapshotId: "snap-bbbb" }).resolves({});
        const r = await deleteImageAndSnapshots(ec2, image.ImageId, { retry: fast });
        assert.deepEqual(r, {
            imageId: image.ImageId,
            deregistered: true,
            deletedSnapshots: ["snap-aaaa", "snap-bbbb"],
            goneSnapshots: [],
        });
        const calls = mock.calls().map((c) => c.args[0].constructor.name);
        assert.deepEqual(calls, [
            "DescribeImagesCommand",
            "DeregisterImageCommand",
            "DeleteSnapshotCommand",
            "DeleteSnapshotCommand",
            "DeleteSnapshotCommand",
            "DeleteSnapshotCommand",
        ]);
    });

    it("retries throttling three times on every call", async () => {
        mock.on(DescribeImagesCommand)
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .rejectsOnce(awsError("Throttling"))
            .rejectsOnce(awsError("ThrottlingException"))
            .resolves({ Images: [image] });
        mock.on(DeregisterImageCommand)
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .resolves({});
        mock.on(DeleteSnapshotCommand)
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .resolves({});
        const r = await deleteImageAndSnapshots(ec2, image.ImageId, { retry: fast });
        assert.equal(r.deregistered, true);
        assert.deepEqual(r.deletedSnapshots, ["snap-aaaa", "snap-bbbb"]);
    });

    it("counts NotFound as done and merges snapshots the caller knows", async () => {
        mock.on(DescribeImagesCommand).rejects(awsError("InvalidAMIID.NotFound"));
        mock.on(DeleteSnapshotCommand, { SnapshotId: "snap-known" }).rejects(awsError("InvalidSnapshot.NotFound"));
        const r = await deleteImageAndSnapshots(ec2, "ami-gone", { snapshotIds: ["snap-known"], retry: fast });
        assert.deepEqual(r, { imageId: "ami-gone", deregistered: false, deletedSnapshots: [], goneSnapshots: ["snap-known"] });
        assert.equal(mock.commandCalls(DeregisterImageCommand).length, 0);
    });

    it("treats a deregister racing with another deleter as done", async () => {
        mock.on(DescribeImagesCommand).resolves({ Images: [image] });
        mock.on(DeregisterImageCommand).rejects(awsError("InvalidAMIID.Unavailable"));
        mock.on(DeleteSnapshotCommand).resolves({});
        const r = await deleteImageAndSnapshots(ec2, image.ImageId, { retry: fast });
        assert.equal(r.deregistered, false);
        assert.deepEqual(r.deletedSnapshots, ["snap-aaaa", "snap-bbbb"]);
    });

    it("is idempotent: a second call finds nothing and does not throw", async () => {
        let registered = true;
        const snaps = new Set(["snap-aaaa", "snap-bbbb"]);
        mock.on(DescribeImagesCommand).callsFake(async () => {
            if (!registered) throw awsError("InvalidAMIID.NotFound");
            return { Images: [image] };
        });
        mock.on(DeregisterImageCommand).callsFake(async () => {
            if (!registered) throw awsError("InvalidAMIID.NotFound");
            registered = false;
            return {};
        });
        mock.on(DeleteSnapshotCommand).callsFake(async (input: { SnapshotId: string }) => {
            if (!snaps.delete(input.SnapshotId)) throw awsError("InvalidSnapshot.NotFound");
            return {};
        });
        const first = await deleteImageAndSnapshots(ec2, image.ImageId, { retry: fast });
        const second = await deleteImageAndSnapshots(ec2, image.ImageId, { snapshotIds: first.deletedSnapshots, retry: fast });
        assert.deepEqual(first.deletedSnapshots, ["snap-aaaa", "snap-bbbb"]);
        assert.deepEqual(second, {
            imageId: image.ImageId,
            deregistered: false,
            deletedSnapshots: [],
            goneSnapshots: ["snap-aaaa", "snap-bbbb"],
        });
    });

    it("keeps snapshots it is told to keep, and reports other snapshot failures after trying all", async () => {
        mock.on(DescribeImagesCommand).resolves({ Images: [image] });
        mock.on(DeregisterImageCommand).resolves({});
        mock.on(DeleteSnapshotCommand).rejects(awsError("UnauthorizedOperation"));
        await assert.rejects(deleteImageAndSnapshots(ec2, image.ImageId, { retry: fast }), /UnauthorizedOperation/);
        assert.equal(mock.commandCalls(DeleteSnapshotCommand).length, 2);
        mock.reset();
        mock.on(DescribeImagesCommand).resolves({ Images: [image] });
        mock.on(DeregisterImageCommand).resolves({});
        mock.on(DeleteSnapshotCommand).resolves({});
        const r = await deleteImageAndSnapshots(ec2, image.ImageId, { keepSnapshotIds: ["snap-bbbb"], retry: fast });
        assert.deepEqual(r.deletedSnapshots, ["snap-aaaa"]);
    });

    it("findImagesByTags asks for self-owned images with tag filters, following pages", async () => {
        mock.on(DescribeImagesCommand)
            .resolvesOnce({ Images: [image], NextToken: "t1" })
            .resolvesOnce({
                Images: [
                    { ...image, ImageId: "ami-2", State: "pending" },
                    { ...image, ImageId: "ami-3", Tags: [] },
                ],
            });
        const found = await findImagesByTags(ec2, { Project: "couchbase-images" });
        assert.deepEqual(
            found.map((i) => [i.id, i.state]),
            [
                [image.ImageId, "available"],
                ["ami-2", "pending"],
            ],
        );
        const first = mock.commandCalls(DescribeImagesCommand)[0].args[0].input;
        assert.deepEqual(first.Owners, ["self"]);
        assert.deepEqual(first.Filters, [{ Name: "tag:Project", Values: ["couchbase-images"] }]);
        assert.equal(mock.commandCalls(DescribeImagesCommand)[1].args[0].input.NextToken, "t1");
    });
});
