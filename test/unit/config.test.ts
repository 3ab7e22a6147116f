import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import { CONFIG_KEYS, ConfigError, DEFAULTS, parseConfig, PipelineConfig } from "../../pipeline/config";

const ctx = { stack: "dev-alice", project: "couchbase-images", user: "alice" };

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
    it("applies the defaults of Pulumi.yaml when nothing is set", () => {
        const c = parse({});
        assert.deepEqual(c, {
            project: "couchbase-images",
            stack: "dev-alice",
            buildRegion: "us-east-1",
            copyRegions: [],
            instanceType: "t3.large",
            couchbaseEdition: "enterprise",
            couchbaseVersion: "7.6.3",
            couchbasePackageSource: "repository",
            baseImageId: undefined,
            baseImageNameFilter: "debian-12-amd64-*",
            baseImageOwners: ["136693071363"],
            namePrefix: "couchbase-server",
            release: undefined,
            environment: "dev",
            owner: "alice",
            extraTags: {},
            kmsKeyIds: {},
            ttlHours: 72,
            ec2Endpoint: undefined,
            emulator: false,
            sshHost: undefined,
            sshPort: 22,
            sshUsername: "admin",
            sshCidrs: [],
            agent: { kind: "build", arch: "amd64" },
            buildTimeoutMinutes: 90,
            copyTimeoutMinutes: 60,
            versionsDir: "versions",
        } satisfies PipelineConfig);
    });

    it("reads Pulumi's string form: JSON arrays/objects, numeric and boolean text, qualified keys", () => {
        const c = parse({
            "couchbase-images:copyRegions": '["eu-west-1","ap-south-1"]',
            "couchbase-images:kmsKeyIds": '{"eu-west-1":"alias/images"}',
            "couchbase-images:extraTags": '{"CostCenter":"42"}',
            "couchbase-images:ttlHours": "0",
            "couchbase-images:emulator": "true",
            "couchbase-images:ec2Endpoint": "http://127.0.0.1:5000",
            "couchbase-images:sshPort": "2222",
            "couchbase-images:agentArtifact": ".build/agent/dp-agent.gz",
            "aws:region": "us-east-1", // other namespaces are ignored
        });
        assert.deepEqual(c.copyRegions, ["ap-south-1", "eu-west-1"], "sorted");
        assert.deepEqual(c.kmsKeyIds, { "eu-west-1": "alias/images" });
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

    it("an explicit owner wins over the OS user", () => {
        assert.equal(parse({ owner: "bob" }).owner, "bob");
    });

    // Each bad input → exactly the listed problems, each naming the qualified key and the fix.
    const bad: { name: string; raw: Record<string, unknown>; expect: string[] }[] = [
        {
            name: "build region among the copy regions",
            raw: { copyRegions: ["us-east-1"] },
            expect: ['couchbase-images:copyRegions: "us-east-1" is the build region; remove it'],
        },
        {
            name: "duplicated copy region",
            raw: { copyRegions: ["eu-west-1", "eu-west-1"] },
            expect: ['couchbase-images:copyRegions: "eu-west-1" is listed twice; remove one'],
        },
        {
            name: "bad build region",
            raw: { buildRegion: "europe" },
            expect: ['couchbase-images:buildRegion: "europe" is not an AWS region (like eu-west-1)'],
        },
        {
            name: "bad copy region",
            raw: { copyRegions: '["eu-west"]' },
            expect: ['couchbase-images:copyRegions: "eu-west" is not an AWS region (like eu-west-1)'],
        },
        {
            name: "copy regions not a list",
            raw: { copyRegions: "eu-west-1" },
            expect: [
                "couchbase-images:copyRegions: expected a list of strings, got \"eu-west-1\"; set it with `pulumi config set --path 'copyRegions[0]' <value>`",
            ],
        },
        {
            name: "SSH open to the world",
            raw: { sshCidrs: ["0.0.0.0/0"] },
            expect: [
                'couchbase-images:sshCidrs: "0.0.0.0/0" opens SSH to the whole internet; use your own address (e.g. 203.0.113.7/32)',
            ],
        },
        {
            name: "malformed CIDR",
            raw: { sshCidrs: ["10.0.0.300/8"] },
            expect: ['couchbase-images:sshCidrs: "10.0.0.300/8" is not a CIDR (like 203.0.113.7/32)'],
        },
        {
            name: "malformed Couchbase version",
            raw: { couchbaseVersion: "7.6" },
            expect: ['couchbase-images:couchbaseVersion: "7.6" is not a Couchbase version (like 7.6.3)'],
        },
        {
            name: "bad edition",
            raw: { couchbaseEdition: "gold" },
            expect: ['couchbase-images:couchbaseEdition: "gold" is not one of enterprise, community'],
        },
        {
            name: "bad name prefix",
            raw: { namePrefix: "Couchbase_Server" },
            expect: [
                'couchbase-images:namePrefix: "Couchbase_Server" must be 2-64 lowercase letters, digits or dashes, not starting or ending with a dash',
            ],
        },
        {
            name: "negative time to live",
            raw: { ttlHours: "-1" },
            expect: ["couchbase-images:ttlHours: -1 is out of range; use 0..8760 hours (0 = never expires)"],
        },
        {
            name: "non-numeric time to live",
            raw: { ttlHours: "3 days" },
            expect: ['couchbase-images:ttlHours: expected a whole number of hours (0 = never expires), got "3 days"'],
        },
        {
            name: "prod without release",
            raw: { environment: "prod" },
            expect: ["couchbase-images:release: is required when environment is prod; set it (like v0.1.17)"],
        },
        {
            name: "unknown environment",
            raw: { environment: "production" },
            expect: ['couchbase-images:environment: "production" is not one of dev, stage, prod, local'],
        },
        {
            name: "reserved tag in extraTags",
            raw: { extraTags: { Stack: "x" } },
            expect: ['couchbase-images:extraTags: tag "Stack" is set by the pipeline; remove it'],
        },
        {
            name: "KMS key for a region the stack does not use",
            raw: { kmsKeyIds: { "eu-west-1": "alias/x" } },
            expect: [
                'couchbase-images:kmsKeyIds: "eu-west-1" is neither the build region nor a copy region; remove it or add it to copyRegions',
            ],
        },
        {
            name: "emulator without endpoint",
            raw: { emulator: true },
            expect: ["couchbase-images:emulator: is true but ec2Endpoint is empty; set ec2Endpoint to the emulator's URL"],
        },
        {
            name: "endpoint not a URL",
            raw: { ec2Endpoint: "127.0.0.1:5000" },
            expect: ['couchbase-images:ec2Endpoint: "127.0.0.1:5000" is not an http(s) URL (like http://127.0.0.1:5000)'],
        },
        {
            name: "absolute agent artifact path",
            raw: { agentArtifact: "/tmp/dp-agent.gz" },
            expect: [
                'couchbase-images:agentArtifact: "/tmp/dp-agent.gz" must be relative to the project root (like .build/agent/dp-agent.gz)',
                'couchbase-images:agentSha256File: "/tmp/dp-agent.gz.sha256" must be relative to the project root',
            ],
        },
        {
            name: "sha256 file without artifact",
            raw: { agentSha256File: "x.sha256" },
            expect: [
                "couchbase-images:agentSha256File: is set but agentArtifact is empty; set agentArtifact too, or remove agentSha256File",
            ],
        },
        {
            name: "bad agent arch",
            raw: { agentArch: "x86_64" },
            expect: ['couchbase-images:agentArch: "x86_64" is not one of amd64, arm64'],
        },
        {
            name: "bad base image id",
            raw: { baseImageId: "debian" },
            expect: [
                'couchbase-images:baseImageId: "debian" is not an image id (like ami-0123456789abcdef0); or leave it empty to use baseImageNameFilter',
            ],
        },
        {
            name: "ssh port out of range",
            raw: { sshPort: 70000 },
            expect: ["couchbase-images:sshPort: 70000 is out of range; use 1..65535 (a TCP port)"],
        },
        {
            name: "versions dir escaping the project",
            raw: { versionsDir: "../elsewhere" },
            expect: ['couchbase-images:versionsDir: "../elsewhere" must be a folder relative to the project root (like versions)'],
        },
        {
            name: "typo in a key",
            raw: { "couchbase-images:copyRegion": '["eu-west-1"]' },
            expect: [
                "couchbase-images:copyRegion: unknown configuration key; did you mean couchbase-images:copyRegions? (remove it with `pulumi config rm couchbase-images:copyRegion`)",
            ],
        },
        {
            name: "several problems are reported together",
            raw: { buildRegion: "nowhere", ttlHours: -5, instanceType: "big" },
            expect: [
                'couchbase-images:buildRegion: "nowhere" is not an AWS region (like eu-west-1)',
                'couchbase-images:instanceType: "big" is not an EC2 instance type (like t3.large)',
                "couchbase-images:ttlHours: -5 is out of range; use 0..8760 hours (0 = never expires)",
            ],
        },
    ];
    for (const t of bad) {
        it(`rejects: ${t.name}`, () => {
            assert.deepEqual(problems(t.raw), t.expect);
        });
    }

    it("the error message lists every problem", () => {
        assert.throws(
            () => parse({ copyRegions: ["us-east-1"] }),
            (e: Error) =>
                e.message ===
                'Invalid stack configuration:\n  - couchbase-images:copyRegions: "us-east-1" is the build region; remove it',
        );
    });

    it("owner is required when the OS user is unknown", () => {
        assert.throws(
            () => parseConfig({}, { stack: "s", project: "couchbase-images" }),
            /couchbase-images:owner: is empty and the OS user is unknown; set it to your name/,
        );
    });
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
            assert.equal(yamlValue, String(d), `${key}`);
        }
    });
});
