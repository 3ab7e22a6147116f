/**
 * The boot test provider's `check` with the real Packer and the real boot test folder
 * (images/aws/boot-test, run with the launch variables the image template declares): sound inputs
 * validate (an image id not known yet too: a placeholder stands in), a broken copy of the template
 * fails at preview naming templateDir with Packer's words, and a folder with no image template
 * above it fails naming the launch variables nothing declares. Proof limit: `packer validate` only (no instance); skipped when packer is not on PATH.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BootTestProvider } from "../../providers/bootTestProvider";
import { BOOT_TEST_PROVIDER_VERSION } from "../../providers/bootTest";
import { UNKNOWN } from "../../providers/packer/validate";
import { LAUNCH_VARIABLES } from "../../providers/bootTest/launchVariables";

type Inputs = Parameters<BootTestProvider["check"]>[1];

const ROOT = path.resolve(__dirname, "../..");
const WORK = ".build/test-boot-test-validate";

describe("BootTestProvider.check with the real Packer and template", function () {
    this.timeout(120_000);
    let oldCwd = "";
    const provider = new BootTestProvider();
    const inputs = (over: Partial<Inputs> = {}) =>
        ({
            imageId: "ami-0123456789abcdef0",
            imageName: "couchbase-cloud-server-test-0123456789ab",
            region: "us-east-1",
            stack: "test-validate",
            owner: "ci",
            environment: "local",
            sshCidrs: ["127.0.0.1/32"],
            ec2Endpoint: "http://127.0.0.1:5000",
            emulator: true,
            sshHost: "127.0.0.1",
            sshPort: 2222,
            sshUsername: "root",
            providerVersion: BOOT_TEST_PROVIDER_VERSION,
            ...over,
        }) as Inputs;

    before(function () {
        try {
            execFileSync("packer", ["version"], { stdio: "ignore" });
        } catch {
            this.skip();
        }
        oldCwd = process.cwd();
        process.chdir(ROOT);
        fs.rmSync(WORK, { recursive: true, force: true });
        fs.mkdirSync(WORK, { recursive: true });
        // A broken copy inside a copy of the image template's folder (its launch variables are the builder's).
        fs.mkdirSync(`${WORK}/aws`, { recursive: true });
        fs.copyFileSync("images/aws/couchbase-cloud.pkr.hcl", `${WORK}/aws/couchbase-cloud.pkr.hcl`);
        fs.cpSync("images/aws/boot-test", `${WORK}/aws/broken`, { recursive: true });
        fs.appendFileSync(`${WORK}/aws/broken/boot-test.pkr.hcl`, "\nlocals {\n  broken = var.not_an_argument\n}\n");
        // A copy with no image template above it: nothing declares the launch variables.
        fs.cpSync("images/aws/boot-test", `${WORK}/alone/boot-test`, { recursive: true });
    });
    after(() => {
        if (oldCwd) {
            fs.rmSync(WORK, { recursive: true, force: true });
            process.chdir(oldCwd);
        }
    });

    it("the real template validates with a run's variables", async () => {
        const r = await provider.check({} as Inputs, inputs());
        assert.deepEqual(r.failures, []);
        assert.match(r.inputs?.checksHash ?? "", /^[0-9a-f]{64}$/);
    });

    it("a tag value set as secret reaches Packer from its environment (PKR_VAR_tags, an HCL map), not the var file, and validates", async () => {
        // No remembered validate: Packer must run (the stamp it leaves on success is checked below).
        for (const d of fs.existsSync(".build/check") ? fs.readdirSync(".build/check") : [])
            if (d.startsWith("boot-test-")) fs.rmSync(`.build/check/${d}/validated`, { force: true });
        const r = await provider.check(
            {} as Inputs,
            inputs({
                extraTags: { Team: "s3cr-${x}-%{y}" },
                secretValues: ["s3cr-${x}-%{y}"],
                sshPort: 2223,
            }),
        );
        assert.deepEqual(r.failures, []);
        assert.ok(
            fs.existsSync(`.build/check/boot-test-${(r.inputs?.checksHash ?? "").slice(0, 12)}/validated`),
            "packer validate did not run",
        );
    });

    it("an image id not known yet (preview) validates with a placeholder", async () => {
        const r = await provider.check(
            {} as Inputs,
            inputs({ imageId: UNKNOWN, imageName: UNKNOWN, emulationLimits: ["systemd-sysctl.service"] }),
        );
        assert.deepEqual(r.failures, []);
    });

    it("a broken template fails naming templateDir with Packer's message", async () => {
        const r = await provider.check({} as Inputs, inputs({ templateDir: `${WORK}/aws/broken` }));
        assert.equal(r.failures?.[0]?.property, "templateDir");
        assert.match(r.failures?.[0]?.reason ?? "", /packer validate of ".*broken" failed[\s\S]*not_an_argument/);
    });

    it("the folder Packer validated holds the boot test's files and the builder's launch variables, declared nowhere else", async () => {
        const r = await provider.check({} as Inputs, inputs());
        assert.deepEqual(r.failures, []);
        const dir = `.build/check/boot-test-${(r.inputs?.checksHash ?? "").slice(0, 12)}/template`;
        assert.deepEqual(fs.readdirSync(dir).sort(), ["boot-check.sh", "boot-test.pkr.hcl", "launch-key.sh", "launch-variables.pkr.hcl"]);
        const own = fs.readFileSync("images/aws/boot-test/boot-test.pkr.hcl", "utf8");
        const launch = fs.readFileSync(`${dir}/launch-variables.pkr.hcl`, "utf8");
        for (const v of LAUNCH_VARIABLES) {
            assert.doesNotMatch(own, new RegExp(`^variable "${v}"`, "m"), `boot-test.pkr.hcl declares ${v} again`);
            assert.match(launch, new RegExp(`^variable "${v}"`, "m"));
        }
    });

    it("a boot test folder with no image template above it fails naming templateDir and the variables it lacks", async () => {
        const r = await provider.check({} as Inputs, inputs({ templateDir: `${WORK}/alone/boot-test` }));
        assert.equal(r.failures?.[0]?.property, "templateDir");
        assert.match(
            r.failures?.[0]?.reason ?? "",
            /declares no variable "region", "instance_type", .*"ssh_port": the boot test launches with the builder's own declarations/,
        );
    });
});
