import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    CreateImageCommand,
    CreateKeyPairCommand,
    CreateSecurityGroupCommand,
    CreateTagsCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    DescribeVpcsCommand,
    EC2Client,
    RunInstancesCommand,
    TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { startMoto, motoEnv, type MotoServer } from "../../scripts/local/moto";
import { ec2Client } from "../../providers/ec2/client";
import { describeImage } from "../../providers/ec2/images";
import { inventory, type Inventory } from "../../providers/ec2/inventory";
import { PROJECT, tagList } from "../../providers/ec2/tags";
import { parseArgs } from "../../janitor/args";
import { runJanitor, type JanitorResult } from "../../janitor/cli";
import { setEnv } from "../fixtures/env";

const ROOT = path.resolve(__dirname, "../..");
const HOUR = 3_600_000;

/**
 * The janitor against moto's EC2 server, seeded with every case issue 8 names: production,
 * unexpired, foreign, pinned by a versions file (in versions/, and in a stack's own versionsDir),
 * live stack, a snapshot still used by a kept image, an orphan snapshot, an expired image (two
 * regions), a builder instance with Packer's temporary key pair and security group, a tagged
 * temporary key pair, and foreign Packer-named leftovers.
 */
describe("janitor against moto", function () {
    this.timeout(180_000);
    let moto: MotoServer;
    let repo: string;
    let restoreEnv = () => {};
    const clients: EC2Client[] = [];
    const later = () => new Date(Date.now() + 3 * HOUR); // everything seeded is 3 h old by then
    const past = new Date(Date.now() - HOUR).toISOString();
    const future = new Date(Date.now() + 30 * 24 * HOUR).toISOString();
    const ours = (t: Record<string, string>) => ({ Project: PROJECT, ...t });
    const packerName = () =>
        `packer_${Math.floor(Date.now() / 1000).toString(16)}-${Math.random().toString(16).slice(2, 6)}-1a2b-3c4d-5e6f7a8b9c0d`;

    // Seeded ids, by case.
    const s: Record<string, string> = {};
    const expectDeleted: string[] = [];
    const expectKept: string[] = [];

    async function client(region: string): Promise<EC2Client> {
        const c = await ec2Client(region, moto.endpoint);
        clients.push(c);
        return c;
    }

    async function image(ec2: EC2Client, maker: string, name: string, tags: Record<string, string>): Promise<{ id: string; snap: string }> {
        const r = await ec2.send(
            new CreateImageCommand({
                InstanceId: maker,
                Name: name,
                ...(Object.keys(tags).length ? { TagSpecifications: [{ ResourceType: "image", Tags: tagList(tags) }] } : {}),
            }),
        );
        const sum = await describeImage(ec2, r.ImageId!);
        return { id: r.ImageId!, snap: sum!.snapshotIds[0] };
    }

    async function maker(ec2: EC2Client): Promise<string> {
        const base = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: "name", Values: ["*ubuntu*"] }] }))).Images![0].ImageId!;
        const r = await ec2.send(new RunInstancesCommand({ ImageId: base, MinCount: 1, MaxCount: 1, InstanceType: "t3.micro" }));
        return r.Instances![0].InstanceId!;
    }

    before(async () => {
        moto = await startMoto();
        restoreEnv = setEnv({ ...motoEnv(moto.endpoint), AWS_REGION: "us-east-1" });
        repo = fs.mkdtempSync(path.join(os.tmpdir(), "janitor-it-"));
        const east = await client("us-east-1");
        const west = await client("us-west-2");
        const m = await maker(east);
        const mWest = await maker(west);

        const prod = await image(east, m, "couchbase-images-prod", ours({ Environment: "prod", ExpiresAt: past, Stack: "prod" }));
        s.prod = prod.id;
        s.prodSnap = prod.snap; // tagged ours below: a project snapshot still used by a kept image
        await east.send(new CreateTagsCommand({ Resources: [prod.snap], Tags: tagList(ours({ Stack: "prod" })) }));
        s.unexpired = (await image(east, m, "couchbase-images-fresh", ours({ ExpiresAt: future, Stack: "local-gone" }))).id;
        s.foreign = (await image(east, m, "someone-elses", { ExpiresAt: past })).id;
        s.pinned = (await image(east, m, "couchbase-images-pinned", ours({ ExpiresAt: past, Stack: "local-gone" }))).id;
        s.pinnedCustom = (await image(east, m, "couchbase-images-pinned-custom", ours({ ExpiresAt: past, Stack: "local-ci" }))).id;
        s.live = (await image(east, m, "couchbase-images-live", ours({ ExpiresAt: past, Stack: "local-live" }))).id;
        const expired = await image(east, m, "couchbase-images-expired", ours({ ExpiresAt: past, Stack: "local-gone" }));
        s.expired = expired.id;
        s.expiredSnap = expired.snap;
        const westImg = await image(west, mWest, "couchbase-images-west", ours({ ExpiresAt: past, Stack: "local-gone" }));
        s.west = westImg.id;
        s.westSnap = westImg.snap;
        // Orphan: an image deregistered by a half-finished delete, leaving its tagged snapshot.
        const gone = await image(east, m, "couchbase-images-gone", ours({ ExpiresAt: future }));
        await east.send(new CreateTagsCommand({ Resources: [gone.snap], Tags: tagList(ours({ Stack: "local-gone" })) }));
        await east.send(new DeregisterImageCommand({ ImageId: gone.id }));
        s.orphanSnap = gone.snap;

        // A killed build: builder instance (tagged by run_tags) with Packer's temporary key pair and group.
        const vpc = (await east.send(new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }))).Vpcs![0].VpcId!;
        const tmpName = packerName();
        const sg = await east.send(
            new CreateSecurityGroupCommand({ GroupName: tmpName, Description: "Temporary group for Packer", VpcId: vpc }),
        );
        s.builderSg = sg.GroupId!;
        await east.send(new CreateKeyPairCommand({ KeyName: tmpName }));
        s.builderKey = tmpName;
        const base = (await east.send(new DescribeImagesCommand({ Filters: [{ Name: "name", Values: ["*ubuntu*"] }] }))).Images![0]
            .ImageId!;
        const b = await east.send(
            new RunInstancesCommand({
                ImageId: base,
                MinCount: 1,
                MaxCount: 1,
                InstanceType: "t3.micro",
                KeyName: tmpName,
                SecurityGroupIds: [sg.GroupId!],
                TagSpecifications: [{ ResourceType: "instance", Tags: tagList(ours({ Stack: "local-gone", Name: "Packer Builder" })) }],
            }),
        );
        s.builder = b.Instances![0].InstanceId!;
        // A tagged temporary key pair whose build never got an instance.
        s.taggedKey = "couchbase-images-tmp-1";
        await east.send(
            new CreateKeyPairCommand({
                KeyName: s.taggedKey,
                TagSpecifications: [{ ResourceType: "key-pair", Tags: tagList(ours({ Stack: "local-gone" })) }],
            }),
        );
        // Foreign Packer leftovers (another team's): never ours.
        const foreignName = packerName();
        s.foreignKey = foreignName;
        await east.send(new CreateKeyPairCommand({ KeyName: foreignName }));
        s.foreignSg = (
            await east.send(
                new CreateSecurityGroupCommand({ GroupName: foreignName, Description: "Temporary group for Packer", VpcId: vpc }),
            )
        ).GroupId!;

        await east.send(new TerminateInstancesCommand({ InstanceIds: [m] }));
        await west.send(new TerminateInstancesCommand({ InstanceIds: [mWest] }));

        fs.mkdirSync(path.join(repo, "versions"));
        fs.writeFileSync(
            path.join(repo, "versions", "local-old.json"),
            JSON.stringify({ stack: "local-old", images: { "us-east-1": s.pinned } }, null, 2),
        );
        // A stack that writes its versions file elsewhere (versionsDir), as the e2e stacks do.
        fs.writeFileSync(path.join(repo, "Pulumi.local-ci.yaml"), "config:\n  couchbase-images:versionsDir: .build/ci/versions\n");
        fs.mkdirSync(path.join(repo, ".build", "ci", "versions"), { recursive: true });
        fs.writeFileSync(
            path.join(repo, ".build", "ci", "versions", "local-ci.json"),
            JSON.stringify({ stack: "local-ci", images: { "us-east-1": s.pinnedCustom } }, null, 2),
        );
        const stacks = path.join(repo, ".pulumi-state", ".pulumi", "stacks", PROJECT);
        fs.mkdirSync(stacks, { recursive: true });
        fs.writeFileSync(path.join(stacks, "local-live.json"), "{}");

        expectDeleted.push(s.expired, s.expiredSnap, s.west, s.westSnap, s.orphanSnap, s.builder, s.builderSg, s.builderKey, s.taggedKey);
        expectKept.push(s.prod, s.prodSnap, s.unexpired, s.foreign, s.pinned, s.pinnedCustom, s.live, s.foreignKey, s.foreignSg);
    });

    after(async () => {
        clients.forEach((c) => c.destroy());
        restoreEnv();
        if (repo) fs.rmSync(repo, { recursive: true, force: true });
        await moto?.stop();
    });

    async function run(extra: string[]): Promise<{ r: JanitorResult; out: string[]; err: string[] }> {
        const out: string[] = [];
        const err: string[] = [];
        const o = parseArgs(["--regions", "us-east-1,us-west-2", "--endpoint", moto.endpoint, "--repo", repo, ...extra], {});
        const r = await runJanitor(o, {
            out: (l) => out.push(l),
            err: (l) => err.push(l),
            now: later(),
            retry: { baseMs: 50, maxMs: 200 },
        });
        return { r, out, err };
    }

    async function present(ids: string[]): Promise<Set<string>> {
        const found = new Set<string>();
        for (const region of ["us-east-1", "us-west-2"]) {
            const inv: Inventory = await inventory(await client(region), { ids });
            for (const list of [inv.images, inv.snapshots, inv.instances, inv.keyPairs, inv.securityGroups])
                for (const x of list as { id: string; name?: string }[]) {
                    found.add(x.id);
                    if (x.name) found.add(x.name);
                }
        }
        return found;
    }

    it("dry run: prints the plan table and the savings, deletes nothing", async () => {
        const { r, out } = await run([]);
        assert.equal(r.exitCode, 0);
        assert.equal(r.outcomes.length, 0);
        const table = out.join("\n");
        assert.match(table.split("\n")[0], /^REGION\s+KIND\s+ID\s+NAME\s+STACK\s+AGE\s+REASON\s+ACTION$/);
        const view = new Map(r.rows.map((x) => [x.kind === "key-pair" ? x.name : x.id, `${x.kind} ${x.action}: ${x.reason}`]));
        const want: Record<string, RegExp> = {
            [s.expired]: /^image delete: expired /,
            [s.expiredSnap]: new RegExp(`^snapshot delete: snapshot of ${s.expired}$`),
            [s.west]: /^image delete: expired /,
            [s.westSnap]: /^snapshot delete: snapshot of /,
            [s.orphanSnap]: /^snapshot delete: orphan: image ami-\w+ is gone$/,
            [s.builder]: /^instance delete: builder older than 2h$/,
            [s.builderSg]: new RegExp(`^security-group delete: temporary security-group of ${s.builder}$`),
            [s.builderKey]: new RegExp(`^key-pair delete: temporary key-pair of ${s.builder}$`),
            [s.taggedKey]: /^key-pair delete: temporary key-pair older than 2h$/,
            [s.prod]: /^image keep: production/,
            [s.prodSnap]: new RegExp(`^snapshot keep: in use by ${s.prod}$`),
            [s.unexpired]: /^image keep: expires /,
            [s.pinned]: /^image keep: named in versions\/local-old\.json$/,
            [s.pinnedCustom]: /^image keep: named in \.build\/ci\/versions\/local-ci\.json$/,
            [s.live]: /^image keep: stack local-live still exists$/,
        };
        assert.deepEqual([...view.keys()].sort(), Object.keys(want).sort(), table);
        for (const [id, re] of Object.entries(want)) assert.match(view.get(id)!, re, id);
        for (const id of [s.foreign, s.foreignKey, s.foreignSg]) assert.ok(!table.includes(id), `foreign ${id} listed`);
        for (const x of r.rows) assert.match(table, new RegExp(`${x.region}\\s+${x.kind}\\s+${x.id}\\s`));
        // 4 snapshots of 15 GiB (moto's size) at $0.05.
        assert.match(table, /would delete: 1 instance, 2 images, 3 snapshots, 1 security-group, 2 key-pairs; kept: 6\./);
        assert.match(table, /snapshot storage to free: 45 GiB ≈ \$2\.25\/month at \$0\.05\/GiB-month/);
        assert.match(table, /Dry run: nothing was deleted/);
        const still = await present([...expectDeleted, ...expectKept]);
        for (const id of [...expectDeleted, ...expectKept]) assert.ok(still.has(id), `${id} vanished in a dry run`);
    });

    it("--stack narrows the sweep to one stack and may take a live stack's images", async () => {
        const { r } = await run(["--stack", "local-live"]);
        assert.deepEqual(
            r.rows.map((x) => [x.kind, x.id, x.action]),
            [
                ["image", s.live, "delete"],
                ["snapshot", r.rows[1]?.id, "delete"],
            ],
        );
    });

    it("--all-regions asks DescribeRegions and finds both seeded regions", async () => {
        const out: string[] = [];
        const o = parseArgs(["--all-regions", "--endpoint", moto.endpoint, "--repo", repo], {});
        const r = await runJanitor(o, { out: (l) => out.push(l), err: (l) => out.push(l), now: later() });
        assert.match(out[0], /dry run in .*us-east-1.*us-west-2/);
        assert.deepEqual([...new Set(r.rows.map((x) => x.region))].sort(), ["us-east-1", "us-west-2"]);
        assert.equal(r.rows.filter((x) => x.action === "delete").length, 9);
    });

    it("--delete removes exactly the planned objects, in order; a second run finds nothing", async () => {
        const { r, out } = await run(["--delete"]);
        assert.equal(r.exitCode, 0, out.join("\n"));
        assert.equal(r.failures, 0);
        const order = r.outcomes.filter((o) => o.row.region === "us-east-1").map((o) => o.row.kind);
        const rank = (k: string) => ["instance", "image", "snapshot", "security-group", "key-pair"].indexOf(k);
        assert.deepEqual(
            order,
            [...order].sort((a, b) => rank(a) - rank(b)),
        );
        assert.ok(
            r.outcomes.every((o) => o.status === "deleted"),
            JSON.stringify(r.outcomes.filter((o) => o.status !== "deleted")),
        );
        const still = await present([...expectDeleted, ...expectKept]);
        for (const id of expectDeleted) assert.ok(!still.has(id), `${id} should be gone`);
        for (const id of expectKept) assert.ok(still.has(id), `${id} should be kept`);

        const again = await run(["--delete"]);
        assert.equal(again.r.exitCode, 0);
        assert.equal(again.r.rows.filter((x) => x.action === "delete").length, 0, again.out.join("\n"));
        assert.equal(again.r.outcomes.length, 0);
        assert.match(again.out.join("\n"), /would delete|deleting: nothing/);
    });

    it("the CLI runs through npm's entry point: dry run, exit 0, usage errors exit 2", async () => {
        const cli = (args: string[]) =>
            new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
                execFile(
                    path.join(ROOT, "node_modules", ".bin", "ts-node"),
                    [path.join(ROOT, "janitor", "cli.ts"), ...args],
                    { cwd: ROOT, env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" } },
                    (e, stdout, stderr) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
                );
            });
        const ok = await cli(["--regions", "us-east-1", "--endpoint", moto.endpoint, "--repo", repo]);
        assert.equal(ok.code, 0, ok.stderr);
        assert.match(ok.stdout, /^REGION\s+KIND/);
        assert.match(ok.stdout, new RegExp(`${s.prod}.*production.*keep`));
        const bad = await cli(["--older-than", "soon"]);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /not a duration/);
    });
});
