import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import { CONFIG_KEYS, ConfigError, DEFAULTS, PLAIN_KEYS, parseConfig, PipelineConfig } from "../../pipeline/config";
import { INPUTS, type InputSpec } from "../../pipeline/inputs";

const ctx = { stack: "dev-alice", project: "couchbase-images", user: "alice" };

// Test-only stand-ins for the repository pins: well-formed, obviously not Couchbase's real values.
const SHA = "0123456789abcdef".repeat(4);
const FPR = "0123456789ABCDEF0123456789ABCDEF01234567";
const FPR2 = "89ABCDEF0123456789ABCDEF0123456789ABCDEF";
/** The keys every repository-mode stack must set besides the defaults. */
const REQUIRED = { sshCidrs: ["203.0.113.7/32"], couchbaseReleaseSha256: SHA, couchbaseKeyFingerprints: [FPR] };

function parse(raw: Record<string, unknown>): PipelineConfig {
    return parseConfig(raw, ctx);
}

function problems(raw: Record<string, unknown>): string[] {
    try {
        parse(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
        return e.problems;
    }
    assert.fail("expected parseConfig to throw");
}

describe("parseConfig", () => {
    it("a fresh stack is asked only for the key without a usable default: its SSH CIDRs (the download default needs no pins)", () => {
        assert.deepEqual(
            problems({}).map((x) => x.split(":").slice(0, 2).join(":")),
            ["couchbase-images:sshCidrs"],
        );
        assert.equal(parse({ sshCidrs: ["203.0.113.7/32"] }).couchbasePackageSource, "download");
    });

    it("missing repository pins: exact messages naming the key, where the value comes from, and how to set it", () => {
        assert.deepEqual(problems({ sshCidrs: ["203.0.113.7/32"], couchbasePackageSource: "repository" }), [
            'couchbase-images:couchbaseReleaseSha256: is empty, but couchbasePackageSource is "repository", which needs it (the install fails closed without it): ' +
                "download the couchbase-release .deb (couchbaseReleaseUrl) from a trusted network, check it, and pin the 64 hex digits " +
                "`sha256sum couchbase-release-1.0-noarch.deb` prints; or use a local package folder; " +
                'then `pulumi config set couchbase-images:couchbaseReleaseSha256 <sha256>` (docs/image.md, "Couchbase package sources")',
            'couchbase-images:couchbaseKeyFingerprints: is empty, but couchbasePackageSource is "repository", which needs it (the install fails closed without it): ' +
                "unpack the verified couchbase-release .deb (`dpkg-deb -x couchbase-release-1.0-noarch.deb x`) and pin the primary-key fingerprint " +
                "(40 hex digits) of every key `gpg --show-keys` lists for the key files it ships; or use a local package folder; " +
                "then `pulumi config set --path 'couchbase-images:couchbaseKeyFingerprints[0]' <fingerprint> (one index per key)` " +
                '(docs/image.md, "Couchbase package sources")',
        ]);
    });

    describe("download mode (the default): the package's sha256 from the table, or the stack's pin", () => {
        const CIDRS = { sshCidrs: ["203.0.113.7/32"] };
        const PIN = "0123456789abcdef".repeat(4);
        const url = (v: string, e = "enterprise", a = "amd64") =>
            `https://packages.couchbase.com/releases/${v}/couchbase-server-${e}_${v}-linux_${a}.deb.sha256`;

        it("a version the table holds: nothing to set", () => {
            const c = parse({ ...CIDRS, couchbaseVersion: "7.6.3" });
            assert.equal(c.couchbasePackageSource, "download");
            assert.deepEqual(c.couchbasePackageSha256, {});
            assert.equal(c.architecture, "amd64");
        });
        it("a version the table lacks: refused at preview, naming the key to set, the command, and where Couchbase publishes the value", () => {
            assert.deepEqual(problems({ ...CIDRS, couchbaseVersion: "8.0.9" }), [
                'couchbase-images:couchbasePackageSha256["8.0.9"].amd64: Couchbase Server enterprise 8.0.9 for amd64 is not in the project\'s table ' +
                    "(providers/packer/couchbasePackages.ts), so the download cannot be checked: " +
                    `pin its sha256, which Couchbase publishes at ${url("8.0.9")} (read it over a trusted network), or add the row to the table; ` +
                    'set it with `pulumi config set --path \'couchbase-images:couchbasePackageSha256["8.0.9"].amd64\' <sha256>` (README, "Couchbase packages")',
            ]);
        });
        it("the community edition needs a pin (the table holds Enterprise only)", () => {
            const p = problems({ ...CIDRS, couchbaseEdition: "community" });
            assert.equal(p.length, 1);
            assert.match(
                p[0],
                /^couchbase-images:couchbasePackageSha256\["8\.0\.0"\]\.amd64: Couchbase Server community 8\.0\.0 for amd64 has no entry in the project's table \(it holds Enterprise packages only\)/,
            );
            assert.equal(
                parse({ ...CIDRS, couchbaseEdition: "community", couchbasePackageSha256: { "8.0.0": { amd64: PIN } } }).couchbaseEdition,
                "community",
            );
        });
        it("a pin for exactly the version and architecture: as the engine hands it over (JSON text) and typed; normalized; others kept but unused", () => {
            const pins = { "8.0.9": { amd64: ` ${PIN.toUpperCase()} ` }, "8.0.10": { arm64: PIN } };
            const c = parse({ ...CIDRS, couchbaseVersion: "8.0.9", "couchbase-images:couchbasePackageSha256": JSON.stringify(pins) });
            assert.deepEqual(c.couchbasePackageSha256, { "8.0.9": { amd64: PIN }, "8.0.10": { arm64: PIN } });
            assert.deepEqual(
                parse({ ...CIDRS, couchbaseVersion: "8.0.9", couchbasePackageSha256: pins }).couchbasePackageSha256,
                c.couchbasePackageSha256,
            );
        });
        it("a pin for another architecture or version does not count", () => {
            assert.equal(
                problems({
                    ...CIDRS,
                    couchbaseVersion: "8.0.9",
                    couchbasePackageSha256: { "8.0.9": { arm64: PIN }, "8.0.8": { amd64: PIN } },
                }).length,
                1,
            );
        });
        it("a pin that differs from the table: refused, saying how to remove it", () => {
            const p = problems({ ...CIDRS, couchbasePackageSha256: { "8.0.0": { amd64: PIN } } });
            assert.equal(p.length, 1);
            assert.match(
                p[0],
                /^couchbase-images:couchbasePackageSha256\["8\.0\.0"\]\.amd64: the pinned sha256 0123.* differs from the project's table .*; remove it with `pulumi config rm --path 'couchbase-images:couchbasePackageSha256\["8\.0\.0"\]\.amd64'`/,
            );
        });
        it("malformed pins: each named by its own path", () => {
            assert.deepEqual(
                problems({
                    ...CIDRS,
                    couchbasePackageSha256: { "8.0": { amd64: PIN }, "8.0.9": { x86_64: PIN, arm64: "abc" }, "8.1.0": "abc" },
                }),
                [
                    'couchbase-images:couchbasePackageSha256["8.0"]: "8.0" is not a Couchbase Server version: key each pin by its version X.Y.Z (e.g. 8.0.3)',
                    'couchbase-images:couchbasePackageSha256["8.0.9"].x86_64: "x86_64" is not an architecture: use amd64 or arm64',
                    `couchbase-images:couchbasePackageSha256["8.0.9"].arm64: "abc" is not a sha256: give the 64 hex digits Couchbase publishes at ${url("8.0.9", "<edition>", "arm64")}`,
                    'couchbase-images:couchbasePackageSha256["8.1.0"]: expected a map of architecture (amd64, arm64) to sha256, got "abc"; ' +
                        "set one with `pulumi config set --path 'couchbase-images:couchbasePackageSha256[\"<version>\"].<arch>' <sha256>`",
                ],
            );
            assert.match(
                problems({ ...CIDRS, couchbasePackageSha256: "[1]" })[0],
                /^couchbase-images:couchbasePackageSha256: expected a map of Couchbase Server version to a map of architecture to sha256/,
            );
        });
        it("agentArch, the one-architecture key of before: amd64, or the one architecture listed", () => {
            assert.equal(parse({ ...CIDRS, agentArch: "amd64" }).architecture, "amd64");
            assert.equal(parse({ ...CIDRS, agentArch: "arm64", architectures: ["arm64"] }).architecture, "arm64");
            assert.deepEqual(problems({ ...CIDRS, agentArch: "arm64" }), [
                'couchbase-images:agentArch: "arm64" is replaced by the architectures key (the agent is built for every architecture listed there): ' +
                    "remove agentArch and list the architectures, e.g. `pulumi config set --path 'couchbase-images:architectures[0]' arm64`",
            ]);
        });
        it("a version the table lacks, for both architectures: one problem per architecture, each naming its own pin key", () => {
            const p = problems({ ...CIDRS, couchbaseVersion: "8.0.9", architectures: ["amd64", "arm64"] });
            assert.deepEqual(
                p.map((x) => x.split(": ")[0]),
                ['couchbase-images:couchbasePackageSha256["8.0.9"].amd64', 'couchbase-images:couchbasePackageSha256["8.0.9"].arm64'],
            );
            assert.match(p[1], /releases\/8\.0\.9\/couchbase-server-enterprise_8\.0\.9-linux_arm64\.deb\.sha256/);
            assert.equal(
                problems({
                    ...CIDRS,
                    couchbaseVersion: "8.0.9",
                    architectures: ["amd64", "arm64"],
                    couchbasePackageSha256: { "8.0.9": { amd64: PIN } },
                }).length,
                1,
            );
        });
    });

    it("a local package folder needs no repository pins", () => {
        const c = parse({ sshCidrs: ["203.0.113.7/32"], couchbasePackageSource: ".build/standin" });
        assert.equal(c.couchbasePackageSource, ".build/standin");
        assert.equal(c.couchbaseReleaseSha256, "");
        assert.deepEqual(c.couchbaseKeyFingerprints, []);
    });

    it("normalizes the pins: sha256 lowercased; fingerprints as gpg prints them (grouped, any case) without spaces, uppercased", () => {
        const c = parse({
            ...REQUIRED,
            couchbaseReleaseSha256: ` ${SHA.toUpperCase()} `,
            couchbaseKeyFingerprints: '["0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567", "89ABCDEF0123456789ABCDEF0123456789ABCDEF"]',
        });
        assert.equal(c.couchbaseReleaseSha256, SHA);
        assert.deepEqual(c.couchbaseKeyFingerprints, [FPR, FPR2]);
    });

    it("an empty couchbaseReleaseUrl falls back to the default", () => {
        assert.equal(
            parse({ ...REQUIRED, couchbaseReleaseUrl: "" }).couchbaseReleaseUrl,
            "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb",
        );
    });

    it("bootTest: on by default and when empty; false (or its text) turns it off; anything else names the key", () => {
        assert.equal(parse(REQUIRED).bootTest, true);
        assert.equal(parse({ ...REQUIRED, bootTest: "" }).bootTest, true);
        assert.equal(parse({ ...REQUIRED, bootTest: "false" }).bootTest, false);
        assert.equal(parse({ ...REQUIRED, bootTest: false }).bootTest, false);
        assert.equal(parse({ ...REQUIRED, "couchbase-images:bootTest": "true" }).bootTest, true);
        assert.throws(() => parse({ ...REQUIRED, bootTest: "off" }), /couchbase-images:bootTest: expected true or false, got "off"/);
    });

    it("applies the defaults of Pulumi.yaml to everything else", () => {
        const c = parse(REQUIRED);
        assert.deepEqual(c, {
            project: "couchbase-images",
            stack: "dev-alice",
            buildRegion: "us-east-1",
            copyRegions: [],
            instanceType: "t3.large",
            couchbaseEdition: "enterprise",
            couchbaseVersion: "8.0.0",
            couchbasePackageSource: "download",
            couchbasePackageSha256: {},
            architecture: "amd64",
            couchbaseReleaseUrl: "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb",
            couchbaseReleaseSha256: SHA,
            couchbaseKeyFingerprints: [FPR],
            baseImageId: undefined,
            baseImageNameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
            baseImageOwners: ["099720109477"],
            rootVolumeSize: 0,
            rootDeviceName: "",
            namePrefix: "couchbase-cloud-server",
            release: undefined,
            environment: "dev",
            owner: "alice",
            extraTags: {},
            kmsKeyIds: {},
            ttlHours: 72,
            subnetId: undefined,
            vpcId: undefined,
            associatePublicIpAddress: false,
            sshInterface: "",
            ec2Endpoint: undefined,
            emulator: false,
            sshHost: undefined,
            sshPort: 0,
            sshUsername: "ubuntu",
            sshCidrs: ["203.0.113.7/32"],
            agent: { kind: "build", arch: "amd64" },
            buildTimeoutMinutes: 90,
            copyTimeoutMinutes: 60,
            versionsDir: "versions",
            templateDir: "images/aws",
            bootTest: true,
            architectures: [
                {
                    arch: "amd64",
                    instanceType: "t3.large",
                    baseImageId: undefined,
                    baseImageNameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
                    agent: { kind: "build", arch: "amd64" },
                },
            ],
        } satisfies PipelineConfig);
    });

    it("reads Pulumi's string form: JSON arrays/objects, numeric and boolean text, qualified keys", () => {
        const c = parse({
            "couchbase-images:sshCidrs": '["127.0.0.1/32"]',
            "couchbase-images:couchbaseReleaseSha256": SHA,
            "couchbase-images:couchbaseKeyFingerprints": JSON.stringify([FPR]),
            "couchbase-images:copyRegions": '["eu-west-1","ap-south-1"]',
            "couchbase-images:kmsKeyIds": '{"eu-west-1":"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"}',
            "couchbase-images:extraTags": '{"CostCenter":"42"}',
            "couchbase-images:ttlHours": "0",
            "couchbase-images:emulator": "true",
            "couchbase-images:ec2Endpoint": "http://127.0.0.1:5000",
            "couchbase-images:sshPort": "2222",
            "couchbase-images:agentArtifact": ".build/agent/dp-agent.gz",
            "aws:region": "us-east-1", // other namespaces are ignored
        });
        assert.deepEqual(c.copyRegions, ["ap-south-1", "eu-west-1"], "sorted");
        assert.deepEqual(c.kmsKeyIds, { "eu-west-1": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab" });
        assert.deepEqual(c.extraTags, { CostCenter: "42" });
        assert.equal(c.ttlHours, 0);
        assert.equal(c.emulator, true);
        assert.equal(c.sshPort, 2222);
        assert.deepEqual(c.agent, {
            kind: "prebuilt",
            arch: "amd64",
            artifact: ".build/agent/dp-agent.gz",
            sha256File: ".build/agent/dp-agent.gz.sha256",
        });
    });

    it("a region newer than the list: accepted when the override names it", () => {
        const raw = { ...REQUIRED, buildRegion: "us-east-9", copyRegions: ["eu-west-1", "ap-south-9"] };
        assert.deepEqual(
            (() => {
                try {
                    parseConfig(raw, { ...ctx, extraRegions: [] });
                    return [];
                } catch (e) {
                    return (e as ConfigError).problems.map((x) => x.split(": ")[0]);
                }
            })(),
            ["couchbase-images:buildRegion", "couchbase-images:copyRegions[1]"],
        );
        const c = parseConfig(raw, { ...ctx, extraRegions: ["us-east-9", "ap-south-9"] });
        assert.equal(c.buildRegion, "us-east-9");
        assert.deepEqual(c.copyRegions, ["ap-south-9", "eu-west-1"]);
    });

    it("an explicit owner wins over the OS user", () => {
        assert.equal(parse({ ...REQUIRED, owner: "bob" }).owner, "bob");
    });

    // Each bad input → exactly these problems, in this order: [qualified key path, fragment of the
    // reason]. The reasons of image rules come from providers/packer/validate.ts (one rule set for
    // config and the provider's check); the fragments pin the fix each must name.
    const bad: { name: string; raw: Record<string, unknown>; expect: [string, string][] }[] = [
        {
            name: "build region among the copy regions",
            raw: { copyRegions: ["us-east-1"] },
            expect: [["copyRegions[0]", '"us-east-1" is the build region']],
        },
        {
            name: "duplicated copy region",
            raw: { copyRegions: ["eu-west-1", "eu-west-1"] },
            expect: [["copyRegions[1]", '"eu-west-1" is listed twice']],
        },
        { name: "bad build region", raw: { buildRegion: "europe" }, expect: [["buildRegion", '"europe" is not an AWS region name']] },
        {
            name: "bad copy region (JSON string form)",
            raw: { copyRegions: '["eu-west"]' },
            expect: [["copyRegions[0]", '"eu-west" is not an AWS region name']],
        },
        {
            name: "copy region of the right form that AWS does not have",
            raw: { copyRegions: ["eu-west-1", "us-east-9"] },
            expect: [
                [
                    "copyRegions[1]",
                    '"us-east-9" is not an AWS region this project knows (the AWS SDK\'s region list of 2026-12-01, providers/packer/awsRegions.ts): did you mean us-east-1 or us-east-2? fix the name, or if it is a region newer than the list add it to the environment variable COUCHBASE_IMAGES_EXTRA_REGIONS',
                ],
            ],
        },
        {
            name: "build region of the right form that AWS does not have",
            raw: { buildRegion: "eu-wset-1" },
            expect: [["buildRegion", '"eu-wset-1" is not an AWS region this project knows']],
        },
        {
            name: "copy regions not a list",
            raw: { copyRegions: "eu-west-1" },
            expect: [
                [
                    "copyRegions",
                    "expected a list of strings, got \"eu-west-1\"; set it with `pulumi config set --path 'copyRegions[0]' <value>`",
                ],
            ],
        },
        { name: "SSH open to the world", raw: { sshCidrs: ["0.0.0.0/0"] }, expect: [["sshCidrs[0]", "never 0.0.0.0/0"]] },
        { name: "SSH CIDRs missing", raw: { sshCidrs: [] }, expect: [["sshCidrs", "is empty"]] },
        { name: "malformed CIDR", raw: { sshCidrs: ["10.0.0.300/8"] }, expect: [["sshCidrs[0]", '"10.0.0.300/8" is not a CIDR']] },
        {
            name: "malformed Couchbase version",
            raw: { couchbaseVersion: "7.6" },
            expect: [["couchbaseVersion", '"7.6" is not a Couchbase Server version']],
        },
        { name: "bad edition", raw: { couchbaseEdition: "gold" }, expect: [["couchbaseEdition", '"gold" is not an edition']] },
        {
            name: "bad name prefix",
            raw: { namePrefix: "Couchbase_Server" },
            expect: [["namePrefix", '"Couchbase_Server" is not a usable name prefix']],
        },
        {
            name: "owner of 300 characters (too long, not empty)",
            raw: { owner: "o".repeat(300) },
            expect: [
                [
                    "owner",
                    `"${"o".repeat(40)}…" is 300 characters long: it becomes the Owner tag, whose value takes at most 256; give a shorter owner`,
                ],
            ],
        },
        {
            name: "name prefix of 65 characters",
            raw: { namePrefix: "c".repeat(65) },
            expect: [["namePrefix", "is not a usable name prefix: it is 65 characters long, at most 64"]],
        },
        {
            name: "release name of 70 characters",
            raw: { release: "v".repeat(70) },
            expect: [["release", "is not a usable release name: it is 70 characters long, at most 64"]],
        },
        {
            name: "release name with a slash",
            raw: { release: "v0.1/17" },
            expect: [["release", '"v0.1/17" is not a usable release name: it contains "/"']],
        },
        {
            name: "tag key of 129 characters",
            raw: { extraTags: { ["k".repeat(129)]: "v" } },
            expect: [[`extraTags.${"k".repeat(129)}`, "is 129 characters long: tag keys take at most 128"]],
        },
        {
            name: "tag value of 300 characters",
            raw: { extraTags: { CostCenter: "v".repeat(300) } },
            expect: [["extraTags.CostCenter", "is 300 characters long: tag values take at most 256"]],
        },
        {
            name: "SSH user in capitals",
            raw: { sshUsername: "ADMIN" },
            expect: [["sshUsername", '"ADMIN" is not a usable Unix user name: it contains "A", "D", "M", "I", "N"']],
        },
        { name: "empty SSH user", raw: { sshUsername: "" }, expect: [["sshUsername", "is empty: give a Unix user name such as ubuntu"]] },
        { name: "negative time to live", raw: { ttlHours: "-1" }, expect: [["ttlHours", "-1 is negative"]] },
        {
            name: "non-numeric time to live",
            raw: { ttlHours: "3 days" },
            expect: [["ttlHours", 'expected a whole number of hours (0 = never expires), got "3 days"']],
        },
        { name: "prod without release", raw: { environment: "prod" }, expect: [["release", "is empty for a prod image"]] },
        {
            name: "unknown environment",
            raw: { environment: "production" },
            expect: [["environment", '"production" is not an environment']],
        },
        {
            name: "reserved tag in extraTags",
            raw: { extraTags: { Stack: "x" } },
            expect: [["extraTags.Stack", '"Stack" is set by the project itself']],
        },
        {
            name: "KMS key for a region the stack does not use",
            raw: { kmsKeyIds: { "eu-west-1": "alias/x" } },
            expect: [
                [
                    "kmsKeyIds.eu-west-1",
                    '"eu-west-1" is neither the build region nor a copy region: remove it, or add the region to copyRegions',
                ],
            ],
        },
        {
            name: "malformed KMS key, build region",
            raw: { kmsKeyIds: { "us-east-1": "bogus" } },
            expect: [["kmsKeyIds.us-east-1", '"bogus" is not a KMS key']],
        },
        {
            name: "malformed KMS key, copy region",
            raw: { copyRegions: ["eu-west-1"], kmsKeyIds: { "eu-west-1": "bogus" } },
            expect: [
                [
                    "kmsKeyIds.eu-west-1",
                    '"bogus" is not a key ARN: a copy region\'s key must be the full ARN of a key (or alias) in eu-west-1',
                ],
            ],
        },
        {
            name: "emulator without endpoint",
            raw: { emulator: true },
            expect: [["emulator", "is true but ec2Endpoint is empty: set ec2Endpoint to the emulator's URL"]],
        },
        {
            name: "endpoint not a URL",
            raw: { ec2Endpoint: "127.0.0.1:5000" },
            expect: [["ec2Endpoint", '"127.0.0.1:5000" is not an http(s) URL']],
        },
        {
            name: "absolute agent artifact path",
            raw: { agentArtifact: "/tmp/dp-agent.gz" },
            expect: [["agentArtifact", '"/tmp/dp-agent.gz" is absolute']],
        },
        { name: "agent artifact not a .gz", raw: { agentArtifact: "x/agent" }, expect: [["agentArtifact", '"x/agent" is not a .gz file']] },
        {
            name: "absolute sha256 file",
            raw: { agentArtifact: "a.gz", agentSha256File: "/a.sha256" },
            expect: [["agentSha256File", '"/a.sha256" is absolute']],
        },
        {
            name: "sha256 file without artifact",
            raw: { agentSha256File: "x.sha256" },
            expect: [["agentSha256File", "is set but agentArtifact is empty: set agentArtifact too, or remove agentSha256File"]],
        },
        {
            name: "bad agent arch",
            raw: { agentArch: "x86_64" },
            expect: [["agentArch", '"x86_64" is not an architecture: use amd64 or arm64']],
        },
        { name: "bad base image id", raw: { baseImageId: "debian" }, expect: [["baseImageId", '"debian" is not an image id']] },
        { name: "no base image owners", raw: { baseImageOwners: [] }, expect: [["baseImageOwners", "is empty"]] },
        {
            name: "bad base image owner",
            raw: { baseImageOwners: ["debian"] },
            expect: [["baseImageOwners[0]", '"debian" is not an owner']],
        },
        { name: "ssh port out of range", raw: { sshPort: 70000 }, expect: [["sshPort", "is not a TCP port"]] },
        {
            name: "copy timeout zero",
            raw: { copyTimeoutMinutes: 0 },
            expect: [["copyTimeoutMinutes", "0 is not a usable timeout: give minutes between 1 and 1440"]],
        },
        {
            name: "versions dir escaping the project",
            raw: { versionsDir: "../elsewhere" },
            expect: [["versionsDir", '"../elsewhere" leaves the project']],
        },
        {
            name: "malformed release sha256 (63 hex digits)",
            raw: { couchbaseReleaseSha256: SHA.slice(1) },
            expect: [["couchbaseReleaseSha256", `"${SHA.slice(1)}" is not a sha256: download the couchbase-release .deb`]],
        },
        {
            name: "release sha256 not hex",
            raw: { couchbaseReleaseSha256: "z".repeat(64) },
            expect: [["couchbaseReleaseSha256", "is not a sha256"]],
        },
        {
            name: "empty release sha256 in repository mode",
            raw: { couchbasePackageSource: "repository", couchbaseReleaseSha256: "" },
            expect: [["couchbaseReleaseSha256", 'is empty, but couchbasePackageSource is "repository"']],
        },
        {
            name: "no key fingerprints in repository mode",
            raw: { couchbasePackageSource: "repository", couchbaseKeyFingerprints: [] },
            expect: [["couchbaseKeyFingerprints", 'is empty, but couchbasePackageSource is "repository"']],
        },
        {
            name: "short key fingerprint (a long key id)",
            raw: { couchbaseKeyFingerprints: [FPR, "89ABCDEF01234567"] },
            expect: [
                [
                    "couchbaseKeyFingerprints[1]",
                    '"89ABCDEF01234567" is not an OpenPGP key fingerprint: give 40 hex digits (spaces are ignored)',
                ],
            ],
        },
        {
            name: "key fingerprint not hex",
            raw: { couchbaseKeyFingerprints: ["G".repeat(40)] },
            expect: [["couchbaseKeyFingerprints[0]", "is not an OpenPGP key fingerprint"]],
        },
        {
            name: "key fingerprint listed twice (once spaced, once not)",
            raw: { couchbaseKeyFingerprints: [FPR, FPR.replace(/(.{4})/g, "$1 ")] },
            expect: [["couchbaseKeyFingerprints[1]", "is listed twice"]],
        },
        {
            name: "key fingerprints not a list",
            raw: { couchbaseKeyFingerprints: FPR },
            expect: [["couchbaseKeyFingerprints", "expected a list of strings"]],
        },
        {
            name: "release URL not https",
            raw: { couchbaseReleaseUrl: "http://packages.couchbase.com/x.deb" },
            expect: [["couchbaseReleaseUrl", '"http://packages.couchbase.com/x.deb" is not an https URL']],
        },
        {
            name: "malformed pins are refused with a local package folder too",
            raw: { couchbasePackageSource: ".build/standin", couchbaseReleaseSha256: "abc", couchbaseKeyFingerprints: [] },
            expect: [["couchbaseReleaseSha256", '"abc" is not a sha256']],
        },
        {
            name: "typo in a key",
            raw: { "couchbase-images:copyRegion": '["eu-west-1"]' },
            expect: [
                [
                    "copyRegion",
                    "unknown configuration key; did you mean couchbase-images:copyRegions? (remove it with `pulumi config rm couchbase-images:copyRegion`)",
                ],
            ],
        },
        {
            name: "several problems are reported together",
            raw: { buildRegion: "nowhere", ttlHours: -5, instanceType: "big" },
            expect: [
                ["buildRegion", '"nowhere" is not an AWS region name'],
                ["instanceType", '"big" is not an EC2 instance type'],
                ["ttlHours", "-5 is negative"],
            ],
        },
    ];
    for (const t of bad) {
        it(`rejects: ${t.name}`, () => {
            const got = problems({ ...REQUIRED, ...t.raw });
            assert.equal(got.length, t.expect.length, `problems: ${JSON.stringify(got)}`);
            t.expect.forEach(([key, fragment], n) => {
                assert.ok(got[n].startsWith(`couchbase-images:${key}: `), `${got[n]} names ${key}`);
                assert.ok(got[n].includes(fragment), `${got[n]} includes ${fragment}`);
            });
        });
    }

    it("the error message lists every problem", () => {
        assert.throws(
            () => parse({ ...REQUIRED, copyRegions: ["us-east-1"], agentArch: "x" }),
            (e: Error) =>
                /^Invalid stack configuration:\n {2}- couchbase-images:copyRegions\[0\]: .*\n {2}- couchbase-images:agentArch: .*$/.test(
                    e.message,
                ),
        );
    });

    it("owner is required when the OS user is unknown", () => {
        assert.throws(() => parseConfig(REQUIRED, { stack: "s", project: "couchbase-images" }), /couchbase-images:owner: is empty/);
    });
});

describe("architectures", () => {
    const CIDRS = { sshCidrs: ["203.0.113.7/32"] };
    const UBUNTU_ARM = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*";
    const UBUNTU_AMD = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*";

    it("default: amd64 alone, on today's keys (unset, as the engine hands an empty value, or absent)", () => {
        for (const raw of [CIDRS, { ...CIDRS, architectures: "" }, { ...CIDRS, "couchbase-images:architectures": '["amd64"]' }]) {
            const c = parse(raw);
            assert.deepEqual(c.architectures, [
                {
                    arch: "amd64",
                    instanceType: "t3.large",
                    baseImageId: undefined,
                    baseImageNameFilter: UBUNTU_AMD,
                    agent: { kind: "build", arch: "amd64" },
                },
            ]);
        }
    });
    it("both: arm64 on its own keys' defaults (a Graviton builder of the same size, Ubuntu 24.04 LTS for arm64)", () => {
        const c = parse({ ...CIDRS, "couchbase-images:architectures": '["amd64","arm64"]' });
        assert.deepEqual(c.architectures, [
            {
                arch: "amd64",
                instanceType: "t3.large",
                baseImageId: undefined,
                baseImageNameFilter: UBUNTU_AMD,
                agent: { kind: "build", arch: "amd64" },
            },
            {
                arch: "arm64",
                instanceType: "t4g.large",
                baseImageId: undefined,
                baseImageNameFilter: UBUNTU_ARM,
                agent: { kind: "build", arch: "arm64" },
            },
        ]);
        assert.equal(c.architecture, "amd64", "the first architecture's, for readers of one");
    });
    it("each overridable: instance type, base image id or filter, prebuilt agent and its sha256 file", () => {
        const c = parse({
            ...CIDRS,
            architectures: ["arm64", "amd64"],
            instanceType: "m7i.large",
            arm64InstanceType: "m7g.xlarge",
            arm64BaseImageId: "ami-0123456789abcdef0",
            baseImageNameFilter: "my-amd64-*",
            agentArtifact: "out/amd64/dp-agent.gz",
            arm64AgentArtifact: "out/arm64/dp-agent.gz",
            arm64AgentSha256File: "out/arm64/sums",
        });
        assert.deepEqual(c.architectures, [
            {
                arch: "arm64",
                instanceType: "m7g.xlarge",
                baseImageId: "ami-0123456789abcdef0",
                baseImageNameFilter: UBUNTU_ARM,
                agent: { kind: "prebuilt", arch: "arm64", artifact: "out/arm64/dp-agent.gz", sha256File: "out/arm64/sums" },
            },
            {
                arch: "amd64",
                instanceType: "m7i.large",
                baseImageId: undefined,
                baseImageNameFilter: "my-amd64-*",
                agent: { kind: "prebuilt", arch: "amd64", artifact: "out/amd64/dp-agent.gz", sha256File: "out/amd64/dp-agent.gz.sha256" },
            },
        ]);
    });

    const refused: [string, Record<string, unknown>, string[]][] = [
        [
            "an unknown architecture",
            { architectures: ["amd64", "x86_64"] },
            ['couchbase-images:architectures[1]: "x86_64" is not an architecture: use amd64 or arm64 (Debian\'s names)'],
        ],
        [
            "a duplicate",
            { architectures: ["arm64", "amd64", "arm64"] },
            ['couchbase-images:architectures[2]: "arm64" is listed twice: remove one'],
        ],
        [
            "an empty list",
            { architectures: [] },
            [
                "couchbase-images:architectures: is an empty list: list at least one of amd64, arm64 (`pulumi config set --path 'couchbase-images:architectures[0]' amd64`)",
            ],
        ],
        [
            "not a list",
            { architectures: "arm64" },
            [
                "couchbase-images:architectures: expected a list of strings, got \"arm64\"; set it with `pulumi config set --path 'architectures[0]' <value>`",
            ],
        ],
        [
            "an x86_64 builder for arm64",
            { architectures: ["amd64", "arm64"], arm64InstanceType: "t3.large" },
            [
                'couchbase-images:arm64InstanceType: "t3.large" is an amd64 instance type, but it builds the arm64 image: give a Graviton type such as t4g.large or m7g.large',
            ],
        ],
        [
            "a Graviton builder for amd64",
            { instanceType: "c7g.large" },
            [
                'couchbase-images:instanceType: "c7g.large" is an arm64 instance type, but it builds the amd64 image: give an x86_64 type such as t3.large or m7i.large',
            ],
        ],
        [
            "an amd64 key in a stack that builds arm64 alone",
            { architectures: ["arm64"], instanceType: "m7g.large" },
            [
                "couchbase-images:instanceType: is amd64's, but architectures (arm64) does not list amd64: add amd64 to architectures, or move the value to arm64InstanceType, or remove instanceType",
            ],
        ],
        [
            "an arm64 key in a stack that builds amd64 alone",
            { arm64AgentArtifact: "out/dp-agent.gz" },
            [
                "couchbase-images:arm64AgentArtifact: is arm64's, but architectures (amd64) does not list arm64: add arm64 to architectures, or move the value to agentArtifact, or remove arm64AgentArtifact",
            ],
        ],
        [
            "an arm64 sha256 file without its artifact",
            { architectures: ["arm64"], arm64AgentSha256File: "x.sha256" },
            [
                "couchbase-images:arm64AgentSha256File: is set but arm64AgentArtifact is empty: set arm64AgentArtifact too, or remove arm64AgentSha256File",
            ],
        ],
        [
            "the Architecture tag in extraTags",
            { extraTags: { Architecture: "x" } },
            [
                "couchbase-images:extraTags.Architecture: is set by the program on each architecture's image (amd64, arm64): remove it from extraTags",
            ],
        ],
        ["a malformed arm64 base image id", { architectures: ["arm64"], arm64BaseImageId: "ubuntu" }, []],
    ];
    for (const [name, raw, want] of refused) {
        it(`refused at preview, naming the key: ${name}`, () => {
            const got = problems({ ...CIDRS, ...raw });
            if (want.length === 0) {
                assert.equal(got.length, 1, JSON.stringify(got));
                assert.match(got[0], /^couchbase-images:arm64BaseImageId: /, "the image rule's problem, under the arm64 key");
            } else assert.deepEqual(got, want);
        });
    }
    it("a rule of a shared key broken by both images is reported once", () => {
        assert.deepEqual(problems({ sshCidrs: ["0.0.0.0/0"], architectures: ["amd64", "arm64"] }).length, 1);
    });
});

describe("plain keys: parsed from their table row alone (nothing in config.ts names them)", () => {
    const BASE = { sshCidrs: ["203.0.113.7/32"] };
    /** A value of the wrong type for each declared type, and the start of the problem it gives. */
    const WRONG: Record<InputSpec["type"], [unknown, string]> = {
        string: [{ a: 1 }, "expected a string"],
        integer: ["many", "expected a whole number of "],
        boolean: ["maybe", "expected true or false"],
        array: ["x", "expected a list of strings"],
        object: ["[1]", "expected a map of strings"],
    };
    it("most keys are plain, every integer key among them (its row names the unit its type error says)", () => {
        assert.ok(PLAIN_KEYS.length > 10);
        for (const k of CONFIG_KEYS) {
            const spec: InputSpec = INPUTS[k];
            if (spec.type === "integer") assert.ok(PLAIN_KEYS.includes(k as (typeof PLAIN_KEYS)[number]), k);
        }
    });
    for (const key of PLAIN_KEYS) {
        const spec: InputSpec = INPUTS[key];
        it(`${key} (${spec.type}): its default under its own name; a wrong type names the key`, () => {
            const c = parse(BASE) as unknown as Record<string, unknown>;
            assert.deepEqual(c[key], key in BASE ? BASE[key as keyof typeof BASE] : spec.default);
            const [bad, wording] = WRONG[spec.type];
            const got = problems({ ...BASE, [key]: bad });
            const unit = spec.type === "integer" ? spec.unit : "";
            assert.ok(
                got.includes(`couchbase-images:${key}: ${wording}${unit}, got ${JSON.stringify(bad)}`) ||
                    got.some((x) => x.startsWith(`couchbase-images:${key}: ${wording}${unit}, got ${JSON.stringify(bad)};`)),
                got.join("\n"),
            );
        });
    }
});

describe("Pulumi.yaml ↔ config.ts", () => {
    // Pulumi.yaml is YAML; the keys and defaults are simple enough to read with a line scanner, so no
    // YAML dependency is needed for this guard.
    const whole = fs.readFileSync(path.join(__dirname, "../../Pulumi.yaml"), "utf8");
    const text = whole.slice(whole.search(/^config:\s*$/m));
    const declared = [...text.matchAll(/^ {2}([A-Za-z0-9]+):\s*$/gm)].map((m) => m[1]);

    it("declares exactly the keys the program reads", () => {
        assert.deepEqual([...declared].sort(), [...CONFIG_KEYS].sort());
    });

    it("every key has a type, a description and a default", () => {
        const blocks = text.split(/^ {2}(?=[A-Za-z0-9]+:\s*$)/m).slice(1);
        assert.equal(blocks.length, CONFIG_KEYS.length);
        for (const b of blocks) {
            const key = b.split(":")[0];
            assert.match(b, /^ {4}type: (string|integer|boolean|array|object)$/m, `${key}: type`);
            assert.match(b, /^ {4}description: /m, `${key}: description`);
            assert.match(b, /^ {4}default:/m, `${key}: default`);
        }
    });

    it("scalar defaults match DEFAULTS", () => {
        for (const key of CONFIG_KEYS) {
            const d = DEFAULTS[key];
            if (typeof d === "object") continue;
            const m = new RegExp(`^ {2}${key}:\\s*$[\\s\\S]*?^ {4}default: (.*)$`, "m").exec(text);
            assert.ok(m, `${key}: default line`);
            const yamlValue = m[1].trim().replace(/^"(.*)"$/, "$1");
            assert.equal(yamlValue, String(d as string | number | boolean), `${key}`);
        }
    });
});
