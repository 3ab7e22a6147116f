import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { mockClient, type AwsClientStub } from "aws-sdk-client-mock";
import {
    DeleteSnapshotCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    DescribeInstancesCommand,
    DescribeKeyPairsCommand,
    DescribeSecurityGroupsCommand,
    DescribeSnapshotsCommand,
    EC2Client,
} from "@aws-sdk/client-ec2";
import { parseArgs } from "../../janitor/args";
import { runJanitor } from "../../janitor/cli";
import { awsError } from "./ec2/awsError";
import { setEnv } from "../fixtures/env";

describe("janitor run (mocked EC2): failures and throttling", () => {
    let mock: AwsClientStub<EC2Client>;
    before(() => {
        mock = mockClient(EC2Client);
    });
    after(() => mock.restore());
    let repo: string;
    let restoreEnv = () => {};
    before(() => {
        repo = fs.mkdtempSync(path.join(os.tmpdir(), "janitor-run-"));
        restoreEnv = setEnv({ AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });
    });
    after(() => {
        fs.rmSync(repo, { recursive: true, force: true });
        restoreEnv();
    });
    afterEach(() => mock.reset());

    const expired = {
        ImageId: "ami-0aaaaaaaaaaaaaaaa",
        Name: "couchbase-images-x",
        State: "available" as const,
        CreationDate: "2026-01-01T00:00:00.000Z",
        Tags: [
            { Key: "Project", Value: "couchbase-images" },
            { Key: "ExpiresAt", Value: "2026-02-01T00:00:00Z" },
        ],
        BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { SnapshotId: "snap-0aaaa" } }],
    };
    function scanMocks() {
        mock.on(DescribeImagesCommand).resolves({ Images: [expired] });
        mock.on(DescribeSnapshotsCommand).resolves({
            Snapshots: [{ SnapshotId: "snap-0aaaa", VolumeSize: 8, State: "completed", Description: "" }],
        });
        mock.on(DescribeInstancesCommand).resolves({ Reservations: [] });
        mock.on(DescribeKeyPairsCommand).resolves({ KeyPairs: [] });
        mock.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [] });
    }
    const opts = () => parseArgs(["--regions", "eu-north-1", "--repo", repo, "--delete"], {});
    const io = (lines: string[]) => ({
        out: (l: string) => lines.push(l),
        err: (l: string) => lines.push(l),
        now: new Date("2026-11-25T00:00:00Z"),
        retry: { baseMs: 1, maxMs: 2 },
    });

    it("a failed deregistration exits non-zero and leaves the image's snapshot alone", async () => {
        scanMocks();
        mock.on(DeregisterImageCommand).rejects(awsError("UnauthorizedOperation"));
        const lines: string[] = [];
        const r = await runJanitor(opts(), io(lines));
        assert.equal(r.exitCode, 1);
        assert.equal(r.failures, 2);
        assert.deepEqual(
            r.outcomes.map((o) => [o.row.kind, o.status]),
            [
                ["image", "failed"],
                ["snapshot", "failed"],
            ],
        );
        assert.equal(mock.commandCalls(DeleteSnapshotCommand).length, 0);
        assert.match(lines.join("\n"), /2 deletion\(s\) failed/);
    });

    it("keeps an image named only in a versions file under a stack's own versionsDir", async () => {
        const custom = fs.mkdtempSync(path.join(os.tmpdir(), "janitor-run-vdir-"));
        try {
            fs.writeFileSync(path.join(custom, "Pulumi.ci.yaml"), "config:\n  couchbase-images:versionsDir: out/versions\n");
            fs.mkdirSync(path.join(custom, "out", "versions"), { recursive: true });
            fs.writeFileSync(
                path.join(custom, "out", "versions", "ci.json"),
                JSON.stringify({ stack: "ci", images: { "eu-north-1": { imageId: expired.ImageId } } }),
            );
            scanMocks();
            const lines: string[] = [];
            const r = await runJanitor(parseArgs(["--regions", "eu-north-1", "--repo", custom, "--delete"], {}), io(lines));
            assert.equal(r.exitCode, 0);
            assert.deepEqual(
                r.rows.map((x) => [x.kind, x.id, x.action, x.reason]),
                [["image", expired.ImageId, "keep", "named in out/versions/ci.json"]],
            );
            assert.equal(mock.commandCalls(DeregisterImageCommand).length, 0);
            assert.match(lines.join("\n"), /1 image\(s\) pinned by versions files in versions\/, out\/versions\//);
        } finally {
            fs.rmSync(custom, { recursive: true, force: true });
        }
    });

    it("a stack file it cannot read stops the run before anything is scanned or deleted", async () => {
        const custom = fs.mkdtempSync(path.join(os.tmpdir(), "janitor-run-vdir-"));
        try {
            fs.writeFileSync(path.join(custom, "Pulumi.ci.yaml"), "config:\n  couchbase-images:versionsDir: ../outside\n");
            scanMocks();
            await assert.rejects(
                runJanitor(parseArgs(["--regions", "eu-north-1", "--repo", custom, "--delete"], {}), io([])),
                /Pulumi\.ci\.yaml:2: .*leaves the project/,
            );
            assert.equal(mock.commandCalls(DescribeImagesCommand).length, 0);
            assert.equal(mock.commandCalls(DeregisterImageCommand).length, 0);
        } finally {
            fs.rmSync(custom, { recursive: true, force: true });
        }
    });

    it("throttling during the sweep is retried and the run succeeds", async () => {
        scanMocks();
        mock.on(DescribeImagesCommand)
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .rejectsOnce(awsError("Throttling"))
            .resolves({ Images: [expired] });
        mock.on(DeregisterImageCommand).rejectsOnce(awsError("RequestLimitExceeded")).resolves({});
        mock.on(DeleteSnapshotCommand)
            .rejectsOnce(awsError("RequestLimitExceeded"))
            .rejectsOnce(awsError("InvalidSnapshot.InUse"))
            .resolves({});
        const r = await runJanitor(opts(), io([]));
        assert.equal(r.exitCode, 0);
        assert.deepEqual(
            r.outcomes.map((o) => [o.row.kind, o.row.id, o.status]),
            [
                ["image", "ami-0aaaaaaaaaaaaaaaa", "deleted"],
                ["snapshot", "snap-0aaaa", "deleted"],
            ],
        );
    });
});
