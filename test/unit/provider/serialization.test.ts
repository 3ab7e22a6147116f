/**
 * The provider's code is serialized into state (`__provider`) and run later by another process:
 * it must serialize, and its text must carry no machine path, credential or SDK module path.
 * Proof limit: checks the text serializeFunction produces, which is what dynamic.Resource stores.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PackerImageProvider } from "../../../providers/packerImage";

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
        assert.equal(text.includes("/work/"), false);
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
});
