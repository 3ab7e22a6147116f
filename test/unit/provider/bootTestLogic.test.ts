/**
 * The boot test's pure parts (providers/bootTest/): the report's parser and verdict, tags,
 * variables and the checks hash, as tables; and the provider's serialized text (it is stored in
 * state like the image provider's: no machine path, no credential, the same text after its
 * methods ran).
 */
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
    bootTestDefaults,
    bootTestTags,
    bootTestVariables,
    checksHash,
    missingTemplateFiles,
    testExpiry,
} from "../../../providers/bootTest/inputs";
import { failureMessage, parseReport, verdict } from "../../../providers/bootTest/report";
import { BootTestProvider } from "../../../providers/bootTestProvider";

const ok = (checks: unknown[], passed = true) =>
    JSON.stringify({ schemaVersion: 1, passed, instanceId: "i-1", region: "us-east-1", checkedAt: "2026-12-01T12:00:00Z", checks });

describe("boot test report", () => {
    const cases: [string, string | undefined, RegExp | undefined][] = [
        ["a passing report", ok([{ name: "a", status: "passed", saw: "x" }]), undefined],
        ["no file", undefined, /no report was downloaded/],
        ["not JSON", "{", /not JSON/],
        ["an array", "[]", /not a JSON object/],
        ["another schema version", JSON.stringify({ schemaVersion: 2 }), /schemaVersion is 2, not 1/],
        [
            "passed missing",
            JSON.stringify({ schemaVersion: 1, instanceId: "", region: "", checkedAt: "", checks: [] }),
            /passed is not true or false/,
        ],
        [
            "checks not a list",
            JSON.stringify({ schemaVersion: 1, passed: true, instanceId: "", region: "", checkedAt: "", checks: {} }),
            /checks is not a list/,
        ],
        ["a check without a name", ok([{ status: "passed", saw: "" }]), /checks\[0\]\.name is not a name/],
        [
            "an unknown status",
            ok([{ name: "a", status: "warn", saw: "" }]),
            /checks\[0\] \(a\): status "warn" is not passed, failed or skipped/,
        ],
    ];
    for (const [what, text, problem] of cases) {
        it(`parse: ${what}`, () => {
            const r = parseReport(text);
            if (problem) {
                assert.equal(r.report, undefined);
                assert.match(r.problems.join("; "), problem);
            } else assert.deepEqual(r.problems, []);
        });
    }

    it("saw that is not a string is kept as its JSON", () => {
        assert.equal(parseReport(ok([{ name: "a", status: "passed", saw: { code: 200 } }])).report?.checks[0].saw, '{"code":200}');
    });

    const verdicts: [string, string, boolean, RegExp][] = [
        ["all passed", ok([{ name: "a", status: "passed", saw: "" }]), true, /^$/],
        [
            "passed and skipped",
            ok([
                { name: "a", status: "passed", saw: "" },
                { name: "thp", status: "skipped", saw: "read-only" },
            ]),
            true,
            /^$/,
        ],
        ["one failed", ok([{ name: "a", status: "failed", saw: "inactive" }], false), false, /1 of 1 checks failed\n {2}- a: inactive\n/],
        [
            "a failed check in a report claiming a pass",
            ok([{ name: "a", status: "failed", saw: "no" }], true),
            false,
            /1 of 1 checks failed/,
        ],
        ["no checks", ok([]), false, /lists no check/],
        ["not passed, nothing failed", ok([{ name: "a", status: "passed", saw: "" }], false), false, /says it did not pass/],
    ];
    for (const [what, text, passed, message] of verdicts) {
        it(`verdict: ${what} → ${passed ? "passed" : "failed"}`, () => {
            const r = parseReport(text).report!;
            assert.equal(verdict(r).passed, passed);
            if (!passed) assert.match(failureMessage("ami-1", r, { report: "r.json", log: "t.log" }), message);
        });
    }
});

describe("boot test inputs", () => {
    const i = bootTestDefaults({
        imageId: "ami-0123456789abcdef0",
        imageName: "img-abc",
        region: "us-east-1",
        stack: "dev-a",
        owner: "a",
        environment: "prod",
        release: "v1",
        sshCidrs: ["10.0.0.0/8"],
        extraTags: { Team: "x" },
    });

    it("defaults", () => {
        assert.equal(i.templateDir, "images/aws/boot-test");
        assert.equal(i.instanceType, "t3.large");
        assert.equal(i.timeoutMinutes, 30);
        assert.deepEqual(i.emulationLimits, []);
    });

    it("tags: the stack's, Purpose, the image, an expiry even for prod (the test instance never outlives its deadline)", () => {
        const t = bootTestTags(i, new Date("2026-12-01T12:00:00.500Z"));
        assert.deepEqual(t, {
            Team: "x",
            Name: "img-abc-boot-test",
            Project: "couchbase-images",
            Stack: "dev-a",
            Owner: "a",
            Environment: "prod",
            ExpiresAt: "2026-12-01T12:30:00Z",
            ManagedBy: "pulumi",
            SourceImage: "ami-0123456789abcdef0",
            Release: "v1",
            Purpose: "boot-test",
        });
        assert.equal(testExpiry(new Date("2026-12-01T23:50:00Z"), 20), "2026-12-02T00:10:00Z");
    });

    it("variables: empty optional values left out, only declared ones passed", () => {
        const v = bootTestVariables(i, { reportPath: "r.json", tags: { A: "b" }, temporaryKeyPairName: "packer-boot-test-x" });
        assert.deepEqual(Object.keys(v), [
            "image_id",
            "image_name",
            "instance_type",
            "region",
            "report_path",
            "ssh_cidrs",
            "ssh_username",
            "tags",
            "temporary_key_pair_name",
        ]);
        const network = bootTestVariables(
            { ...i, subnetId: "subnet-0123456789abcdef0", associatePublicIpAddress: true, sshInterface: "private_ip" },
            { reportPath: "r", tags: {}, temporaryKeyPairName: "" },
        );
        assert.equal(network.subnet_id, "subnet-0123456789abcdef0");
        assert.equal(network.associate_public_ip_address, true);
        assert.equal(network.ssh_interface, "private_ip");
        const limited = bootTestVariables(
            { ...i, emulator: true, ec2Endpoint: "http://127.0.0.1:5000", sshPort: 2222, emulationLimits: ["u.service"] },
            { reportPath: "r", tags: {}, temporaryKeyPairName: "" },
            ["region", "emulation_limits", "ssh_port"],
        );
        assert.deepEqual(limited, { emulation_limits: ["u.service"], region: "us-east-1", ssh_port: 2222 });
    });

    it("checks hash: content and executable bit count, order does not", () => {
        const a = { path: "boot-check.sh", content: "x", executable: true };
        const b = { path: "boot-test.pkr.hcl", content: "y", executable: false };
        assert.equal(checksHash([a, b]), checksHash([b, a]));
        assert.notEqual(checksHash([a, b]), checksHash([{ ...a, content: "x2" }, b]));
        assert.notEqual(checksHash([a, b]), checksHash([{ ...a, executable: false }, b]));
        assert.deepEqual(missingTemplateFiles(["boot-test.pkr.hcl", "launch-key.sh"]), ["boot-check.sh"]);
    });
});

describe("BootTestProvider serialization", function () {
    this.timeout(120_000);
    it("serializes without a machine path or a secret, and the same after its methods ran", async () => {
        const first = await pulumi.runtime.serializeFunction(() => new BootTestProvider(), { allowSecrets: true });
        assert.equal(first.containsSecrets, false);
        assert.equal(first.text.includes(path.resolve(__dirname, "../../..")), false);
        const p = new BootTestProvider();
        await p.check({} as never, {} as never);
        await p.diff("x", {} as never, {} as never);
        const again = await pulumi.runtime.serializeFunction(() => new BootTestProvider(), { allowSecrets: true });
        assert.equal(again.text, first.text);
    });
});

describe("launch-key.sh (the launch key from IMDSv2)", function () {
    this.timeout(30_000);
    const script = path.resolve(__dirname, "../../../images/aws/boot-test/launch-key.sh");
    let server: http.Server;
    let port = 0;
    const seen: string[] = [];
    before(async () => {
        // IMDSv2 as EC2 answers it: a token for a PUT with a TTL, the key only with that token.
        server = http.createServer((q, r) => {
            seen.push(`${q.method} ${q.url}`);
            if (q.method === "PUT" && q.url === "/latest/api/token" && q.headers["x-aws-ec2-metadata-token-ttl-seconds"])
                return void r.end("tok-1");
            if (
                q.method === "GET" &&
                q.url === "/latest/meta-data/public-keys/0/openssh-key" &&
                q.headers["x-aws-ec2-metadata-token"] === "tok-1"
            )
                return void r.end("ssh-rsa AAAAB3NzaC1yc2E packer_test\n");
            r.statusCode = 401;
            r.end();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        port = (server.address() as { port: number }).port;
    });
    after(() => server.close());

    const run = (pathEnv: string, imds = `127.0.0.1:${port}`) =>
        new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
            execFile("bash", [script], { env: { PATH: pathEnv, LAUNCH_KEY_IMDS: imds } }, (e, stdout, stderr) =>
                resolve({ code: e ? Number((e as { code?: number }).code ?? 1) : 0, stdout, stderr }),
            ),
        );

    it("without curl (a Debian minbase root): plain HTTP through bash's /dev/tcp, token first", async () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "launch-key-"));
        try {
            for (const b of ["bash", "timeout", "cat"]) {
                const found = (process.env.PATH ?? "")
                    .split(":")
                    .map((d) => path.join(d, b))
                    .find((f) => fs.existsSync(f));
                assert.ok(found, `${b} not on PATH`);
                fs.symlinkSync(found, path.join(bin, b));
            }
            seen.length = 0;
            const r = await run(bin);
            assert.equal(r.code, 0, r.stderr);
            assert.equal(r.stdout, "ssh-rsa AAAAB3NzaC1yc2E packer_test\n");
            assert.deepEqual(seen, ["PUT /latest/api/token", "GET /latest/meta-data/public-keys/0/openssh-key"]);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("with the machine's tools (curl where present) the same key", async () => {
        const r = await run(process.env.PATH ?? "");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout.trim(), "ssh-rsa AAAAB3NzaC1yc2E packer_test");
    });

    it("no metadata service → exit 1 with a message", async () => {
        const closed = http.createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const dead = (closed.address() as { port: number }).port;
        await new Promise((resolve) => closed.close(resolve));
        const r = await run(process.env.PATH ?? "", `127.0.0.1:${dead}`);
        assert.notEqual(r.code, 0);
        assert.equal(r.stdout, "");
    });
});
