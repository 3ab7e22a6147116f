import * as assert from "node:assert/strict";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

// The image provider calls these helpers from its methods; Pulumi serializes everything a method
// references into state. This guard fails if a helper module ever captures a native object (an SDK
// client, a hash) or pulls in the SDK at module scope.
describe("ec2 helpers are dynamic-provider serializable", () => {
    it("a closure using every helper serializes without secrets or SDK paths", async function () {
        this.timeout(60_000);
        const { ec2Client } = await import("../../../providers/ec2/client");
        const images = await import("../../../providers/ec2/images");
        const inv = await import("../../../providers/ec2/inventory");
        const left = await import("../../../providers/ec2/leftovers");
        const fn = async (id: string) => {
            const ec2 = await ec2Client("us-east-1");
            await images.deleteImageAndSnapshots(ec2, id);
            await images.findImagesByTags(ec2, { Project: "couchbase-images" });
            await inv.inventory(ec2, { ids: [id] });
            await left.terminateInstances(ec2, []);
        };
        const s = await pulumi.runtime.serializeFunction(fn, { allowSecrets: true });
        assert.equal(s.containsSecrets, false);
        assert.ok(!s.text.includes("node_modules/@aws-sdk"), "an @aws-sdk module path was captured");
        assert.ok(!s.text.includes(path.resolve(__dirname, "../../..")), "the repo's absolute path was captured");
        assert.ok(s.text.includes('require("@aws-sdk/client-ec2")'), "SDK should be required lazily by name");
    });
});
