/**
 * The image resource through the real Pulumi engine (stack driver, Automation API, the Node
 * dynamic-provider host running the serialized provider) against moto, with the fake packer
 * making a real image in moto: up, no-change up, refresh, a bad input failing preview, destroy
 * leaving no image or snapshot. Proof limit: Packer is the fake; the real-Packer path is the local
 * pipeline's end-to-end test.
 */
import * as assert from "node:assert/strict";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { runStack, PROJECT_ROOT } from "../../scripts/stack";
import { startMoto, type MotoServer } from "../../scripts/local/moto";
import { ec2Client } from "../../providers/ec2/client";
import { describeImage } from "../../providers/ec2/images";
import { inventory } from "../../providers/ec2/inventory";
import { PackerImage, type PackerImageArgs } from "../../providers/packer";
import { engineImageArgs, engineTeardown, fakePackerWork } from "../fixtures/engineImage";
import { setEnv } from "../fixtures/env";

const WORK = ".build/test-provider-engine";

describe("PackerImage through the real engine against moto", function () {
    this.timeout(300_000);
    const stack = `local-provider-${process.pid}`;
    let moto: MotoServer;
    let envVars: Record<string, string> = {};
    let sha = "";
    let restoreEnv = () => {};
    let output = "";
    const onOutput = (s: string) => {
        output += s;
    };

    const program =
        (over: Partial<PackerImageArgs> = {}) =>
        async () => {
            const img = new PackerImage("image", {
                ...engineImageArgs({ stack, endpoint: moto.endpoint, agentArtifact: `${WORK}/dp-agent.gz`, agentSha256: sha }),
                ...over,
            });
            return { imageId: img.imageId, snapshotIds: img.snapshotIds, fingerprint: img.fingerprint };
        };
    const run = (op: "preview" | "up" | "refresh" | "destroy", over: Partial<PackerImageArgs> = {}, extra = {}) =>
        runStack(op, { stack, seedConfig: false, envVars, onOutput, program: program(over), ...extra });

    before(async function () {
        if (!fs.existsSync(path.join(PROJECT_ROOT, "bin/pulumi"))) this.skip();
        moto = await startMoto();
        restoreEnv = setEnv(moto.env);
        envVars = fakePackerWork(PROJECT_ROOT, WORK, moto.env);
        const bytes = new Uint8Array(Buffer.from("agent artifact for the engine test"));
        fs.writeFileSync(path.join(PROJECT_ROOT, WORK, "dp-agent.gz"), bytes);
        sha = crypto.createHash("sha256").update(bytes).digest("hex");
    });
    after(async () => {
        if (!moto) return;
        await engineTeardown({
            destroy: () => run("destroy", {}, { remove: true }),
            stopMoto: () => moto.stop(),
            restoreEnv,
            root: PROJECT_ROOT,
            work: WORK,
            stack,
        });
    });

    let imageId = "";
    let snapshotIds: string[] = [];

    it("up builds the image in moto", async () => {
        // Baseline first. This also runs the shared EC2 modules' lazy `await import()` helpers in
        // this process before the first serialization: TypeScript's __importStar caches `ownKeys`
        // on first call, which changes the serialized provider text (see docs/provider.md).
        const ec2 = await ec2Client("us-east-1", moto.endpoint);
        const baseline = await inventory(ec2, { tags: { Project: "couchbase-images", Stack: stack } });
        assert.equal(baseline.images.length, 0);
        assert.equal(await describeImage(ec2, "ami-00000000000000000"), undefined);
        const r = await run("up");
        assert.equal(r.changes.create, 2, output);
        imageId = r.outputs.imageId as string;
        snapshotIds = r.outputs.snapshotIds as string[];
        assert.match(imageId, /^ami-/);
        const img = await describeImage(await ec2Client("us-east-1", moto.endpoint), imageId);
        assert.equal(img?.tags.Stack, stack);
        assert.match(output, /packer: ==> amazon-ebs\.couchbase: step provision/, "Packer output streamed into up");
        // Once, live, on the image's row; the closing summary names the log file instead.
        const lines = output.split("\n");
        const provision = lines.filter((l) => l.includes("packer: ==> amazon-ebs.couchbase: step provision"));
        assert.equal(provision.length, 1, output);
        assert.match(provision[0], /pulumi-nodejs:dynamic\/packer:Image image /);
        const summary = output.slice(output.indexOf("Diagnostics:"));
        assert.doesNotMatch(summary, /packer: /, "no Packer line repeated in the summary");
        assert.match(summary, /log: \.build\/logs\/\S+\.log/);
    });

    it("a second up changes nothing (diff says changes: false)", async () => {
        output = "";
        const r = await run("up", {}, { expectNoChanges: true, diff: true });
        assert.equal(r.changes.same, 2, output);
    });

    it("refresh keeps the existing image", async () => {
        const r = await run("refresh");
        assert.equal(r.changes.delete ?? 0, 0);
    });

    it("preview with a world-open CIDR fails naming sshCidrs and builds nothing", async () => {
        output = "";
        await assert.rejects(run("preview", { sshCidrs: ["0.0.0.0/0"] }), /sshCidrs\[0\]/);
        assert.match(output, /whole internet/);
    });

    it("destroy deletes the image and its snapshots", async () => {
        const r = await run("destroy");
        assert.equal(r.changes.delete, 2);
        const ec2 = await ec2Client("us-east-1", moto.endpoint);
        assert.equal(await describeImage(ec2, imageId), undefined);
        assert.equal((await inventory(ec2, { ids: snapshotIds })).snapshots.length, 0);
        const left = await inventory(ec2, { tags: { Project: "couchbase-images", Stack: stack } });
        assert.equal(left.images.length + left.snapshots.length, 0);
    });
});
