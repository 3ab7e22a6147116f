/**
 * refresh after an image was deregistered outside Pulumi: what remains billable (its snapshots)
 * stays under the stack's control. read/diff/delete against a mocked EC2 client; the real engine
 * and moto prove the whole path in test/e2e/drift.test.ts.
 */
import * as assert from "node:assert/strict";
import { mockClient } from "aws-sdk-client-mock";
import {
    DeleteSnapshotCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    DescribeSnapshotsCommand,
    EC2Client,
    type DescribeSnapshotsCommandInput,
} from "@aws-sdk/client-ec2";
import { PackerImageProvider } from "../../../providers/packer/provider";
import { awsError } from "../ec2/awsError";
import { captureConsole, inputs, makeProject, type Project, type ProviderOutputs } from "./harness";

describe("PackerImageProvider: an image deregistered out of band", function () {
    this.timeout(30_000);
    const ec2 = mockClient(EC2Client);
    const provider = new PackerImageProvider();
    let p: Project;
    before(() => (p = makeProject()));
    after(() => {
        p.restore();
        ec2.restore();
    });
    beforeEach(() => {
        ec2.reset();
        ec2.on(DescribeImagesCommand).rejects(awsError("InvalidAMIID.NotFound"));
    });
    const outs = () =>
        ({
            ...inputs(p),
            imageId: "ami-0aaaaaaa",
            snapshotIds: ["snap-0left", "snap-0gone"],
            tags: {},
            createdAt: "",
            imageName: "x",
            buildLog: "",
            fingerprint: "f",
            fingerprintParts: {},
            packerVersion: "1.16.0",
            pluginVersion: "1.8.2",
        }) as unknown as ProviderOutputs;
    const snapshotsExist = (...ids: string[]) =>
        ec2.on(DescribeSnapshotsCommand).callsFake((input: DescribeSnapshotsCommandInput) => {
            const id = input.SnapshotIds?.[0] ?? "";
            if (!ids.includes(id)) throw awsError("InvalidSnapshot.NotFound");
            return { Snapshots: [{ SnapshotId: id, VolumeSize: 8 }] };
        });

    it("read: snapshots remain → kept in state, marked deregistered, with only the remaining snapshots", async () => {
        snapshotsExist("snap-0left");
        const { result, lines } = await captureConsole(() => provider.read("ami-0aaaaaaa", outs()));
        assert.equal(result?.id, "ami-0aaaaaaa");
        assert.equal(result?.props?.deregistered, true);
        assert.deepEqual(result?.props?.snapshotIds, ["snap-0left"]);
        assert.ok(
            lines.some((l) => /deregistered outside Pulumi; its snapshots snap-0left remain/.test(l)),
            lines.join("\n"),
        );
        assert.equal(ec2.commandCalls(DeleteSnapshotCommand).length, 0, "refresh deletes nothing");
    });

    it("read: nothing remains → empty id (refresh drops it)", async () => {
        snapshotsExist();
        const { result } = await captureConsole(() => provider.read("ami-0aaaaaaa", outs()));
        assert.equal(result?.id, "");
    });

    it("diff: a deregistered image is replaced (the new image first), whatever else changed", async () => {
        const o = { ...outs(), deregistered: true } as ProviderOutputs;
        const { result } = await captureConsole(() => provider.diff("ami-0aaaaaaa", o, { ...o }));
        assert.deepEqual(result, { changes: true, replaces: ["imageId"], deleteBeforeReplace: false });
    });

    it("delete: the image is gone, its remaining snapshots are deleted", async () => {
        snapshotsExist("snap-0left");
        ec2.on(DeleteSnapshotCommand).resolves({});
        const o = { ...outs(), snapshotIds: ["snap-0left"], deregistered: true } as ProviderOutputs;
        await captureConsole(() => provider.delete("ami-0aaaaaaa", o));
        assert.equal(ec2.commandCalls(DeregisterImageCommand).length, 0);
        assert.deepEqual(
            ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId),
            ["snap-0left"],
        );
    });
});
