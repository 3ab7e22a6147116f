/**
 * How `npm run local` reads its stack's config: through the Automation API's reader of
 * `Pulumi.<stack>.yaml` (scripts/stack.ts stackConfigValues, needs the pulumi CLI), seeded from
 * `Pulumi.local.yaml` for a new `local-<name>` stack, then the program's defaults
 * (scripts/local/localStack.ts localSettings).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { localSettings } from "../../scripts/local/localStack";
import { stackConfigValues } from "../../scripts/stack";

describe("local stack config (Automation API reader)", () => {
    let dir: string;
    before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-config-"))));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("the repository's Pulumi.local.yaml: moto on 5000, the sandbox sshd on 2222 (arm64's lane on 2223), us-east-1, the stand-in's version, both architectures", async () => {
        const s = localSettings("local", await stackConfigValues("local"));
        assert.deepEqual(s, {
            endpoint: "http://127.0.0.1:5000",
            motoPort: 5000,
            sshPort: 2222,
            region: "us-east-1",
            couchbaseVersion: "7.6.3",
            couchbaseEdition: "enterprise",
            architectures: ["amd64", "arm64"],
        });
    });
    it("a new local-<name> stack is seeded from Pulumi.local.yaml; typed values keep their type; secrets are left out", async () => {
        fs.writeFileSync(
            path.join(dir, "Pulumi.local.yaml"),
            [
                "config:",
                "  couchbase-images:ec2Endpoint: http://127.0.0.1:5009",
                "  couchbase-images:sshPort: 2299",
                "  couchbase-images:sshCidrs:",
                "    - 127.0.0.1/32",
                "  couchbase-images:owner:",
                "    secure: v1:abc",
                "",
            ].join("\n"),
        );
        const values = await stackConfigValues("local-seeded", dir);
        assert.ok(fs.existsSync(path.join(dir, "Pulumi.local-seeded.yaml")), "seeded");
        assert.deepEqual(values, {
            "couchbase-images:ec2Endpoint": "http://127.0.0.1:5009",
            "couchbase-images:sshPort": 2299,
            "couchbase-images:sshCidrs": ["127.0.0.1/32"],
        });
        assert.deepEqual(await stackConfigValues("other", dir), {}, "no settings file: nothing set");
    });
});
