/**
 * The provider's code is serialized into state (`__provider`) and run later by another process:
 * it must serialize, and its text must carry no machine path, credential or SDK module path.
 * Proof limit: checks the text serializeFunction produces, which is what dynamic.Resource stores.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PackerImageProvider } from "../../../providers/packer/provider";

describe("PackerImageProvider serialization", function () {
    this.timeout(120_000);
    let text = "";
    let containsSecrets = true;

    before(async () => {
        const sf = await pulumi.runtime.serializeFunction(() => new PackerImageProvider(), { allowSecrets: true });
        text = sf.text;
        containsSecrets = sf.containsSecrets;
    });

    it("serializes", () => {
        assert.ok(text.length > 0);
        assert.match(text, /PackerImageProvider/);
    });

    it("carries no absolute path of the repository", () => {
        const root = path.resolve(__dirname, "../../..");
        assert.equal(text.includes(root), false, `serialized provider mentions ${root}`);
        assert.equal(text.includes(process.env.HOME ?? "/nonexistent-home"), false);
    });

    it("carries no credential and no @aws-sdk module path", () => {
        assert.doesNotMatch(text, /AKIA[0-9A-Z]{16}/);
        assert.equal(text.includes("node_modules/@aws-sdk"), false);
        for (const k of ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]) {
            const v = process.env[k];
            if (v) assert.equal(text.includes(v), false, `${k}'s value is in the serialized provider`);
        }
    });

    it("captures no secret", () => {
        assert.equal(containsSecrets, false);
    });

    it("serializes to the same text after check and diff ran in this process (no spurious __provider diff)", async () => {
        const provider = new PackerImageProvider();
        // Methods that load modules lazily; they fail fast here (no template), which is enough.
        await provider.check({} as never, {} as never);
        await provider.diff("x", {} as never, {} as never);
        const again = await pulumi.runtime.serializeFunction(() => new PackerImageProvider(), { allowSecrets: true });
        assert.equal(again.text, text);
    });

    // providers/ec2/*.ts load the SDK with a plain require (ec2Sdk()), not `await import()`:
    // TypeScript's __importStar helper has hidden state (the text would change after a helper ran)
    // and is not captured once tslib is loaded ("__importStar is not defined" in the provider host).
    it("serializes to the same text after the shared EC2 helpers ran in this process", async () => {
        const { ec2Client } = await import("../../../providers/ec2/client");
        await ec2Client("us-east-1", "http://127.0.0.1:9");
        const again = await pulumi.runtime.serializeFunction(() => new PackerImageProvider(), { allowSecrets: true });
        assert.equal(again.text, text);
    });
    it("the serialized provider reaches EC2 from a fresh Node process, even when the program loaded tslib", async () => {
        require("tslib"); // as any process using aws-sdk-client-mock (or other tslib users) does
        const sf = await pulumi.runtime.serializeFunction(() => new PackerImageProvider(), { allowSecrets: true });
        const dir = path.resolve(__dirname, "../../../.build/test-serialization");
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, "provider.js"), sf.text);
        const script = `require(${JSON.stringify(path.join(dir, "provider.js"))}).handler().delete("ami-0123456789abcdef0", { imageId: "ami-0123456789abcdef0", region: "us-east-1", ec2Endpoint: "http://127.0.0.1:9", snapshotIds: [] }).then(() => console.log("RESULT ok"), (e) => console.log("RESULT " + e.name + ": " + e.message));`;
        const out = execFileSync(process.execPath, ["-e", script], {
            cwd: path.resolve(__dirname, "../../.."),
            env: { PATH: process.env.PATH, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", AWS_MAX_ATTEMPTS: "1" },
            encoding: "utf8",
            timeout: 60_000,
        });
        const result = out.split("\n").find((l) => l.startsWith("RESULT ")) ?? out;
        assert.doesNotMatch(result, /is not defined|Cannot find module/);
    });
});
