/**
 * The image provider's methods against the fake `packer` (test/fixtures/fake-packer) and a mocked
 * EC2 client (aws-sdk-client-mock). Proof limit: Packer's behaviour is the fake's; EC2's is the
 * mock's. The moto integration test covers real EC2 semantics.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { mockClient } from "aws-sdk-client-mock";
import {
    CreateTagsCommand,
    DeleteSnapshotCommand,
    DeleteTagsCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    EC2Client,
    type DescribeImagesCommandInput,
    type Image,
} from "@aws-sdk/client-ec2";
import { PackerImageProvider } from "../../../providers/packer/provider";
import { PROVIDER_VERSION } from "../../../providers/packer";
import { applyDefaults } from "../../../providers/packer/validate";
import { imageName } from "../../../providers/packer/naming";
import {
    captureConsole,
    inputs,
    makeProject,
    TEST_KEY_FINGERPRINT,
    TEST_RELEASE_SHA256,
    waitFor,
    type Project,
    type ProviderInputs,
    type ProviderOutputs,
} from "./harness";
import { awsError } from "../ec2/awsError";

const IMAGE = "ami-0fa4e000000000001";
const SNAP = "snap-0fa4e000000000001";

function image(over: Partial<Image> = {}): Image {
    return {
        ImageId: IMAGE,
        Name: "couchbase-cloud-server-dev-alice-000000000000",
        State: "available",
        CreationDate: "2026-11-25T12:00:00.000Z",
        BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { SnapshotId: SNAP } }],
        Tags: [{ Key: "Project", Value: "couchbase-images" }],
        ...over,
    };
}

describe("PackerImageProvider", function () {
    this.timeout(60_000);
    const ec2 = mockClient(EC2Client);
    const provider = new PackerImageProvider();
    let p: Project;

    before(() => {
        p = makeProject();
    });
    after(() => {
        p.restore();
        ec2.restore();
    });
    beforeEach(() => {
        ec2.reset();
        p.reset();
        // Default EC2: nothing to adopt; the built image is available with one snapshot.
        ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => ({ Images: input.ImageIds ? [image()] : [] }));
        ec2.on(DeregisterImageCommand).resolves({});
        ec2.on(DeleteSnapshotCommand).resolves({});
        ec2.on(CreateTagsCommand).resolves({});
    });

    const buildEvents = () => p.events().filter((e) => e.cmd === "build");

    describe("check", () => {
        it("accepts sound inputs, applies defaults, fingerprints and runs packer validate", async () => {
            const r = await provider.check(inputs(p), inputs(p));
            assert.deepEqual(r.failures, []);
            assert.equal(r.inputs?.instanceType, "t3.large");
            assert.match(r.inputs?.fingerprint ?? "", /^[0-9a-f]{64}$/);
            assert.ok(r.inputs?.fingerprintParts?.["template/scripts/install-couchbase.sh"]);
            const v = p.events().filter((e) => e.cmd === "validate");
            assert.equal(v.length, 1);
            const varFile = (v[0].argv as string[]).find((a) => a.startsWith("-var-file="))!.slice(10);
            // Only variables the template declares are passed; the file (it may hold values set as
            // secrets) was the owner's only and is gone once validate ran.
            const vars = v[0].vars as Record<string, unknown>;
            assert.equal(v[0].mode, "600");
            assert.equal(fs.existsSync(varFile), false, "the check's var file outlives packer validate");
            assert.deepEqual(Object.keys(vars).sort(), [
                "agent_sha256",
                "couchbase_key_fingerprints",
                "couchbase_release_sha256",
                "image_name",
                "manifest_path",
                "region",
                "tags",
            ]);
            assert.equal(vars.couchbase_release_sha256, TEST_RELEASE_SHA256);
            assert.deepEqual(vars.couchbase_key_fingerprints, [TEST_KEY_FINGERPRINT]);
        });

        it("normalizes the repository pins before Packer sees them (gpg's grouped form, uppercase sha256)", async () => {
            const r = await provider.check(
                inputs(p),
                inputs(p, {
                    couchbaseReleaseSha256: TEST_RELEASE_SHA256.toUpperCase(),
                    couchbaseKeyFingerprints: ["0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567"],
                }),
            );
            assert.deepEqual(r.failures, []);
            assert.equal(r.inputs?.couchbaseReleaseSha256, TEST_RELEASE_SHA256);
            assert.deepEqual(r.inputs?.couchbaseKeyFingerprints, [TEST_KEY_FINGERPRINT]);
            assert.equal(
                r.inputs?.fingerprint,
                (await provider.check(inputs(p), inputs(p))).inputs?.fingerprint,
                "same pins, same fingerprint",
            );
        });

        it("remembers a passing validate: unchanged inputs skip Packer, a changed variable or template runs it again", async () => {
            const validates = () => p.events().filter((e) => e.cmd === "validate").length;
            await provider.check(inputs(p), inputs(p));
            await provider.check(inputs(p), inputs(p));
            assert.equal(validates(), 1, "the second check of identical inputs must not run packer validate");
            await provider.check(inputs(p), inputs(p, { instanceType: "t3.xlarge" }));
            assert.equal(validates(), 2, "a changed variable must be validated");
            p.knobs({ FAKE_PACKER_VALIDATE_FAIL: "Unsupported argument" });
            const r = await provider.check(inputs(p), inputs(p, { instanceType: "m5.large" }));
            assert.equal(r.failures?.[0]?.property, "templateDir", "a failing validate is never remembered as a pass");
            const again = await provider.check(inputs(p), inputs(p, { instanceType: "m5.large" }));
            assert.equal(again.failures?.[0]?.property, "templateDir");
            assert.equal(validates(), 4);
        });

        it("asks Packer for its versions once per packer binary and plugin folder, again when a plugin changes", async () => {
            const saved = process.env.PACKER_PLUGIN_PATH;
            const plugins = path.join(p.root, "plugins");
            fs.mkdirSync(path.join(plugins, "github.com/hashicorp/amazon"), { recursive: true });
            process.env.PACKER_PLUGIN_PATH = plugins;
            try {
                const versions = () => p.events().filter((e) => e.cmd === "version").length;
                await provider.check(inputs(p), inputs(p));
                await provider.check(inputs(p), inputs(p, { instanceType: "t3.xlarge" }));
                assert.equal(versions(), 1, "the second check must reuse the remembered versions");
                fs.writeFileSync(path.join(plugins, "github.com/hashicorp/amazon/packer-plugin-amazon_v1.8.3_x5.0_linux_amd64"), "new");
                await provider.check(inputs(p), inputs(p));
                assert.equal(versions(), 2, "a changed plugin folder must be asked again");
            } finally {
                if (saved === undefined) delete process.env.PACKER_PLUGIN_PATH;
                else process.env.PACKER_PLUGIN_PATH = saved;
            }
        });

        const failures: [string, () => Partial<Parameters<PackerImageProvider["check"]>[1]>, string, RegExp][] = [
            ["bad region", () => ({ region: "moon-1" }), "region", /not an AWS region/],
            ["build region among copy regions", () => ({ copyRegions: ["eu-west-1"] }), "copyRegions[0]", /build region/],
            ["duplicated copy region", () => ({ copyRegions: ["us-east-1", "us-east-1"] }), "copyRegions[1]", /twice/],
            ["world-open CIDR", () => ({ sshCidrs: ["0.0.0.0/0"] }), "sshCidrs[0]", /whole internet/],
            ["missing template folder", () => ({ templateDir: "images/gcp" }), "templateDir", /not a folder/],
            ["folder without template", () => ({ templateDir: "agent" }), "templateDir", /no \*\.pkr\.hcl/],
            ["empty agent sha256", () => ({ agentSha256: "" }), "agentSha256", /is empty/],
            ["malformed agent sha256", () => ({ agentSha256: "xyz" }), "agentSha256", /not a sha256/],
            ["agent sha256 not matching the artifact", () => ({ agentSha256: "0".repeat(64) }), "agentSha256", /does not match/],
            ["missing agent artifact", () => ({ agentArtifact: ".build/agent/missing.gz" }), "agentArtifact", /does not exist/],
            ["missing unit file", () => ({ agentUnit: "agent/nope.service" }), "agentUnit", /does not exist/],
            ["malformed Couchbase version", () => ({ couchbaseVersion: "seven" }), "couchbaseVersion", /not a Couchbase Server version/],
            ["bad name prefix", () => ({ namePrefix: "Bad_Prefix" }), "namePrefix", /name prefix/],
            ["negative TTL", () => ({ ttlHours: -5 }), "ttlHours", /negative/],
            [
                "repository mode without the release sha256",
                () => ({ couchbaseReleaseSha256: undefined }),
                "couchbaseReleaseSha256",
                /^is empty, but couchbasePackageSource is "repository"/,
            ],
            [
                "repository mode without key fingerprints",
                () => ({ couchbaseKeyFingerprints: [] }),
                "couchbaseKeyFingerprints",
                /^is empty, but couchbasePackageSource is "repository"/,
            ],
            ["malformed release sha256", () => ({ couchbaseReleaseSha256: "abc" }), "couchbaseReleaseSha256", /not a sha256/],
            [
                "malformed key fingerprint",
                () => ({ couchbaseKeyFingerprints: ["ABCD"] }),
                "couchbaseKeyFingerprints[0]",
                /not an OpenPGP key fingerprint/,
            ],
            [
                "download of a version the table lacks, without a pin",
                () => ({ couchbasePackageSource: "download", couchbaseVersion: "8.0.9" }),
                "couchbasePackageSha256",
                /^Couchbase Server enterprise 8\.0\.9 for amd64 is not in the project's table .*Couchbase publishes at https:\/\/packages\.couchbase\.com\/releases\/8\.0\.9\/couchbase-server-enterprise_8\.0\.9-linux_amd64\.deb\.sha256 /,
            ],
            [
                "download with a pin that differs from the table",
                () => ({ couchbasePackageSource: "download", couchbasePackageSha256: "f".repeat(64) }),
                "couchbasePackageSha256",
                /differs from the project's table/,
            ],
            [
                "an unknown architecture",
                () => ({ couchbasePackageSource: "download", architecture: "i386" }),
                "architecture",
                /not an architecture/,
            ],
        ];
        for (const [what, over, property, reason] of failures) {
            it(`fails on ${what}, naming ${property}`, async () => {
                const r = await provider.check(inputs(p), inputs(p, over()));
                assert.equal(r.failures?.length, 1, JSON.stringify(r.failures));
                assert.equal(r.failures[0].property, property);
                assert.match(r.failures[0].reason, reason);
                assert.equal(p.events().filter((e) => e.cmd === "validate").length, 0, "packer validate must not run on bad inputs");
            });
        }

        it("download mode (the default): the table's sha256 is filled in, fingerprinted and passed to packer validate with the package's URL", async () => {
            const dl = (over = {}) =>
                inputs(p, {
                    couchbasePackageSource: undefined,
                    couchbaseReleaseSha256: undefined,
                    couchbaseKeyFingerprints: undefined,
                    ...over,
                });
            const r = await provider.check(dl(), dl());
            assert.deepEqual(r.failures, []);
            assert.equal(r.inputs?.couchbasePackageSource, "download");
            assert.equal(r.inputs?.couchbasePackageSha256, "9616bba1b213231493b4d17ed677f0dc26575e0d7f09234e6d4a6e0f6b1358ad"); // 7.6.4 amd64
            assert.equal(p.events().filter((e) => e.cmd === "validate").length, 1, "packer validate ran");
            const vars = p.events().filter((e) => e.cmd === "validate")[0].vars as Record<string, string>;
            assert.equal(
                vars.couchbase_package_url,
                "https://packages.couchbase.com/releases/7.6.4/couchbase-server-enterprise_7.6.4-linux_amd64.deb",
            );
            assert.equal(vars.couchbase_package_sha256, r.inputs?.couchbasePackageSha256);
            const again = await provider.check(dl(), dl({ architecture: "arm64" }));
            assert.equal(again.inputs?.couchbasePackageSha256, "362376a07ccdc1d604ef2d48229d853bed9340dbd033abd8a0174819dfa76b6e"); // 7.6.4 arm64
            assert.notEqual(again.inputs?.fingerprint, r.inputs?.fingerprint);
            const pinned = await provider.check(dl(), dl({ couchbaseVersion: "8.0.9", couchbasePackageSha256: "F".repeat(64) }));
            assert.deepEqual(pinned.failures, []);
            assert.equal(pinned.inputs?.couchbasePackageSha256, "f".repeat(64));
        });

        it("fails at preview when packer validate rejects the template, naming templateDir", async () => {
            p.knobs({ FAKE_PACKER_VALIDATE_FAIL: 'Unsupported argument; An argument named "amis" is not expected here.' });
            const r = await provider.check(inputs(p), inputs(p));
            assert.equal(r.failures?.length, 1);
            assert.equal(r.failures[0].property, "templateDir");
            assert.match(r.failures[0].reason, /packer validate .* failed[\s\S]*Unsupported argument/);
        });

        it("skips file checks and validate while values are unknown (preview)", async () => {
            const r = await provider.check(inputs(p), inputs(p, { agentSha256: "04da6b54-80e4-46f7-96ec-b56ff0331ba9" }));
            assert.deepEqual(r.failures, []);
            assert.equal(r.inputs?.fingerprint, undefined);
            assert.equal(p.events().length, 0);
        });
    });

    // The calls the engine makes when the agent comes from the command resource (issue 19): at a
    // fresh clone's preview the command has not run (its stdout, hence the sha256, is unknown, and
    // the artifact is absent); on a second machine the command is replaced (checkout trigger), so
    // preview looks the same, and its up passes the rebuilt artifact with the same sha256.
    describe("agent built by a step that has not run yet", () => {
        const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
        const absent = ".build/agent-not-built-yet/dp-agent.gz";
        const asOuts = (i: object) =>
            ({
                ...i,
                imageId: IMAGE,
                snapshotIds: [SNAP],
                tags: {},
                createdAt: "2026-11-25T12:00:00.000Z",
                imageName: "x",
                buildLog: "",
            }) as unknown as ProviderOutputs;

        it("preview of a new stack: check passes with the artifact absent and its sha256 unknown, runs no Packer", async () => {
            const r = await provider.check(
                undefined as unknown as ProviderInputs,
                inputs(p, { agentArtifact: absent, agentSha256: UNKNOWN }),
            );
            assert.deepEqual(r.failures, []);
            assert.equal(r.inputs?.fingerprint, undefined);
            assert.equal(p.events().length, 0);
        });

        it("second machine, preview: the old image's diff says a rebuild may follow only because of agentSha256", async () => {
            const olds = asOuts((await provider.check(inputs(p), inputs(p))).inputs!);
            const news = (await provider.check(olds, inputs(p, { agentSha256: UNKNOWN }))).inputs!;
            assert.deepEqual(await provider.diff(IMAGE, olds, news), {
                changes: true,
                replaces: ["agentSha256"],
                deleteBeforeReplace: false,
            });
        });

        it("second machine, up: the rebuilt artifact with the same sha256 → check passes, diff says no change", async () => {
            const olds = asOuts((await provider.check(inputs(p), inputs(p))).inputs!);
            const r = await provider.check(olds, inputs(p));
            assert.deepEqual(r.failures, []);
            assert.deepEqual(await provider.diff(IMAGE, olds, r.inputs!), { changes: false });
        });

        it("an absent artifact with a known sha256 is still an error naming agentArtifact", async () => {
            const r = await provider.check(inputs(p), inputs(p, { agentArtifact: absent }));
            assert.deepEqual(
                r.failures?.map((f) => f.property),
                ["agentArtifact"],
            );
        });
    });

    describe("diff", () => {
        const checked = async (over = {}) => (await provider.check(inputs(p), inputs(p, over))).inputs!;
        const asOuts = (i: object) =>
            ({
                ...i,
                imageId: IMAGE,
                snapshotIds: [SNAP],
                tags: {},
                createdAt: "2026-11-25T12:00:00.000Z",
                imageName: "x",
                buildLog: "",
            }) as unknown as ProviderOutputs;

        it("equal inputs → changes: false (explicitly)", async () => {
            const i = await checked();
            const d = await provider.diff(IMAGE, asOuts(i), await checked());
            assert.deepEqual(d, { changes: false });
        });
        it("an edited script → replace naming the template, old image kept until the new one exists", async () => {
            const olds = asOuts(await checked());
            fs.appendFileSync("images/aws/scripts/install-couchbase.sh", "echo changed\n");
            try {
                const { result: d, lines } = await captureConsole(async () => provider.diff(IMAGE, olds, await checked()));
                assert.equal(d?.changes, true);
                assert.deepEqual(d?.replaces, ["fingerprint", "templateDir"]);
                assert.equal(d?.deleteBeforeReplace, false);
                assert.ok(
                    lines.some((l) => l.includes("template/scripts/install-couchbase.sh")),
                    lines.join("\n"),
                );
            } finally {
                fs.writeFileSync("images/aws/scripts/install-couchbase.sh", "#!/usr/bin/env bash\necho install\n");
            }
        });
        it("a new Couchbase version → replace naming couchbaseVersion", async () => {
            const d = await provider.diff(IMAGE, asOuts(await checked()), await checked({ couchbaseVersion: "7.6.5" }));
            assert.equal(d.changes, true);
            assert.deepEqual(d.replaces, ["couchbaseVersion", "fingerprint", "fingerprintParts"]);
        });
        it("a new couchbase-release sha256 or key set → replace naming them", async () => {
            const olds = asOuts(await checked());
            const d1 = await provider.diff(IMAGE, olds, await checked({ couchbaseReleaseSha256: "f".repeat(64) }));
            assert.deepEqual(d1, {
                changes: true,
                replaces: ["couchbaseReleaseSha256", "fingerprint", "fingerprintParts"],
                deleteBeforeReplace: false,
            });
            const d2 = await provider.diff(
                IMAGE,
                olds,
                await checked({ couchbaseKeyFingerprints: [TEST_KEY_FINGERPRINT, "89ABCDEF0123456789ABCDEF0123456789ABCDEF"] }),
            );
            assert.deepEqual(d2.replaces, ["couchbaseKeyFingerprints", "fingerprint", "fingerprintParts"]);
            const d3 = await provider.diff(
                IMAGE,
                olds,
                await checked({ couchbaseReleaseUrl: "https://mirror.example.com/couchbase-release-1.0-noarch.deb" }),
            );
            assert.deepEqual(d3.replaces, ["couchbaseReleaseUrl", "fingerprint", "fingerprintParts"]);
        });
        it("the same key set in another order or spelling → changes: false", async () => {
            const two = [TEST_KEY_FINGERPRINT, "89ABCDEF0123456789ABCDEF0123456789ABCDEF"];
            const olds = asOuts(await checked({ couchbaseKeyFingerprints: two }));
            const d = await provider.diff(IMAGE, olds, await checked({ couchbaseKeyFingerprints: two }));
            assert.deepEqual(d, { changes: false });
            const reordered = await checked({
                couchbaseKeyFingerprints: ["89ab cdef 0123 4567 89ab cdef 0123 4567 89ab cdef", TEST_KEY_FINGERPRINT],
            });
            assert.equal(reordered.fingerprint, olds.fingerprint);
        });
        it("with a local package folder the pins rebuild nothing: change without replace", async () => {
            fs.mkdirSync(".build/standin", { recursive: true });
            fs.writeFileSync(".build/standin/couchbase-server_7.6.4-1_amd64.deb", "stand-in");
            const local = { couchbasePackageSource: ".build/standin" };
            const olds = asOuts(await checked(local));
            const d = await provider.diff(
                IMAGE,
                olds,
                await checked({ ...local, couchbaseReleaseSha256: "", couchbaseKeyFingerprints: [] }),
            );
            assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: false });
        });
        it("only the provider version → change without replace", async () => {
            const i = await checked();
            const d = await provider.diff(IMAGE, asOuts({ ...i, providerVersion: "0.9.0" }), i);
            assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: false });
        });
        it("only the serialized provider code → change without replace", async () => {
            const i = await checked();
            const d = await provider.diff(IMAGE, asOuts({ ...i, __provider: "old code" }), { ...i, __provider: "new code" });
            assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: false });
        });
        it("tags or build-time settings → change without replace", async () => {
            const i = await checked();
            for (const over of [
                { owner: "bob" },
                { ttlHours: 1 },
                { ec2Endpoint: "http://127.0.0.1:5001" },
                { sshCidrs: ["10.0.0.0/8"] },
            ]) {
                const d = await provider.diff(IMAGE, asOuts(i), await checked(over));
                assert.deepEqual(d, { changes: true, replaces: [], deleteBeforeReplace: false }, JSON.stringify(over));
            }
        });
        it("another copy-region list → no change at all (the copies are the program's AmiCopy resources)", async () => {
            const i = await checked();
            assert.deepEqual(await provider.diff(IMAGE, asOuts(i), await checked({ copyRegions: ["us-east-1", "ap-south-1"] })), {
                changes: false,
            });
            assert.deepEqual(await provider.diff(IMAGE, asOuts(i), await checked({ copyRegions: [] })), { changes: false });
        });
        it("unknown build inputs at preview → replace naming them", async () => {
            const i = await checked();
            const d = await provider.diff(IMAGE, asOuts(i), {
                ...i,
                fingerprint: undefined,
                fingerprintParts: undefined,
                agentSha256: "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
            });
            assert.deepEqual(d.replaces, ["agentSha256"]);
        });
    });

    describe("create", () => {
        it("builds: streams redacted output, writes a log, reads the manifest, records snapshots", async () => {
            p.knobs({ FAKE_PACKER_ECHO_SECRET: "1" });
            const secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
            const oldSecret = process.env.AWS_SECRET_ACCESS_KEY;
            process.env.AWS_SECRET_ACCESS_KEY = secret;
            try {
                const { result, error, lines } = await captureConsole(() =>
                    provider.create(inputs(p, { ec2Endpoint: "http://127.0.0.1:5999" })),
                );
                assert.equal(error, undefined, error?.message);
                const outs = result!.outs!;
                assert.equal(result!.id, IMAGE);
                assert.equal(outs.imageId, IMAGE);
                assert.deepEqual(outs.snapshotIds, [SNAP]);
                assert.match(outs.imageName, /^couchbase-cloud-server-dev-alice-[0-9a-f]{12}$/);
                assert.equal(outs.tags.Stack, "dev-alice");
                assert.equal(outs.tags.Fingerprint, outs.fingerprint);
                assert.equal(outs.packerVersion, "1.16.0");
                assert.equal(outs.pluginVersion, "1.8.2");
                assert.equal(outs.providerVersion, PROVIDER_VERSION);
                assert.match(outs.buildLog, /^\.build\/logs\/dev-alice-[0-9a-f]{12}-\d{8}T\d{6}Z\.log$/);
                // Live stream: readable ui lines, the log path announced, secrets masked.
                assert.ok(lines.some((l) => l.includes(`log: ${outs.buildLog}`)));
                assert.ok(lines.some((l) => l === "packer: ==> amazon-ebs.couchbase: step provision"));
                const all = lines.join("\n") + fs.readFileSync(outs.buildLog, "utf8");
                assert.equal(all.includes(secret), false, "secret leaked");
                assert.equal(all.includes("AKIAIOSFODNN7EXAMPLE"), false, "access key id leaked");
                assert.ok(fs.readFileSync(outs.buildLog, "utf8").includes("step manifest"));
                // Outputs hold nothing secret and no absolute path.
                const text = JSON.stringify(outs);
                assert.equal(text.includes(secret), false);
                assert.equal(text.includes(p.root), false);
                // Packer got the endpoint override in its environment and values only via the var file.
                const b = buildEvents();
                assert.equal(b.length, 1);
                assert.equal(b[0].endpoint, "http://127.0.0.1:5999");
                assert.equal(
                    (b[0].argv as string[]).some((a) => a.includes("7.6.4")),
                    false,
                );
            } finally {
                if (oldSecret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
                else process.env.AWS_SECRET_ACCESS_KEY = oldSecret;
            }
        });

        it("values of config set as secret (secretValues) are masked on the console and in the log; the var file is gone", async () => {
            p.knobs({ FAKE_PACKER_ECHO_SECRET: "1" });
            const tagSecret = "team-s3cr3t-9d2e";
            const { result, error, lines } = await captureConsole(() =>
                provider.create(
                    inputs(p, { ec2Endpoint: "http://127.0.0.1:5999", extraTags: { Team: tagSecret }, secretValues: [tagSecret] }),
                ),
            );
            assert.equal(error, undefined, error?.message);
            const outs = result!.outs!;
            const log = fs.readFileSync(outs.buildLog, "utf8");
            assert.match(log, /Adding tag: "Team": "\[REDACTED\]"/, "Packer printed the tag, masked");
            assert.equal((lines.join("\n") + log).includes(tagSecret), false, "secret tag value leaked");
            const b = buildEvents();
            assert.equal((b[0].vars as { tags: Record<string, string> }).tags.Team, tagSecret, "Packer still got the value itself");
            const varFile = (b[0].argv as string[]).find((a) => a.startsWith("-var-file="))!.slice("-var-file=".length);
            assert.equal(fs.existsSync(varFile), false, "the build's var file outlives the build");
        });

        it("adopts an available image with the same fingerprint and stack instead of building", async () => {
            ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
                const f = Object.fromEntries((input.Filters ?? []).map((x) => [x.Name, x.Values?.[0]]));
                // This build's own result: its exact name, every volume encrypted (providers/packer/adopt.ts).
                if (!input.ImageIds && f["tag:Stack"] === "dev-alice" && f["tag:Fingerprint"])
                    return {
                        Images: [
                            image({
                                ImageId: "ami-0adopted000000001",
                                Name: imageName("couchbase-cloud-server", "dev-alice", f["tag:Fingerprint"]),
                                BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { SnapshotId: SNAP, Encrypted: true } }],
                                Tags: [
                                    { Key: "Project", Value: "couchbase-images" },
                                    { Key: "Stack", Value: "dev-alice" },
                                    { Key: "Fingerprint", Value: f["tag:Fingerprint"] },
                                ],
                            }),
                        ],
                    };
                return { Images: [] };
            });
            const { result, error } = await captureConsole(() => provider.create(inputs(p)));
            assert.equal(error, undefined, error?.message);
            assert.equal(result!.id, "ami-0adopted000000001");
            assert.equal(result!.outs!.buildLog, "");
            assert.equal(buildEvents().length, 0, "packer build must not run");
        });

        for (const [what, over] of [
            ["a temporary image of an interrupted encrypt_boot build (7-character name)", { Name: "a1B2c3D", encrypted: true }],
            ["an image of the right name with an unencrypted volume", { encrypted: false }],
        ] as const) {
            it(`does not adopt ${what}: builds instead`, async () => {
                ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
                    const f = Object.fromEntries((input.Filters ?? []).map((x) => [x.Name, x.Values?.[0]]));
                    if (!input.ImageIds && f["tag:Stack"] === "dev-alice" && f["tag:Fingerprint"]) {
                        const name = "Name" in over ? over.Name : imageName("couchbase-cloud-server", "dev-alice", f["tag:Fingerprint"]);
                        const tags = [
                            { Key: "Project", Value: "couchbase-images" },
                            { Key: "Stack", Value: "dev-alice" },
                            { Key: "Fingerprint", Value: f["tag:Fingerprint"] },
                        ];
                        return {
                            Images: [
                                image({
                                    ImageId: "ami-0notours00000001",
                                    Name: name,
                                    BlockDeviceMappings: [
                                        { DeviceName: "/dev/sda1", Ebs: { SnapshotId: "snap-0x", Encrypted: over.encrypted } },
                                    ],
                                    Tags: tags,
                                }),
                            ],
                        };
                    }
                    return { Images: input.ImageIds ? [image()] : [] };
                });
                const { result, error } = await captureConsole(() => provider.create(inputs(p)));
                assert.equal(error, undefined, error?.message);
                assert.equal(result!.id, IMAGE, "the image this build made, not the tagged one");
                assert.equal(buildEvents().length, 1, "packer build ran");
            });
        }

        it("fails before any image exists: throws, deletes nothing", async () => {
            p.knobs({ FAKE_PACKER_FAIL_AT: "provision" });
            const { error } = await captureConsole(() => provider.create(inputs(p)));
            assert.match(error?.message ?? "", /packer build failed \(exit 1\); full log: \.build\/logs\/.*fake failure at provision/s);
            assert.equal(ec2.commandCalls(DeregisterImageCommand).length, 0);
        });

        it("fails after the image exists (Packer error): deletes the image and its snapshots, then throws", async () => {
            p.knobs({ FAKE_PACKER_FAIL_AT: "manifest" });
            const { error } = await captureConsole(() => provider.create(inputs(p)));
            assert.match(error?.message ?? "", /packer build failed/);
            assert.deepEqual(
                ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId),
                [IMAGE],
            );
            assert.deepEqual(
                ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId),
                [SNAP],
            );
        });

        for (const mode of ["garbage", "multi", "stale", "missing"]) {
            it(`fails after the image exists (manifest ${mode}): deletes the image, then throws`, async () => {
                p.knobs({ FAKE_PACKER_MANIFEST: mode });
                const { error } = await captureConsole(() => provider.create(inputs(p)));
                assert.match(error?.message ?? "", /cannot read the image id/);
                assert.deepEqual(
                    ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId),
                    [IMAGE],
                );
                assert.deepEqual(
                    ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId),
                    [SNAP],
                );
            });
        }

        it("fails after the image exists (image never available): deletes it, then throws", async () => {
            ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => ({
                Images: input.ImageIds ? [image({ State: "failed" })] : [],
            }));
            const { error } = await captureConsole(() => provider.create(inputs(p)));
            assert.match(error?.message ?? "", /state failed/);
            assert.equal(ec2.commandCalls(DeregisterImageCommand).length, 1);
        });

        it("waits out eventual consistency (image not visible yet)", async () => {
            let n = 0;
            ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => {
                if (!input.ImageIds) return { Images: [] };
                if (n++ < 2) throw awsError("InvalidAMIID.NotFound");
                return { Images: [image()] };
            });
            const { result, error } = await captureConsole(() => provider.create(inputs(p)));
            assert.equal(error, undefined, error?.message);
            assert.equal(result!.id, IMAGE);
        });

        it("when cleanup fails too, reports a partially created resource carrying __provider", async () => {
            p.knobs({ FAKE_PACKER_MANIFEST: "garbage" });
            ec2.on(DeregisterImageCommand).rejects(awsError("UnauthorizedOperation"));
            const { error } = await captureConsole(() => provider.create({ ...inputs(p), __provider: "serialized" }));
            const e = error as Error & { id?: string; properties?: Record<string, unknown> };
            assert.equal(e.id, IMAGE);
            assert.equal(e.properties?.imageId, IMAGE);
            assert.equal(e.properties?.__provider, "serialized");
            assert.match(e.message, /deleting image .* failed/);
        });

        it("forwards SIGINT to Packer, waits for its cleanup, removes the image if any, throws", async () => {
            p.knobs({ FAKE_PACKER_SLEEP_AT: "provision", FAKE_PACKER_SLEEP: "30", FAKE_PACKER_CLEANUP_MS: "300" });
            const before = process.listenerCount("SIGINT");
            const run = captureConsole(() => provider.create(inputs(p)));
            await waitFor(() => p.events().some((e) => e.sleeping === "provision"));
            assert.equal(process.listenerCount("SIGINT"), before + 1);
            process.kill(process.pid, "SIGINT");
            const { error } = await run;
            assert.match(error?.message ?? "", /interrupted by SIGINT/);
            const ev = p.events();
            assert.ok(
                ev.some((e) => e.signal === "SIGINT"),
                "fake packer received SIGINT",
            );
            assert.ok(
                ev.some((e) => e.exit === "cancelled"),
                "fake packer finished its cleanup",
            );
            assert.equal(process.listenerCount("SIGINT"), before, "handler removed after the build");
        });

        it("enforces its own deadline: SIGINT, Packer cleans up, clear timeout error", async () => {
            p.knobs({ FAKE_PACKER_SLEEP_AT: "provision", FAKE_PACKER_SLEEP: "30" });
            const t0 = Date.now();
            const { error } = await captureConsole(() => provider.create(inputs(p, { buildTimeoutMinutes: 0.05 })));
            assert.match(error?.message ?? "", /exceeded buildTimeoutMinutes \(0\.05 min\);/);
            assert.ok(p.events().some((e) => e.signal === "SIGINT"));
            assert.ok(Date.now() - t0 < 10_000);
        });

        it("deadline: SIGKILLs a Packer that ignores SIGINT after the grace period", async () => {
            p.knobs({ FAKE_PACKER_SLEEP_AT: "provision", FAKE_PACKER_SLEEP: "30", FAKE_PACKER_IGNORE_SIGNALS: "1" });
            const { error } = await captureConsole(() => provider.create(inputs(p, { buildTimeoutMinutes: 0.05 })));
            assert.match(error?.message ?? "", /exceeded buildTimeoutMinutes .* killed after its grace period/);
            const pid = p.events().find((e) => e.cmd === "build")?.pid as number;
            assert.throws(() => process.kill(pid, 0), /ESRCH/, "fake packer still running");
        });
    });

    describe("read", () => {
        const outs = () =>
            ({
                ...inputs(p),
                imageId: IMAGE,
                snapshotIds: [SNAP],
                tags: {},
                createdAt: "",
                imageName: "x",
                buildLog: "",
                fingerprint: "f",
                fingerprintParts: {},
                packerVersion: "1.16.0",
                pluginVersion: "1.8.2",
            }) as unknown as ProviderOutputs;
        it("an image deleted out of band → empty id (refresh drops it)", async () => {
            ec2.on(DescribeImagesCommand).rejects(awsError("InvalidAMIID.NotFound"));
            const { result } = await captureConsole(() => provider.read(IMAGE, outs()));
            assert.equal(result?.id, "");
        });
        it("a deregistered image → empty id", async () => {
            ec2.on(DescribeImagesCommand).resolves({ Images: [image({ State: "deregistered" })] });
            const { result } = await captureConsole(() => provider.read(IMAGE, outs()));
            assert.equal(result?.id, "");
        });
        it("an existing image → its id and current snapshots", async () => {
            ec2.on(DescribeImagesCommand).resolves({ Images: [image({ BlockDeviceMappings: [{ Ebs: { SnapshotId: "snap-0new" } }] })] });
            const r = await provider.read(IMAGE, outs());
            assert.equal(r.id, IMAGE);
            assert.deepEqual(r.props?.snapshotIds, ["snap-0new"]);
        });
    });

    describe("update", () => {
        const outs = () =>
            ({
                ...applyDefaults(inputs(p) as unknown as Record<string, unknown>),
                imageId: IMAGE,
                snapshotIds: [SNAP],
                tags: { Team: "a" },
                createdAt: "2026-11-25T12:00:00.000Z",
                imageName: "x",
                buildLog: "",
                fingerprint: "f".repeat(64),
                fingerprintParts: {},
                packerVersion: "1.16.0",
                pluginVersion: "1.8.2",
            }) as unknown as ProviderOutputs;
        it("provider version only → old outputs with the new version, no EC2 call", async () => {
            const r = await provider.update(IMAGE, { ...outs(), providerVersion: "0.9.0" }, inputs(p));
            assert.deepEqual(r.outs, { ...outs(), providerVersion: PROVIDER_VERSION });
            assert.equal(ec2.calls().length, 0);
        });
        it("with a local package folder, changed pins are recorded (no diff on the next up), no EC2 call", async () => {
            const local = { couchbasePackageSource: ".build/standin" };
            const olds = { ...outs(), couchbasePackageSource: ".build/standin" };
            const r = await provider.update(IMAGE, olds, inputs(p, { ...local, couchbaseReleaseSha256: "", couchbaseKeyFingerprints: [] }));
            assert.deepEqual(r.outs, { ...olds, couchbaseReleaseSha256: "", couchbaseKeyFingerprints: [] });
            assert.equal(ec2.calls().length, 0);
        });
        it("agent version label change → recorded, no EC2 call (it is no tag)", async () => {
            const { result } = await captureConsole(() => provider.update(IMAGE, outs(), inputs(p, { agentVersion: "0.2.0" })));
            assert.equal(ec2.commandCalls(CreateTagsCommand).length + ec2.commandCalls(DeleteTagsCommand).length, 0);
            assert.equal(result?.outs?.agentVersion, "0.2.0");
            assert.equal(buildEvents().length, 0);
        });
        it("owner change → re-tags image and snapshots, no rebuild", async () => {
            const { result } = await captureConsole(() => provider.update(IMAGE, outs(), inputs(p, { owner: "bob" })));
            const calls = ec2.commandCalls(CreateTagsCommand);
            assert.equal(calls.length, 1);
            assert.deepEqual(calls[0].args[0].input.Resources, [IMAGE, SNAP]);
            assert.equal(result?.outs?.tags?.Owner, "bob");
            assert.equal(result?.outs?.imageId, IMAGE);
            assert.equal(buildEvents().length, 0);
        });
    });

    describe("delete", () => {
        const outs = () => ({ ...inputs(p), imageId: IMAGE, snapshotIds: [SNAP] }) as unknown as ProviderOutputs;
        it("deregisters the image, then deletes its snapshots", async () => {
            await captureConsole(() => provider.delete(IMAGE, outs()));
            assert.deepEqual(
                ec2.commandCalls(DeregisterImageCommand).map((c) => c.args[0].input.ImageId),
                [IMAGE],
            );
            assert.deepEqual(
                ec2.commandCalls(DeleteSnapshotCommand).map((c) => c.args[0].input.SnapshotId),
                [SNAP],
            );
        });
        it("NotFound counts as done (image and snapshot already gone)", async () => {
            ec2.on(DescribeImagesCommand).rejects(awsError("InvalidAMIID.NotFound"));
            ec2.on(DeleteSnapshotCommand).rejects(awsError("InvalidSnapshot.NotFound"));
            const { error } = await captureConsole(() => provider.delete(IMAGE, outs()));
            assert.equal(error, undefined);
            assert.equal(ec2.commandCalls(DeregisterImageCommand).length, 0);
        });
        it("retries InvalidSnapshot.InUse until the snapshot can go", async () => {
            ec2.on(DeleteSnapshotCommand)
                .rejectsOnce(awsError("InvalidSnapshot.InUse"))
                .rejectsOnce(awsError("InvalidSnapshot.InUse"))
                .resolves({});
            const { error } = await captureConsole(() => provider.delete(IMAGE, outs()));
            assert.equal(error, undefined, error?.message);
            assert.equal(ec2.commandCalls(DeleteSnapshotCommand).length, 3);
        });
        it("retries throttling", async () => {
            ec2.on(DeregisterImageCommand).rejectsOnce(awsError("RequestLimitExceeded")).resolves({});
            const { error } = await captureConsole(() => provider.delete(IMAGE, outs()));
            assert.equal(error, undefined, error?.message);
            assert.equal(ec2.commandCalls(DeregisterImageCommand).length, 2);
            assert.equal(ec2.commandCalls(DeleteSnapshotCommand).length, 1);
        });
        it("a second delete is a no-op", async () => {
            ec2.on(DescribeImagesCommand).resolves({ Images: [] });
            ec2.on(DeleteSnapshotCommand).rejects(awsError("InvalidSnapshot.NotFound"));
            const { error } = await captureConsole(() => provider.delete(IMAGE, outs()));
            assert.equal(error, undefined);
        });
    });
});
