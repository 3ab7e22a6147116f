/**
 * The boot test provider's methods, called as the engine calls them (check with the olds and the
 * program's inputs, diff with the stored outputs and the checked inputs, create with the checked
 * inputs), against the fake `packer` (test/fixtures/fake-packer: a boot test run "downloads" the
 * report FAKE_PACKER_REPORT gives) in a temporary project whose boot test folder holds the real
 * template and a stub check script (test/fixtures/boot-check-stub.sh). Proof limit: Packer's and
 * the instance's behaviour are the fake's; the e2e tests run the real ones.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BootTestProvider } from "../../../providers/bootTestProvider";
import { BOOT_TEST_PROVIDER_VERSION } from "../../../providers/bootTest";
import { UNKNOWN } from "../../../providers/packer/validate";
import { captureConsole, FAKE_PACKER, waitFor } from "./harness";

type Inputs = Parameters<BootTestProvider["create"]>[0];
type Outputs = Parameters<BootTestProvider["diff"]>[1];

const ROOT = path.resolve(__dirname, "../../..");
const IMAGE = "ami-0fa4e000000000001";
const KNOBS = [
    "FAKE_PACKER_LOG",
    "FAKE_PACKER_FAIL_AT",
    "FAKE_PACKER_SLEEP_AT",
    "FAKE_PACKER_SLEEP",
    "FAKE_PACKER_IGNORE_SIGNALS",
    "FAKE_PACKER_CLEANUP_MS",
    "FAKE_PACKER_REPORT",
    "FAKE_PACKER_VALIDATE_FAIL",
];

/** A report as boot-check.sh writes it. */
function report(checks: { name: string; status: string; saw: string }[], passed = !checks.some((c) => c.status === "failed")): string {
    return JSON.stringify({
        schemaVersion: 1,
        passed,
        instanceId: "i-0123456789abcdef0",
        region: "eu-west-1",
        checkedAt: "2026-12-01T12:00:00Z",
        checks,
    });
}

describe("BootTestProvider", function () {
    this.timeout(60_000);
    const provider = new BootTestProvider();
    let root = "";
    let oldCwd = "";
    let oldPath = "";
    const logFile = () => path.join(root, "fake-packer.log");
    const events = (): Record<string, unknown>[] =>
        fs.existsSync(logFile())
            ? fs
                  .readFileSync(logFile(), "utf8")
                  .trim()
                  .split("\n")
                  .filter(Boolean)
                  .map((l) => JSON.parse(l) as Record<string, unknown>)
            : [];

    /** The program's inputs (before check), as the resource class sends them. */
    const args = (over: Partial<Inputs> = {}): Inputs =>
        ({
            templateDir: "images/aws/boot-test",
            imageId: IMAGE,
            imageName: "couchbase-cloud-server-dev-alice-0123456789ab",
            region: "eu-west-1",
            instanceType: "t3.large",
            stack: "dev-alice",
            owner: "alice",
            environment: "dev",
            extraTags: { CostCenter: "42" },
            sshCidrs: ["203.0.113.4/32"],
            sshPort: 0,
            providerVersion: BOOT_TEST_PROVIDER_VERSION,
            resourceUrn: "urn:pulumi:dev-alice::couchbase-images::pulumi-nodejs:dynamic/packer:BootTest::couchbase-boot-test",
            ...over,
        }) as Inputs;

    /** check, as the engine calls it on a create: no olds. */
    const checked = async (over: Partial<Inputs> = {}): Promise<Inputs> => {
        const r = await provider.check({} as Inputs, args(over));
        assert.deepEqual(r.failures, []);
        return r.inputs as Inputs;
    };

    before(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "boot-test-provider-"));
        const dir = path.join(root, "images/aws/boot-test");
        fs.mkdirSync(dir, { recursive: true });
        fs.copyFileSync(path.join(ROOT, "images/aws/boot-test/boot-test.pkr.hcl"), path.join(dir, "boot-test.pkr.hcl"));
        fs.copyFileSync(path.join(ROOT, "test/fixtures/boot-check-stub.sh"), path.join(dir, "boot-check.sh"));
        fs.copyFileSync(path.join(ROOT, "images/aws/boot-test/launch-key.sh"), path.join(dir, "launch-key.sh"));
        // The launch variables the boot test runs with are the image template's declarations.
        fs.copyFileSync(path.join(ROOT, "images/aws/couchbase-cloud.pkr.hcl"), path.join(root, "images/aws/couchbase-cloud.pkr.hcl"));
        const bin = path.join(root, ".fakebin");
        fs.mkdirSync(bin);
        fs.symlinkSync(FAKE_PACKER, path.join(bin, "packer"));
        oldCwd = process.cwd();
        oldPath = process.env.PATH ?? "";
        process.chdir(root);
        process.env.PATH = `${bin}:${oldPath}`;
    });
    after(() => {
        for (const k of KNOBS) delete process.env[k];
        process.chdir(oldCwd);
        process.env.PATH = oldPath;
        fs.rmSync(root, { recursive: true, force: true });
    });
    beforeEach(() => {
        for (const k of KNOBS) delete process.env[k];
        process.env.FAKE_PACKER_LOG = logFile();
        fs.rmSync(logFile(), { force: true });
        fs.rmSync(path.join(root, ".build/check"), { recursive: true, force: true });
    });

    describe("check", () => {
        it("accepts sound inputs, applies defaults, hashes the checks and runs packer validate with the template's variables", async () => {
            const i = await checked({ instanceType: undefined, sshUsername: undefined });
            assert.equal(i.instanceType, "t3.large");
            assert.equal(i.sshUsername, "ubuntu");
            assert.equal(i.timeoutMinutes, 30);
            assert.match(i.checksHash ?? "", /^[0-9a-f]{64}$/);
            const v = events().filter((e) => e.cmd === "validate");
            assert.equal(v.length, 1);
            const varFile = (v[0].argv as string[]).find((a) => a.startsWith("-var-file="))!.slice("-var-file=".length);
            const vars = v[0].vars as Record<string, unknown>;
            assert.equal(v[0].mode, "600");
            assert.equal(fs.existsSync(varFile), false, "the check's var file outlives packer validate");
            assert.equal(vars.image_id, IMAGE);
            assert.deepEqual(vars.ssh_cidrs, ["203.0.113.4/32"]);
            assert.equal((vars.tags as Record<string, string>).Purpose, "boot-test");
            // Packer validates the run's folder: the boot test's files and the builder's launch variables.
            assert.equal((v[0].argv as string[]).at(-1), `.build/check/boot-test-${i.checksHash!.slice(0, 12)}/template`);
        });

        it("an image id not known yet (preview of a new image) is no failure: validate runs with a placeholder", async () => {
            const i = await checked({ imageId: UNKNOWN, imageName: UNKNOWN });
            assert.equal(i.imageId, UNKNOWN);
            assert.match(i.checksHash ?? "", /^[0-9a-f]{64}$/);
            const [v] = events().filter((e) => e.cmd === "validate");
            const varFile = (v.argv as string[]).find((a) => a.startsWith("-var-file="))!.slice("-var-file=".length);
            assert.equal((v.vars as Record<string, unknown>).image_id, "ami-00000000000000000");
            assert.equal(fs.existsSync(varFile), false);
        });

        it("a passing packer validate is remembered: the next check runs no Packer", async () => {
            await checked();
            await checked({ imageId: "ami-0fa4e000000000002" });
            assert.equal(events().filter((e) => e.cmd === "validate").length, 1);
        });

        it("collects every failure, each naming its property", async () => {
            const r = await provider.check(
                {} as Inputs,
                args({
                    imageId: "img-1",
                    region: "mars-1",
                    sshCidrs: ["0.0.0.0/0"],
                    timeoutMinutes: 0,
                    emulationLimits: ["bad unit"],
                    owner: "",
                    emulator: true,
                    ec2Endpoint: "",
                    sshInterface: "ipv6",
                }),
            );
            const props = (r.failures ?? []).map((f) => f.property).sort();
            assert.deepEqual(props, [
                "emulationLimits[0]",
                "emulator",
                "imageId",
                "owner",
                "region",
                "sshCidrs[0]",
                "sshInterface",
                "timeoutMinutes",
            ]);
            const cidr = r.failures?.find((f) => f.property === "sshCidrs[0]")?.reason ?? "";
            assert.match(cidr, /never 0\.0\.0\.0\/0/);
            assert.equal(events().filter((e) => e.cmd === "validate").length, 0, "no Packer for bad inputs");
        });

        it("a folder without the template or the check script names templateDir", async () => {
            fs.mkdirSync(path.join(root, "empty-dir"), { recursive: true });
            const r = await provider.check({} as Inputs, args({ templateDir: "empty-dir" }));
            assert.deepEqual(
                r.failures?.map((f) => f.property),
                ["templateDir"],
            );
            assert.match(r.failures?.[0].reason ?? "", /no boot-test\.pkr\.hcl and no boot-check\.sh and no launch-key\.sh/);
            const abs = await provider.check({} as Inputs, args({ templateDir: "/etc" }));
            assert.match(abs.failures?.[0].reason ?? "", /absolute/);
        });

        it("packer validate failing is a templateDir failure quoting Packer", async () => {
            process.env.FAKE_PACKER_VALIDATE_FAIL = 'Unsupported argument; An argument named "bogus" is not expected here.';
            const r = await provider.check({} as Inputs, args());
            assert.equal(r.failures?.[0].property, "templateDir");
            assert.match(r.failures?.[0].reason ?? "", /packer validate of "images\/aws\/boot-test" failed .*\n.*bogus/);
        });

        it("the checks hash changes with the check script, not with the image's files", async () => {
            const a = (await checked()).checksHash;
            const script = path.join(root, "images/aws/boot-test/boot-check.sh");
            const before = fs.readFileSync(script);
            fs.appendFileSync(script, "# a new check\n");
            try {
                assert.notEqual((await checked()).checksHash, a);
            } finally {
                fs.writeFileSync(script, new Uint8Array(before));
            }
            assert.equal((await checked()).checksHash, a);
        });
    });

    describe("diff", () => {
        const stored = async (over: Partial<Inputs> = {}): Promise<Outputs> =>
            ({
                ...(await checked(over)),
                passed: true,
                testedAt: "2026-12-01T12:00:00Z",
                checks: [],
                instanceId: "i-1",
                testLog: "x.log",
                __provider: "code",
            }) as Outputs;

        it("nothing changed → no change", async () => {
            const olds = await stored();
            assert.deepEqual(await provider.diff("id", olds, { ...(await checked()), __provider: "code" }), { changes: false });
        });

        it("a new image → test again (replace, the old record goes after the new test passed)", async () => {
            const r = await provider.diff("id", await stored(), {
                ...(await checked({ imageId: "ami-0fa4e000000000002" })),
                __provider: "code",
            });
            assert.deepEqual(r, { changes: true, replaces: ["imageId"], deleteBeforeReplace: false });
        });

        it("an image id not known yet (preview) → replace", async () => {
            const r = await provider.diff("id", await stored(), { ...(await checked({ imageId: UNKNOWN })), __provider: "code" });
            assert.deepEqual(r.replaces, ["imageId"]);
        });

        it("changed checks → test the same image again", async () => {
            const news = { ...(await checked()), checksHash: "0".repeat(64), __provider: "code" };
            assert.deepEqual((await provider.diff("id", await stored(), news)).replaces, ["checksHash"]);
        });

        it("emulation limits → replace; launch settings, tags and provider code → update without a test", async () => {
            const olds = await stored();
            assert.deepEqual(
                (
                    await provider.diff("id", olds, {
                        ...(await checked({ emulationLimits: ["systemd-sysctl.service"] })),
                        __provider: "code",
                    })
                ).replaces,
                ["emulationLimits"],
            );
            for (const over of [
                { sshCidrs: ["198.51.100.0/24"] },
                { owner: "bob" },
                { instanceType: "m7i.large" },
                { timeoutMinutes: 45 },
            ]) {
                const r = await provider.diff("id", olds, { ...(await checked(over)), __provider: "code" });
                assert.deepEqual(r, { changes: true, replaces: [], deleteBeforeReplace: false }, JSON.stringify(over));
            }
            const code = await provider.diff("id", olds, { ...(await checked()), __provider: "new code" });
            assert.deepEqual(code, { changes: true, replaces: [], deleteBeforeReplace: false });
        });

        it("only the resource's URN differs → no change", async () => {
            const r = await provider.diff("id", await stored(), { ...(await checked({ resourceUrn: "urn:other" })), __provider: "code" });
            assert.deepEqual(r, { changes: false });
        });
    });

    describe("create", () => {
        it("runs the template with a run's variables and returns the passed report", async () => {
            const i = await checked();
            const { result: r, lines } = await captureConsole(() => provider.create(i));
            assert.ok(r?.outs, lines.join("\n"));
            const result = { id: r.id, outs: r.outs };
            assert.equal(result.outs.passed, true);
            assert.deepEqual(
                result.outs.checks.map((c) => c.name),
                ["system-running", "dp-agent-active"],
            );
            assert.match(result.outs.testedAt, /^2\d{3}-\d\d-\d\dT/);
            assert.equal(result.outs.instanceId, "i-0fa4e000000000001");
            assert.equal(result.outs.checksHash, i.checksHash);
            assert.equal(result.id, `${IMAGE}-${i.checksHash!.slice(0, 12)}`);
            const [build] = events().filter((e) => e.cmd === "build");
            assert.deepEqual((build.argv as string[]).slice(0, 4), ["build", "-machine-readable", "-color=false", "-on-error=cleanup"]);
            assert.match((build.argv as string[]).at(-1) ?? "", /^\.build\/boot-test\/dev-alice-[0-9a-f]{12}-\d{8}T\d{6}Z\/template$/);
            const vars = build.vars as Record<string, unknown>;
            assert.equal(vars.image_id, IMAGE);
            assert.equal(vars.region, "eu-west-1");
            assert.equal(vars.instance_type, "t3.large");
            assert.match(String(vars.temporary_key_pair_name), /^packer-boot-test-[0-9a-f]{12}-\d{8}T\d{6}Z$/);
            assert.match(String(vars.report_path), /^\.build\/boot-test\/dev-alice-[0-9a-f]{12}-\d{8}T\d{6}Z\/report\.json$/);
            const tags = vars.tags as Record<string, string>;
            assert.equal(tags.Purpose, "boot-test");
            assert.equal(tags.Project, "couchbase-images");
            assert.equal(tags.Stack, "dev-alice");
            assert.equal(tags.SourceImage, IMAGE);
            assert.equal(tags.CostCenter, "42");
            assert.match(tags.ExpiresAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
            assert.ok(Date.parse(tags.ExpiresAt) - Date.now() <= 30 * 60_000 + 5_000, "the test instance expires with the test's deadline");
            // The report is in the test's log.
            const log = fs.readFileSync(result.outs.testLog, "utf8");
            assert.match(log, /boot-test: passed {2}system-running: running/);
            assert.match(log, /"schemaVersion": 1/);
        });

        it("a failed check fails create, listing each failed check and what it saw; the log keeps the report", async () => {
            process.env.FAKE_PACKER_REPORT = report([
                { name: "system-running", status: "failed", saw: "degraded (failed: disable-thp.service)" },
                { name: "dp-agent-active", status: "failed", saw: "inactive (disabled)" },
                { name: "couchbase-enabled", status: "passed", saw: "enabled, active" },
                { name: "thp", status: "skipped", saw: "read-only in a container" },
            ]);
            const { error } = await captureConsole(async () => provider.create(await checked()));
            assert.ok(error, "create passed");
            assert.match(error.message, /^boot test of ami-0fa4e000000000001 failed: 2 of 4 checks failed\n/);
            assert.match(error.message, /\n {2}- system-running: degraded \(failed: disable-thp\.service\)\n/);
            assert.match(error.message, /\n {2}- dp-agent-active: inactive \(disabled\)\n/);
            assert.doesNotMatch(error.message, /couchbase-enabled|thp:/);
            const logPath = /log: (\S+)$/.exec(error.message)?.[1] ?? "";
            assert.match(fs.readFileSync(logPath, "utf8"), /failed {2}dp-agent-active: inactive \(disabled\)/);
        });

        it("a report that says not passed without a failed check still fails", async () => {
            process.env.FAKE_PACKER_REPORT = report([{ name: "system-running", status: "passed", saw: "running" }], false);
            const { error } = await captureConsole(async () => provider.create(await checked()));
            assert.match(error?.message ?? "", /says it did not pass, but lists no failed check/);
        });

        it("no report, or an unreadable one → a clear error", async () => {
            process.env.FAKE_PACKER_REPORT = "missing";
            const a = await captureConsole(async () => provider.create(await checked()));
            assert.match(a.error?.message ?? "", /unreadable report .*no report was downloaded/);
            process.env.FAKE_PACKER_REPORT = '{"schemaVersion":2}';
            const b = await captureConsole(async () => provider.create(await checked()));
            assert.match(b.error?.message ?? "", /schemaVersion is 2, not 1/);
        });

        it("Packer failing → an error with the log's tail", async () => {
            process.env.FAKE_PACKER_FAIL_AT = "provision";
            const { error } = await captureConsole(async () => provider.create(await checked()));
            assert.match(
                error?.message ?? "",
                /packer build failed \(exit 1\); full log: \.build\/logs\/dev-alice-boot-test-ami-0fa4e000000000001-.*\.log\n/,
            );
            assert.match(error?.message ?? "", /fake failure at provision/);
        });

        it("forwards SIGINT to Packer, waits for its cleanup, fails as interrupted", async () => {
            Object.assign(process.env, { FAKE_PACKER_SLEEP_AT: "provision", FAKE_PACKER_SLEEP: "30", FAKE_PACKER_CLEANUP_MS: "300" });
            const before = process.listenerCount("SIGINT");
            const run = captureConsole(async () => provider.create(await checked()));
            await waitFor(() => events().some((e) => e.sleeping === "provision"));
            process.kill(process.pid, "SIGINT");
            const { error } = await run;
            assert.match(error?.message ?? "", /boot test interrupted by SIGINT/);
            assert.ok(
                events().some((e) => e.exit === "cancelled"),
                "fake packer finished its cleanup",
            );
            assert.equal(process.listenerCount("SIGINT"), before);
        });

        it("its own deadline: SIGINT, then SIGKILL for a Packer that ignores it; the error points at the janitor", async () => {
            Object.assign(process.env, { FAKE_PACKER_SLEEP_AT: "provision", FAKE_PACKER_SLEEP: "30", FAKE_PACKER_IGNORE_SIGNALS: "1" });
            const { error } = await captureConsole(async () => provider.create({ ...(await checked()), timeoutMinutes: 0.05 }));
            assert.match(
                error?.message ?? "",
                /exceeded timeoutMinutes \(0\.05 min\) and Packer was killed after its grace period; .*npm run janitor -- --stack dev-alice/,
            );
        });
    });

    describe("read, update, delete", () => {
        it("read returns the record; update stores launch settings; delete has nothing to do", async () => {
            const olds = { ...(await checked()), passed: true, testedAt: "t", checks: [], instanceId: "i-1", testLog: "x.log" } as Outputs;
            assert.deepEqual(await provider.read("id", olds), { id: "id", props: olds });
            const { outs } = await provider.update("id", olds, { ...(await checked({ owner: "bob", imageId: "ami-0fa4e000000000009" })) });
            assert.equal(outs?.owner, "bob");
            assert.equal(outs?.imageId, IMAGE, "update never changes what was tested");
            assert.equal(outs?.passed, true);
            await provider.delete();
        });
    });
});
