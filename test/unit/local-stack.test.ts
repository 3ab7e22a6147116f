/**
 * The pure parts of `npm run local` / `local:destroy` (scripts/local/localStack.ts), the local
 * backend's checkpoint reading (scripts/localStacks.ts) and the process helpers they and the e2e
 * world share (scripts/local/processes.ts).
 */
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { architectureLines, describeInventory, localSettings, localStackName, LocalError, summaryOf } from "../../scripts/local/localStack";
import { findLeftovers, isAlive, pidFromFile, stopProcess } from "../../scripts/local/processes";
import { recordsResources, stackCheckpoint } from "../../scripts/localStacks";

describe("local stack: which stack", () => {
    it("LOCAL_STACK, default local; anything but local or local-<name> is refused", () => {
        assert.equal(localStackName({}), "local");
        assert.equal(localStackName({ LOCAL_STACK: "" }), "local");
        assert.equal(localStackName({ LOCAL_STACK: "local-alice" }), "local-alice");
        assert.throws(
            () => localStackName({ LOCAL_STACK: "dev" }),
            (e: Error) => e instanceof LocalError && /LOCAL_STACK must be local or local-<name>, got 'dev'/.test(e.message),
        );
    });
});

describe("local stack: settings from the stack's config", () => {
    // As Pulumi.local.yaml holds them (quoted scalars stay strings).
    const local = {
        "couchbase-images:ec2Endpoint": "http://127.0.0.1:5000",
        "couchbase-images:sshPort": "2222",
        "couchbase-images:buildRegion": "us-east-1",
        "couchbase-images:couchbaseVersion": "7.6.3",
    };
    it("reads the namespaced keys", () => {
        assert.deepEqual(localSettings("local", local), {
            endpoint: "http://127.0.0.1:5000",
            motoPort: 5000,
            sshPort: 2222,
            region: "us-east-1",
            couchbaseVersion: "7.6.3",
            couchbaseEdition: "enterprise",
            architectures: ["amd64"],
        });
    });
    it("architectures: a list, or the JSON text of one (hostd gets a lane per architecture)", () => {
        assert.deepEqual(localSettings("local", { ...local, "couchbase-images:architectures": ["amd64", "arm64"] }).architectures, [
            "amd64",
            "arm64",
        ]);
        assert.deepEqual(localSettings("local", { ...local, "couchbase-images:architectures": '["amd64","arm64"]' }).architectures, [
            "amd64",
            "arm64",
        ]);
        assert.deepEqual(localSettings("local", { ...local, "couchbase-images:architectures": "" }).architectures, ["amd64"]);
    });
    it("absent or empty keys take the program's defaults (pipeline/config.ts), not a default of its own", () => {
        const s = localSettings("local-x", { "couchbase-images:ec2Endpoint": "http://127.0.0.1:5001", "couchbase-images:buildRegion": "" });
        assert.equal(s.region, "us-east-1");
        assert.equal(s.couchbaseVersion, "8.0.0");
        assert.equal(s.sshPort, 0, "0 = the stack sets no sshPort (up refuses it, destroy does not need it)");
    });
    it("bare keys, numbers, a -build suffix on the version", () => {
        const s = localSettings("local", {
            ec2Endpoint: "http://127.0.0.1:5002/",
            sshPort: 2223,
            couchbaseVersion: "7.6.3-1234",
            couchbaseEdition: "community",
        });
        assert.deepEqual([s.motoPort, s.sshPort, s.couchbaseVersion, s.couchbaseEdition], [5002, 2223, "7.6.3", "community"]);
    });
    it("no ec2Endpoint, or one that is no URL: an error naming the key", () => {
        assert.throws(() => localSettings("local", {}), /Pulumi\.local\.yaml sets no couchbase-images:ec2Endpoint/);
        assert.throws(
            () => localSettings("local", { "couchbase-images:ec2Endpoint": "127.0.0.1:5000x" }),
            /couchbase-images:ec2Endpoint "127\.0\.0\.1:5000x" is not a URL/,
        );
    });
});

describe("local stack: the summary of an up", () => {
    it("the build region's image id and the versions file the outputs name", () => {
        assert.deepEqual(
            summaryOf(
                { amiIds: { "us-east-1": "ami-1", "eu-west-1": "ami-2" }, versionsFile: ".build/v/local.json" },
                "us-east-1",
                "local",
            ),
            {
                imageId: "ami-1",
                versionsFile: ".build/v/local.json",
            },
        );
        assert.deepEqual(summaryOf({}, "us-east-1", "local-a"), { imageId: "", versionsFile: "versions/local-a.json" });
    });
    it("the summary names every architecture's image and boot test", () => {
        const passed = { enabled: true, passed: true, at: "T", checks: [{ status: "passed" }, { status: "skipped" }] };
        const cases: [string, Record<string, unknown>, string[]][] = [
            ["no per-architecture outputs", { amiIds: { "us-east-1": "ami-1" } }, []],
            [
                "two architectures, sorted",
                {
                    amiIdsByArch: { arm64: { "us-east-1": "ami-2" }, amd64: { "us-east-1": "ami-1" } },
                    imagesByArch: { amd64: { bootTest: passed }, arm64: { bootTest: { enabled: false } } },
                },
                [
                    "amd64: ami-1, boot test passed (1 checks passed, 1 skipped) at T",
                    "arm64: ami-2, boot test off (bootTest: false in the stack's config)",
                ],
            ],
            [
                "an architecture without an image in the region",
                { amiIdsByArch: { arm64: {} }, imagesByArch: {} },
                ["arm64: (no image), boot test (none recorded)"],
            ],
        ];
        for (const [name, outputs, want] of cases) assert.deepEqual(architectureLines(outputs, "us-east-1"), want, name);
    });
    it("an inventory in one line", () => {
        const none = { images: [], snapshots: [], instances: [], keyPairs: [], securityGroups: [] };
        assert.equal(describeInventory(none), "");
        const inv = {
            ...none,
            images: [{ id: "ami-1" }, { id: "ami-2" }],
            keyPairs: [{ id: "key-1", name: "packer-x", tags: {} }],
        } as unknown as Parameters<typeof describeInventory>[0];
        assert.equal(describeInventory(inv), "2 images (ami-1, ami-2), 1 key pair (packer-x)");
    });
});

describe("local backend: a stack's checkpoint", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "checkpoint-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
    const write = (stack: string, latest: unknown) => {
        const f = path.join(dir, ".pulumi", "stacks", "couchbase-images", `${stack}.json`);
        fs.mkdirSync(path.dirname(f), { recursive: true });
        fs.writeFileSync(f, JSON.stringify({ version: 3, checkpoint: { latest } }));
    };
    it("none yet, empty, resources, only a pending create", () => {
        assert.equal(stackCheckpoint(dir, "couchbase-images", "local"), undefined);
        assert.equal(recordsResources(undefined), false);
        write("empty", {});
        assert.equal(recordsResources(stackCheckpoint(dir, "couchbase-images", "empty")), false);
        write("built", { resources: [{ urn: "urn:pulumi:built::couchbase-images::pulumi:pulumi:Stack::x", type: "pulumi:pulumi:Stack" }] });
        assert.equal(recordsResources(stackCheckpoint(dir, "couchbase-images", "built")), true);
        write("killed", { pending_operations: [{ type: "creating", resource: { urn: "urn:x" } }] });
        const cp = stackCheckpoint(dir, "couchbase-images", "killed");
        assert.deepEqual(cp?.pendingOperations, [{ type: "creating", urn: "urn:x" }]);
        assert.equal(recordsResources(cp), true);
    });
});

describe("local processes (/proc)", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "procs-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("a pid file names a live process; stopProcess ends it with SIGTERM; a zombie is not alive", async () => {
        const child = spawn("sleep", ["30"], { stdio: "ignore" });
        const pid = child.pid!;
        fs.writeFileSync(path.join(dir, "x.pid"), `${pid}\n`);
        assert.equal(pidFromFile(path.join(dir, "x.pid")), pid);
        assert.equal(pidFromFile(path.join(dir, "absent.pid")), undefined);
        assert.equal(await stopProcess(pid, 5000), "stopped");
        assert.equal(isAlive(pid), false);
        assert.equal(pidFromFile(path.join(dir, "x.pid")), undefined);
        assert.equal(await stopProcess(pid, 5000), "gone");
    });
    it("stopProcess SIGKILLs what ignores SIGTERM", async () => {
        const child = spawn("sh", ["-c", "trap '' TERM; while :; do sleep 0.05; done"], { stdio: "ignore" });
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(await stopProcess(child.pid!, 300), "killed");
        assert.equal(isAlive(child.pid!), false);
    });
    it("findLeftovers: processes whose command line names a path inside the folder, never a sibling folder", async () => {
        const inside = path.join(dir, "state", "sandbox", "sb-1", "upper");
        const sibling = `${path.join(dir, "state")}2/x`;
        const a = spawn("sh", ["-c", "sleep 30", inside], { stdio: "ignore" });
        const b = spawn("sh", ["-c", "sleep 30", sibling], { stdio: "ignore" });
        try {
            await new Promise((r) => setTimeout(r, 100));
            const left = findLeftovers(path.join(dir, "state"));
            assert.ok(left.pids.includes(a.pid!), "the process naming a path inside");
            assert.ok(!left.pids.includes(b.pid!), "the process naming a sibling folder");
            assert.deepEqual(left.mounts, []);
        } finally {
            a.kill("SIGKILL");
            b.kill("SIGKILL");
        }
    });
});
