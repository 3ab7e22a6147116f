/**
 * The janitor across regions when some are closed to the caller (an organisation policy, a region
 * not opted in): it skips those, says why, deletes what it may elsewhere and exits 1. Each region
 * gets its own fake EC2 client (JanitorIO.client), answering as that region would.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { parseArgs } from "../../janitor/args";
import { runJanitor, type JanitorIO } from "../../janitor/cli";
import { awsError } from "./ec2/awsError";

const expired = (id: string, snap: string) => ({
    ImageId: id,
    Name: "couchbase-images-x",
    State: "available",
    CreationDate: "2026-01-01T00:00:00.000Z",
    Tags: [
        { Key: "Project", Value: "couchbase-images" },
        { Key: "ExpiresAt", Value: "2026-02-01T00:00:00Z" },
    ],
    BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { SnapshotId: snap } }],
});

/** A region's fake client: answers the scan with one expired image, or fails every call with `deny`. */
class FakeRegion {
    readonly calls: string[] = [];
    constructor(
        readonly region: string,
        private readonly deny?: string,
        private readonly failOn?: string,
    ) {}
    client(): EC2Client {
        const send = async (cmd: { constructor: { name: string } }) => {
            const name = cmd.constructor.name.replace(/Command$/, "");
            this.calls.push(name);
            if (this.deny && (!this.failOn || this.failOn === name)) throw awsError(this.deny);
            switch (name) {
                case "DescribeImages":
                    return { Images: [expired(`ami-0${this.region.length}aaaaaaaaaaaaaaa`, `snap-0${this.region.length}aaa`)] };
                case "DescribeSnapshots":
                    return {
                        Snapshots: [{ SnapshotId: `snap-0${this.region.length}aaa`, VolumeSize: 8, State: "completed", Description: "" }],
                    };
                case "DescribeInstances":
                    return { Reservations: [] };
                case "DescribeKeyPairs":
                    return { KeyPairs: [] };
                case "DescribeSecurityGroups":
                    return { SecurityGroups: [] };
                default:
                    return {};
            }
        };
        return { send, destroy: () => {} } as unknown as EC2Client;
    }
}

describe("janitor across regions, some denied", () => {
    let repo: string;
    before(() => {
        repo = fs.mkdtempSync(path.join(os.tmpdir(), "janitor-regions-"));
    });
    after(() => fs.rmSync(repo, { recursive: true, force: true }));

    function run(regions: FakeRegion[], extra: string[] = ["--delete"]) {
        const lines: string[] = [];
        const byName = new Map(regions.map((r) => [r.region, r]));
        const io: JanitorIO = {
            out: (l) => lines.push(l),
            err: (l) => lines.push(l),
            now: new Date("2026-11-25T00:00:00Z"),
            retry: { baseMs: 1, maxMs: 2 },
            client: async (region) => byName.get(region)!.client(),
        };
        const o = parseArgs(["--regions", regions.map((r) => r.region).join(","), "--repo", repo, ...extra], {});
        return { result: runJanitor(o, io), lines };
    }

    it("skips a region an organisation policy denies and one not opted in, deletes elsewhere, exits 1", async () => {
        const denied = new FakeRegion("eu-west-3", "UnauthorizedOperation");
        const optIn = new FakeRegion("ap-east-1", "OptInRequired");
        const open = new FakeRegion("eu-north-1");
        const { result, lines } = run([denied, open, optIn]);
        const r = await result;
        assert.equal(r.exitCode, 1);
        assert.equal(r.failures, 0);
        assert.deepEqual(
            r.skipped.map((s) => [s.region, s.reason.split(":")[0]]),
            [
                ["eu-west-3", "UnauthorizedOperation"],
                ["ap-east-1", "OptInRequired"],
            ],
        );
        assert.deepEqual(
            r.outcomes.map((x) => [x.row.region, x.row.kind, x.status]),
            [
                ["eu-north-1", "image", "deleted"],
                ["eu-north-1", "snapshot", "deleted"],
            ],
        );
        assert.ok(open.calls.includes("DeregisterImage") && open.calls.includes("DeleteSnapshot"));
        assert.ok(!denied.calls.some((c) => c.startsWith("Delete") || c.startsWith("Deregister")));
        const text = lines.join("\n");
        assert.match(text, /janitor: skipped eu-west-3, nothing scanned or deleted there: UnauthorizedOperation: /);
        assert.match(
            text,
            /janitor: 2 region\(s\) skipped, denied to these credentials: eu-west-3, ap-east-1; allow docs\/iam\/janitor\.json's actions there, or leave them out with --regions/,
        );
    });

    it("a region denied part-way through its scan is not planned at all (no half inventory)", async () => {
        const partial = new FakeRegion("eu-west-3", "AuthFailure", "DescribeInstances");
        const { result } = run([partial]);
        const r = await result;
        assert.equal(r.exitCode, 1);
        assert.deepEqual(r.rows, []);
        assert.ok(partial.calls.includes("DescribeImages"));
        assert.ok(!partial.calls.includes("DeregisterImage"));
    });

    it("a dry run reports the skipped region in its JSON and exits 1", async () => {
        const { result, lines } = run([new FakeRegion("eu-west-3", "UnauthorizedOperation"), new FakeRegion("eu-north-1")], ["--json"]);
        const r = await result;
        assert.equal(r.exitCode, 1);
        const doc = JSON.parse(lines.find((l) => l.startsWith("{"))!) as { skipped: { region: string }[]; rows: { region: string }[] };
        assert.deepEqual(
            doc.skipped.map((s) => s.region),
            ["eu-west-3"],
        );
        assert.deepEqual([...new Set(doc.rows.map((x) => x.region))], ["eu-north-1"]);
    });

    it("any other error still stops the run", async () => {
        const { result } = run([new FakeRegion("eu-west-3", "InternalError"), new FakeRegion("eu-north-1")]);
        await assert.rejects(result, /InternalError/);
    });
});
