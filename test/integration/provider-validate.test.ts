/**
 * `check` with the real Packer and the real template (images/aws): sound inputs validate; a broken
 * copy of the template fails at preview naming templateDir. Proof limit: `packer validate` only
 * (no build); skipped when packer is not on PATH (run npm run bootstrap).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { PackerImageProvider } from "../../providers/packer/provider";
import { PROVIDER_VERSION } from "../../providers/packer";
import { TEST_KEY_FINGERPRINT, TEST_RELEASE_SHA256, type ProviderInputs } from "../unit/provider/harness";

const ROOT = path.resolve(__dirname, "../..");
const WORK = ".build/test-provider-validate";

describe("PackerImageProvider.check with the real Packer and template", function () {
    this.timeout(120_000);
    let oldCwd = "";
    let sha = "";
    const provider = new PackerImageProvider();

    before(function () {
        try {
            execFileSync("packer", ["version"], { stdio: "ignore" });
        } catch {
            this.skip();
        }
        if (!fs.existsSync(path.join(ROOT, "images/aws/couchbase-cloud.pkr.hcl"))) this.skip();
        oldCwd = process.cwd();
        process.chdir(ROOT);
        fs.rmSync(WORK, { recursive: true, force: true });
        fs.mkdirSync(WORK, { recursive: true });
        const bytes = Buffer.from("stand-in agent artifact for validation");
        fs.writeFileSync(`${WORK}/dp-agent.gz`, new Uint8Array(bytes));
        sha = crypto.createHash("sha256").update(new Uint8Array(bytes)).digest("hex");
        fs.cpSync("images/aws", `${WORK}/broken`, { recursive: true });
        fs.appendFileSync(`${WORK}/broken/couchbase-cloud.pkr.hcl`, "\nlocals {\n  broken = var.not_an_argument\n}\n");
    });
    after(() => {
        if (oldCwd) {
            fs.rmSync(WORK, { recursive: true, force: true });
            process.chdir(oldCwd);
        }
    });

    const base = (over: Partial<ProviderInputs> = {}) =>
        ({
            region: "us-east-1",
            couchbaseVersion: "7.6.4",
            agentArtifact: `${WORK}/dp-agent.gz`,
            agentSha256: sha,
            stack: "test-validate",
            environment: "local",
            owner: "ci",
            sshCidrs: ["127.0.0.1/32"],
            // Repository mode needs the pins; well-formed test stand-ins, which the real template's
            // own validations must accept too. (Download mode, the default, with the real
            // template: test/integration/dev-stack-preview.test.ts.)
            couchbasePackageSource: "repository",
            couchbaseReleaseSha256: TEST_RELEASE_SHA256,
            couchbaseKeyFingerprints: [TEST_KEY_FINGERPRINT],
            emulator: true,
            ec2Endpoint: "http://127.0.0.1:5999",
            sshHost: "127.0.0.1",
            sshPort: 2222,
            providerVersion: PROVIDER_VERSION,
            ...over,
        }) as ProviderInputs;

    it("sound inputs pass packer validate", async () => {
        const r = await provider.check(base(), base());
        assert.deepEqual(r.failures, []);
        assert.match(r.inputs?.fingerprint ?? "", /^[0-9a-f]{64}$/);
        assert.equal(r.inputs?.fingerprintParts?.tools !== undefined, true);
    });

    it("a broken template fails at check, naming templateDir and Packer's complaint", async () => {
        const r = await provider.check(base(), base({ templateDir: `${WORK}/broken` }));
        assert.equal(r.failures?.length, 1, JSON.stringify(r.failures));
        assert.equal(r.failures[0].property, "templateDir");
        assert.match(r.failures[0].reason, /packer validate .* failed[\s\S]*not_an_argument/);
    });
});
