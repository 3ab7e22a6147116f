/**
 * Exact registrations of the ImagePipeline component under Pulumi mocks.
 * Proof limit: mocks never run providers; this proves what the program asks the engine for
 * (types, names, inputs, options), not what AWS or Packer do with it.
 */
import * as assert from "node:assert/strict";

import { AgentInput, ImagePipeline, ImagePipelineArgs } from "../../../pipeline/component";
import type { VersionsDoc } from "../../../pipeline/versions";
import {
    calls,
    copyIdFor,
    FAKE_ARM64_FINGERPRINT,
    FAKE_ARM64_IMAGE_ID,
    FAKE_ARM64_IMAGE_NAME,
    FAKE_ARM64_SHA,
    FAKE_FINGERPRINT,
    FAKE_IMAGE_ID,
    FAKE_IMAGE_NAME,
    FAKE_SHA,
    installMocks,
    ofType,
    promiseOf,
    recorded,
    resetRecorder,
    settle,
} from "./mocks";
import { versionsSchemaValidator } from "../../fixtures/versionsSchema";

const BUILD: AgentInput = {
    kind: "build",
    arch: "amd64",
    triggers: ["sources=x", "ldflags=-X main.Provider=aws", "platform=linux/amd64", "go=go1.26.8"],
};
// Test-only stand-ins for the repository pins: well-formed, obviously not Couchbase's real values.
const TEST_SHA256 = "0123456789abcdef".repeat(4);
const TEST_FPR = "0123456789ABCDEF0123456789ABCDEF01234567";
const RELEASE_URL = "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb";
const PREBUILT: AgentInput = { kind: "prebuilt", artifact: ".build/agent/dp-agent.gz", sha256: FAKE_SHA };

/** One architecture's settings, flat (as the one-architecture component took them). */
interface OneArch {
    agent: AgentInput;
    instanceType: string;
    baseImageNameFilter: string;
    baseImageId?: string;
}

/** The component's arguments for one amd64 image; `over` may set that image's settings flat. */
function args(over: Partial<ImagePipelineArgs> & Partial<OneArch> = {}): ImagePipelineArgs {
    const { agent = BUILD, instanceType = "t3.large", baseImageNameFilter = "debian-12-amd64-*", baseImageId, ...rest } = over;
    return {
        project: "couchbase-images",
        stack: "dev-alice",
        buildRegion: "us-east-1",
        copyRegions: [],
        architectures: [{ arch: "amd64", agent, instanceType, baseImageNameFilter, baseImageId }],
        agentVersion: "0.2.0",
        couchbaseEdition: "enterprise",
        couchbaseVersion: "7.6.3",
        couchbasePackageSource: "repository",
        couchbasePackageSha256: {},
        couchbaseReleaseUrl: RELEASE_URL,
        couchbaseReleaseSha256: TEST_SHA256,
        couchbaseKeyFingerprints: [TEST_FPR],
        baseImageOwners: ["136693071363"],
        rootVolumeSize: 0,
        rootDeviceName: "",
        namePrefix: "couchbase-server",
        environment: "dev",
        owner: "alice",
        ttlHours: 72,
        extraTags: { CostCenter: "42" },
        kmsKeyIds: {},
        sshCidrs: ["203.0.113.7/32"],
        emulator: false,
        sshPort: 0,
        sshUsername: "admin",
        buildTimeoutMinutes: 90,
        copyTimeoutMinutes: 60,
        versionsDir: "versions",
        templateDir: "images/aws",
        bootTest: true,
        ...rest,
    };
}

async function build(name: string, a: ImagePipelineArgs): Promise<ImagePipeline> {
    const p = new ImagePipeline(name, a);
    await settle(p.amiIds, p.versionsFile, p.agentSha256, p.imageName, p.fingerprint);
    return p;
}

const IMAGE = "pulumi-nodejs:dynamic/packer:Image";
const COMMAND = "command:local:Command";
const COPY = "aws:ec2/amiCopy:AmiCopy";
const SNAPTAGS = "pulumi-nodejs:dynamic/copy:SnapshotTags";
const FILE = "pulumi-nodejs:dynamic/versions:File";
const BOOT = "pulumi-nodejs:dynamic/packer:BootTest";
const BOOT_URN =
    "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/packer:BootTest::couchbase-boot-test";

describe("ImagePipeline (mocks)", function () {
    this.timeout(120_000);

    // Each scenario constructs once in its own `before` (fresh mocks, cleared recorder) and its
    // tests read that one recording.
    describe("agent built here, two copy regions, a KMS key for one", () => {
        let p: ImagePipeline;
        before(async () => {
            await installMocks("dev-alice");
            resetRecorder();
            p = await build("couchbase", args({ copyRegions: ["eu-west-1", "us-west-2"], kmsKeyIds: { "eu-west-1": "alias/images" } }));
        });

        it("registers exactly: component, command, image, boot test, aws provider, two copies and their snapshot tags, versions file", () => {
            assert.deepEqual(
                recorded.map((r) => `${r.type}::${r.name}`).sort(),
                [
                    `${BOOT}::couchbase-boot-test`,
                    `${COPY}::couchbase-copy-eu-west-1`,
                    `${COPY}::couchbase-copy-us-west-2`,
                    `${SNAPTAGS}::couchbase-copy-eu-west-1-snapshot-tags`,
                    `${SNAPTAGS}::couchbase-copy-us-west-2-snapshot-tags`,
                    `${COMMAND}::couchbase-agent`,
                    "couchbase-images:index:ImagePipeline::couchbase",
                    `${FILE}::couchbase-versions`,
                    `${IMAGE}::couchbase-image`,
                    "pulumi:providers:aws::couchbase-aws",
                ].sort(),
            );
            assert.deepEqual(calls, [], "no function calls");
        });

        it("runs the agent build script with constant text, values in the environment, content triggers", () => {
            const [cmd] = ofType(COMMAND);
            assert.equal(cmd.inputs.create, 'exec bash agent/build.sh --out "$DP_AGENT_OUT" --arch "$DP_AGENT_ARCH" --provider aws');
            assert.deepEqual(cmd.inputs.environment, { DP_AGENT_OUT: ".build/agent", DP_AGENT_ARCH: "amd64" });
            assert.deepEqual(cmd.inputs.triggers, BUILD.kind === "build" ? BUILD.triggers : []);
        });

        it("passes the built agent (sha256 = last stdout line) and the config to the image", () => {
            const [img] = ofType(IMAGE);
            assert.equal(img.inputs.agentArtifact, ".build/agent/dp-agent.gz");
            assert.equal(img.inputs.templateDir, "images/aws");
            assert.equal(img.inputs.agentSha256, FAKE_SHA);
            assert.equal(img.inputs.region, "us-east-1");
            assert.deepEqual(img.inputs.copyRegions, ["eu-west-1", "us-west-2"]);
            assert.deepEqual(img.inputs.baseImage, { nameFilter: "debian-12-amd64-*", owners: ["136693071363"] });
            assert.equal(img.inputs.stack, "dev-alice");
            assert.equal(img.inputs.namePrefix, "couchbase-server");
            assert.equal(img.inputs.couchbasePackageSource, "repository");
            assert.equal(img.inputs.couchbaseReleaseUrl, RELEASE_URL);
            assert.equal(img.inputs.couchbaseReleaseSha256, TEST_SHA256);
            assert.deepEqual(img.inputs.couchbaseKeyFingerprints, [TEST_FPR]);
            assert.equal(img.inputs.kmsKeyId, undefined, "no key for the build region");
            assert.deepEqual(img.inputs.sshCidrs, ["203.0.113.7/32"]);
            assert.equal(typeof img.inputs.__provider, "string");
            // Its own URN, where its build progress is logged; computed without depending on the component.
            assert.equal(
                img.inputs.resourceUrn,
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/packer:Image::couchbase-image",
            );
        });

        it("one encrypted AmiCopy per region, with its region, KMS key, source and tags", () => {
            const copies = ofType(COPY).sort((a, b) => a.name.localeCompare(b.name));
            assert.equal(copies.length, 2);
            const expectTags = {
                Project: "couchbase-images",
                Stack: "dev-alice",
                Name: FAKE_IMAGE_NAME,
                Fingerprint: FAKE_FINGERPRINT,
                Architecture: "amd64",
                SourceRegion: "us-east-1",
                SourceImage: FAKE_IMAGE_ID,
            };
            assert.deepEqual(copies[0].inputs, {
                region: "eu-west-1",
                name: FAKE_IMAGE_NAME,
                description: `${FAKE_IMAGE_NAME} copied from us-east-1`,
                sourceAmiId: FAKE_IMAGE_ID,
                sourceAmiRegion: "us-east-1",
                encrypted: true,
                kmsKeyId: "alias/images",
                tags: expectTags,
            });
            assert.deepEqual(copies[1].inputs, {
                region: "us-west-2",
                name: FAKE_IMAGE_NAME,
                description: `${FAKE_IMAGE_NAME} copied from us-east-1`,
                sourceAmiId: FAKE_IMAGE_ID,
                sourceAmiRegion: "us-east-1",
                encrypted: true,
                tags: expectTags,
            });
            for (const c of copies) assert.match(String(c.provider), /::couchbase-aws::/, "explicit aws provider");
            // A replacement (new KMS key) keeps the name: the old copy must go first (InvalidAMIName.Duplicate).
            for (const c of copies) assert.equal(c.deleteBeforeReplace, true, `${c.name} deleteBeforeReplace`);
        });

        it("one snapshot-tags resource per copy: the copy's region, id and tags, after the copy", () => {
            const copies = Object.fromEntries(ofType(COPY).map((c) => [c.name, c]));
            const tagged = ofType(SNAPTAGS);
            assert.equal(tagged.length, 2);
            for (const t of tagged) {
                const copy = copies[t.name.replace(/-snapshot-tags$/, "")];
                assert.ok(copy, t.name);
                assert.equal(t.inputs.region, copy.inputs.region);
                assert.equal(t.inputs.imageId, copyIdFor(String(copy.inputs.region)));
                assert.deepEqual(t.inputs.tags, copy.inputs.tags);
                assert.equal(t.inputs.ec2Endpoint, "");
                assert.equal(typeof t.inputs.__provider, "string");
                assert.ok(
                    t.dependencies.includes(
                        `urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$${COPY}::${copy.name}`,
                    ),
                    `${t.name} waits for its copy`,
                );
                assert.equal(t.deleteBeforeReplace, false);
            }
        });

        it("boot tests exactly the new image in the build region, launched like the builder", () => {
            const [boot] = ofType(BOOT);
            assert.equal(boot.inputs.imageId, FAKE_IMAGE_ID);
            assert.equal(boot.inputs.imageName, FAKE_IMAGE_NAME);
            assert.equal(boot.inputs.region, "us-east-1");
            assert.equal(boot.inputs.templateDir, "images/aws/boot-test");
            assert.equal(boot.inputs.instanceType, "t3.large");
            assert.deepEqual(boot.inputs.sshCidrs, ["203.0.113.7/32"]);
            assert.equal(boot.inputs.sshUsername, "admin");
            assert.deepEqual(boot.inputs.extraTags, { CostCenter: "42", Architecture: "amd64" });
            assert.equal(boot.inputs.stack, "dev-alice");
            assert.equal(typeof boot.inputs.__provider, "string");
            assert.equal(boot.inputs.resourceUrn, BOOT_URN);
            const [img] = ofType(IMAGE);
            assert.ok(boot.dependencies.includes(img.inputs.resourceUrn as string), "the test waits for the image");
        });

        it("every copy and the versions file depend on the passed boot test", () => {
            for (const r of [...ofType(COPY), ...ofType(FILE)])
                assert.ok(r.dependencies.includes(BOOT_URN), `${r.name} does not depend on the boot test: ${r.dependencies.join(", ")}`);
        });

        it("the versions file records the boot test: passed, when, the checks; the stack output too", async () => {
            const [file] = ofType(FILE);
            const doc = JSON.parse(String(file.inputs.text)) as VersionsDoc;
            assert.deepEqual(doc.bootTest, {
                enabled: true,
                passed: true,
                at: "2026-11-25T12:10:00Z",
                checks: [
                    { name: "system-running", status: "passed", saw: "running" },
                    { name: "thp", status: "skipped", saw: "read-only here" },
                ],
            });
            assert.deepEqual(await promiseOf(p.bootTestResult), doc.bootTest);
        });

        it("the aws provider is pinned to the build region, with no endpoint override", () => {
            const [prov] = ofType("pulumi:providers:aws");
            assert.equal(prov.inputs.region, "us-east-1");
            assert.equal(prov.inputs.endpoints, undefined);
        });

        it("outputs: amiIds per region, image name, fingerprint, agent sha256, versions path", async () => {
            assert.deepEqual(await promiseOf(p.amiIds), {
                "us-east-1": FAKE_IMAGE_ID,
                "eu-west-1": copyIdFor("eu-west-1"),
                "us-west-2": copyIdFor("us-west-2"),
            });
            assert.equal(await promiseOf(p.imageName), FAKE_IMAGE_NAME);
            assert.equal(await promiseOf(p.fingerprint), FAKE_FINGERPRINT);
            assert.equal(await promiseOf(p.agentSha256), FAKE_SHA);
            assert.equal(await promiseOf(p.versionsFile), "versions/dev-alice.json");
        });

        it("the versions file text is valid against versions/schema.json and names every region", () => {
            const [file] = ofType(FILE);
            assert.equal(file.inputs.path, "versions/dev-alice.json");
            assert.equal(file.inputs.keep, false, "dev stacks remove their file on destroy");
            const doc = JSON.parse(String(file.inputs.text)) as VersionsDoc;
            const validate = versionsSchemaValidator();
            assert.ok(validate(doc), JSON.stringify(validate.errors));
            assert.equal(doc.schemaVersion, 2);
            assert.deepEqual(Object.keys(doc.architectures), ["amd64"]);
            assert.deepEqual(Object.keys(doc.architectures.amd64?.images ?? {}), ["eu-west-1", "us-east-1", "us-west-2"]);
            assert.deepEqual(doc.architectures.amd64?.images["eu-west-1"], { imageId: copyIdFor("eu-west-1"), sourceRegion: "us-east-1" });
            assert.deepEqual(doc.images, doc.architectures.amd64?.images, "the v1 fields repeat the amd64 image");
            assert.deepEqual(doc.agent, { version: "0.2.0", sha256: FAKE_SHA });
            assert.equal(doc.packerVersion, "1.16.0");
        });
    });

    describe("prebuilt agent, no copy regions (the local stack's shape)", () => {
        before(async () => {
            await installMocks("local");
            resetRecorder();
            await build(
                "couchbase",
                args({ stack: "local", environment: "local", agent: PREBUILT, ec2Endpoint: "http://127.0.0.1:5000", emulator: true }),
            );
        });

        it("registers no command and no aws resource at all, and calls nothing", () => {
            assert.deepEqual(recorded.map((r) => r.type).sort(), [IMAGE, BOOT, FILE, "couchbase-images:index:ImagePipeline"].sort());
            assert.equal(recorded.filter((r) => r.type.startsWith("aws:") || r.type === "pulumi:providers:aws").length, 0);
            assert.deepEqual(calls, []);
        });

        it("passes the prebuilt artifact and its verified sha256 to the image", () => {
            const [img] = ofType(IMAGE);
            assert.equal(img.inputs.agentArtifact, ".build/agent/dp-agent.gz");
            assert.equal(img.inputs.agentSha256, FAKE_SHA);
            assert.equal(img.inputs.ec2Endpoint, "http://127.0.0.1:5000");
            assert.equal(img.inputs.emulator, true);
            assert.deepEqual(img.inputs.copyRegions, []);
        });
    });

    describe("bootTest: false", () => {
        let p: ImagePipeline;
        before(async () => {
            await installMocks("dev-alice");
            resetRecorder();
            p = await build("couchbase", args({ bootTest: false, copyRegions: ["eu-west-1"], agent: PREBUILT }));
        });

        it("registers no boot test; the copies and the versions file wait for the image only", () => {
            assert.equal(ofType(BOOT).length, 0);
            for (const r of [...ofType(COPY), ...ofType(FILE)]) assert.ok(!r.dependencies.some((d) => d.includes("BootTest")), r.name);
        });

        it("the versions file and the output say the test is off", async () => {
            const doc = JSON.parse(String(ofType(FILE)[0].inputs.text)) as VersionsDoc;
            assert.deepEqual(doc.bootTest, { enabled: false });
            assert.ok(versionsSchemaValidator()(doc));
            assert.deepEqual(await promiseOf(p.bootTestResult), { enabled: false });
        });
    });

    describe("production stack", () => {
        before(async () => {
            await installMocks("prod");
            resetRecorder();
            await build(
                "couchbase",
                args({ stack: "prod", environment: "prod", release: "v0.1.17", agent: PREBUILT, kmsKeyIds: { "us-east-1": "alias/prod" } }),
            );
        });

        it("keeps its versions file on destroy and passes the release and build-region key", () => {
            const [file] = ofType(FILE);
            assert.equal(file.inputs.keep, true);
            assert.equal(JSON.parse(String(file.inputs.text)).release, "v0.1.17");
            const [img] = ofType(IMAGE);
            assert.equal(img.inputs.release, "v0.1.17");
            assert.equal(img.inputs.kmsKeyId, "alias/prod");
        });
    });

    describe("emulator endpoint with copy regions", () => {
        before(async () => {
            await installMocks("local-bob");
            resetRecorder();
            await build(
                "couchbase",
                args({
                    stack: "local-bob",
                    environment: "local",
                    agent: PREBUILT,
                    copyRegions: ["eu-west-1"],
                    ec2Endpoint: "http://127.0.0.1:5000",
                    emulator: true,
                }),
            );
        });

        it("points the copies' aws provider at the emulator", () => {
            const [prov] = ofType("pulumi:providers:aws");
            assert.deepEqual(prov.inputs.endpoints, JSON.stringify([{ ec2: "http://127.0.0.1:5000" }]));
            assert.equal(prov.inputs.skipCredentialsValidation, "true");
            assert.equal(ofType(COPY).length, 1);
            assert.equal(ofType(SNAPTAGS)[0].inputs.ec2Endpoint, "http://127.0.0.1:5000", "the snapshot tagger reaches the emulator too");
        });
    });

    describe("URNs of a one-architecture (amd64) stack are those it had before architectures existed", () => {
        before(async () => {
            await installMocks("dev-alice");
            resetRecorder();
            await build("couchbase", args({ copyRegions: ["eu-west-1"] }));
        });
        it("component, agent, image, boot test, aws provider, copy, versions file: the same URNs, so nothing is replaced", () => {
            const parent = "couchbase-images:index:ImagePipeline";
            const urns = recorded.map((r) =>
                r.type === parent
                    ? `urn:pulumi:dev-alice::couchbase-images::${r.type}::${r.name}`
                    : `urn:pulumi:dev-alice::couchbase-images::${parent}$${r.type}::${r.name}`,
            );
            assert.deepEqual(urns.sort(), [
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$aws:ec2/amiCopy:AmiCopy::couchbase-copy-eu-west-1",
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$command:local:Command::couchbase-agent",
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/copy:SnapshotTags::couchbase-copy-eu-west-1-snapshot-tags",
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/packer:BootTest::couchbase-boot-test",
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/packer:Image::couchbase-image",
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/versions:File::couchbase-versions",
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi:providers:aws::couchbase-aws",
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline::couchbase",
            ]);
            const [img] = ofType(IMAGE);
            assert.equal(
                img.inputs.resourceUrn,
                "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/packer:Image::couchbase-image",
            );
            assert.equal(img.inputs.namePrefix, "couchbase-server", "the image name keeps its prefix: no rebuild");
            assert.equal(img.inputs.architecture, "amd64");
        });
    });

    describe("two architectures, two copy regions: everything per architecture, in parallel", () => {
        const BUILD_ARM: AgentInput = {
            kind: "build",
            arch: "arm64",
            triggers: ["sources=x", "ldflags=-X main.Provider=aws", "platform=linux/arm64", "go=go1.26.8"],
        };
        const parent = "couchbase-images:index:ImagePipeline";
        const urnOf = (r: { type: string; name: string }) => `urn:pulumi:dev-alice::couchbase-images::${parent}$${r.type}::${r.name}`;
        const archOf = (name: string) => (name.startsWith("couchbase-arm64-") ? "arm64" : "amd64");
        let p: ImagePipeline;
        before(async () => {
            await installMocks("dev-alice");
            resetRecorder();
            p = await build(
                "couchbase",
                args({
                    copyRegions: ["eu-west-1", "us-west-2"],
                    architectures: [
                        {
                            arch: "amd64",
                            agent: BUILD,
                            instanceType: "t3.large",
                            baseImageNameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
                        },
                        {
                            arch: "arm64",
                            agent: BUILD_ARM,
                            instanceType: "t4g.large",
                            baseImageNameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*",
                        },
                    ],
                }),
            );
        });

        it("registers amd64's resources under their names of before, arm64's with arm64 in the name; one aws provider, one versions file", () => {
            assert.deepEqual(
                recorded.map((r) => `${r.type}::${r.name}`).sort(),
                [
                    `${BOOT}::couchbase-boot-test`,
                    `${BOOT}::couchbase-arm64-boot-test`,
                    `${COPY}::couchbase-copy-eu-west-1`,
                    `${COPY}::couchbase-copy-us-west-2`,
                    `${COPY}::couchbase-arm64-copy-eu-west-1`,
                    `${COPY}::couchbase-arm64-copy-us-west-2`,
                    `${SNAPTAGS}::couchbase-copy-eu-west-1-snapshot-tags`,
                    `${SNAPTAGS}::couchbase-copy-us-west-2-snapshot-tags`,
                    `${SNAPTAGS}::couchbase-arm64-copy-eu-west-1-snapshot-tags`,
                    `${SNAPTAGS}::couchbase-arm64-copy-us-west-2-snapshot-tags`,
                    `${COMMAND}::couchbase-agent`,
                    `${COMMAND}::couchbase-arm64-agent`,
                    "couchbase-images:index:ImagePipeline::couchbase",
                    `${FILE}::couchbase-versions`,
                    `${IMAGE}::couchbase-image`,
                    `${IMAGE}::couchbase-arm64-image`,
                    "pulumi:providers:aws::couchbase-aws",
                ].sort(),
            );
            assert.deepEqual(calls, []);
        });

        it("each agent is built for its architecture (GOARCH via --arch) into its own folder, with its own triggers", () => {
            const byName = Object.fromEntries(ofType(COMMAND).map((c) => [c.name, c.inputs]));
            assert.deepEqual(byName["couchbase-agent"].environment, { DP_AGENT_OUT: ".build/agent", DP_AGENT_ARCH: "amd64" });
            assert.deepEqual(byName["couchbase-arm64-agent"].environment, { DP_AGENT_OUT: ".build/agent-arm64", DP_AGENT_ARCH: "arm64" });
            assert.deepEqual(byName["couchbase-arm64-agent"].triggers, BUILD_ARM.kind === "build" ? BUILD_ARM.triggers : []);
            assert.equal(byName["couchbase-arm64-agent"].create, byName["couchbase-agent"].create, "the same constant script");
        });

        it("each image: its architecture, instance type, base image filter, agent, name prefix and Architecture tag", () => {
            const byName = Object.fromEntries(ofType(IMAGE).map((c) => [c.name, c.inputs]));
            const amd = byName["couchbase-image"];
            const arm = byName["couchbase-arm64-image"];
            assert.equal(amd.architecture, "amd64");
            assert.equal(arm.architecture, "arm64");
            assert.equal(amd.instanceType, "t3.large");
            assert.equal(arm.instanceType, "t4g.large");
            assert.deepEqual(amd.baseImage, {
                nameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
                owners: ["136693071363"],
            });
            assert.deepEqual(arm.baseImage, {
                nameFilter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*",
                owners: ["136693071363"],
            });
            assert.equal(amd.agentArtifact, ".build/agent/dp-agent.gz");
            assert.equal(arm.agentArtifact, ".build/agent-arm64/dp-agent.gz");
            assert.equal(amd.agentSha256, FAKE_SHA);
            assert.equal(arm.agentSha256, FAKE_ARM64_SHA);
            assert.equal(amd.namePrefix, "couchbase-server-amd64", "both names carry their architecture");
            assert.equal(arm.namePrefix, "couchbase-server-arm64");
            assert.deepEqual(amd.extraTags, { CostCenter: "42", Architecture: "amd64" });
            assert.deepEqual(arm.extraTags, { CostCenter: "42", Architecture: "arm64" });
            assert.equal(arm.resourceUrn, urnOf({ type: IMAGE, name: "couchbase-arm64-image" }));
        });

        it("each boot test launches its own image on its architecture's instance type, tagged with it", () => {
            const byName = Object.fromEntries(ofType(BOOT).map((c) => [c.name, c]));
            assert.equal(byName["couchbase-boot-test"].inputs.imageId, FAKE_IMAGE_ID);
            assert.equal(byName["couchbase-arm64-boot-test"].inputs.imageId, FAKE_ARM64_IMAGE_ID);
            assert.equal(byName["couchbase-arm64-boot-test"].inputs.imageName, FAKE_ARM64_IMAGE_NAME);
            assert.equal(byName["couchbase-boot-test"].inputs.instanceType, "t3.large");
            assert.equal(byName["couchbase-arm64-boot-test"].inputs.instanceType, "t4g.large");
            assert.deepEqual(byName["couchbase-arm64-boot-test"].inputs.extraTags, { CostCenter: "42", Architecture: "arm64" });
            assert.ok(byName["couchbase-arm64-boot-test"].dependencies.includes(urnOf({ type: IMAGE, name: "couchbase-arm64-image" })));
        });

        it("copies per architecture and region: each from its own image, tagged with its architecture, after its own boot test", () => {
            const copies = ofType(COPY);
            for (const c of copies) {
                const arch = archOf(c.name);
                const region = c.name.replace(/^couchbase-(arm64-)?copy-/, "");
                assert.equal(c.inputs.region, region);
                assert.equal(c.inputs.sourceAmiId, arch === "arm64" ? FAKE_ARM64_IMAGE_ID : FAKE_IMAGE_ID, c.name);
                assert.equal(c.inputs.name, arch === "arm64" ? FAKE_ARM64_IMAGE_NAME : FAKE_IMAGE_NAME);
                assert.equal((c.inputs.tags as Record<string, string>).Architecture, arch);
                assert.equal(c.inputs.encrypted, true);
                assert.ok(
                    c.dependencies.includes(
                        urnOf({ type: BOOT, name: arch === "arm64" ? "couchbase-arm64-boot-test" : "couchbase-boot-test" }),
                    ),
                    `${c.name} waits for its boot test`,
                );
            }
            assert.equal(copies.length, 4);
            for (const t of ofType(SNAPTAGS)) {
                const arch = archOf(t.name);
                const region = t.name.replace(/^couchbase-(arm64-)?copy-/, "").replace(/-snapshot-tags$/, "");
                assert.equal(t.inputs.imageId, copyIdFor(region, arch === "arm64" ? FAKE_ARM64_IMAGE_ID : FAKE_IMAGE_ID), t.name);
                assert.equal((t.inputs.tags as Record<string, string>).Architecture, arch);
            }
            assert.equal(ofType(SNAPTAGS).length, 4);
        });

        it("no resource of one architecture depends on one of the other (they build, test and copy in parallel)", () => {
            const perArch = recorded.filter((r) => r.type !== parent && r.type !== FILE && r.type !== "pulumi:providers:aws");
            const urnsOf = (arch: string) => new Set(perArch.filter((r) => archOf(r.name) === arch).map(urnOf));
            for (const r of perArch) {
                const other = urnsOf(archOf(r.name) === "arm64" ? "amd64" : "arm64");
                const crossing = r.dependencies.filter((d) => other.has(d));
                assert.deepEqual(crossing, [], `${r.name} depends on the other architecture`);
            }
            // ... while the versions file waits for both.
            const [file] = ofType(FILE);
            for (const r of perArch.filter((x) => x.type !== COMMAND))
                assert.ok(file.dependencies.includes(urnOf(r)), `versions file waits for ${r.name}`);
        });

        it("the versions file (schemaVersion 2) and the outputs give arch → region → image id", async () => {
            const [file] = ofType(FILE);
            const doc = JSON.parse(String(file.inputs.text)) as VersionsDoc;
            const validate = versionsSchemaValidator();
            assert.ok(validate(doc), JSON.stringify(validate.errors));
            assert.equal(doc.schemaVersion, 2);
            const ids = (arch: "amd64" | "arm64") =>
                Object.fromEntries(Object.entries(doc.architectures[arch]?.images ?? {}).map(([r, v]) => [r, v.imageId]));
            const want = {
                amd64: { "eu-west-1": copyIdFor("eu-west-1"), "us-east-1": FAKE_IMAGE_ID, "us-west-2": copyIdFor("us-west-2") },
                arm64: {
                    "eu-west-1": copyIdFor("eu-west-1", FAKE_ARM64_IMAGE_ID),
                    "us-east-1": FAKE_ARM64_IMAGE_ID,
                    "us-west-2": copyIdFor("us-west-2", FAKE_ARM64_IMAGE_ID),
                },
            };
            assert.deepEqual({ amd64: ids("amd64"), arm64: ids("arm64") }, want);
            assert.equal(doc.architectures.arm64?.fingerprint, FAKE_ARM64_FINGERPRINT);
            assert.deepEqual(doc.architectures.arm64?.agent, { version: "0.2.0", sha256: FAKE_ARM64_SHA });
            assert.equal(doc.architectures.arm64?.bootTest.enabled, true);
            assert.equal(doc.imageName, FAKE_IMAGE_NAME, "the v1 fields are amd64's");
            assert.deepEqual(await promiseOf(p.amiIdsByArch), want);
            assert.deepEqual(await promiseOf(p.amiIds), want.amd64);
            assert.equal(await promiseOf(p.architectures.arm64!.image.imageName), FAKE_ARM64_IMAGE_NAME);
        });
    });

    describe("arm64 alone", () => {
        before(async () => {
            await installMocks("dev-alice");
            resetRecorder();
            const BUILD_ARM: AgentInput = { kind: "build", arch: "arm64", triggers: ["platform=linux/arm64"] };
            await build(
                "couchbase",
                args({ architectures: [{ arch: "arm64", agent: BUILD_ARM, instanceType: "m7g.large", baseImageNameFilter: "x-arm64-*" }] }),
            );
        });
        it("only arm64's resources, its name carries arm64, and the versions file has no amd64 image", () => {
            assert.deepEqual(recorded.map((r) => r.name).sort(), [
                "couchbase",
                "couchbase-arm64-agent",
                "couchbase-arm64-boot-test",
                "couchbase-arm64-image",
                "couchbase-versions",
            ]);
            const [img] = ofType(IMAGE);
            assert.equal(img.inputs.namePrefix, "couchbase-server-arm64");
            assert.equal(img.inputs.instanceType, "m7g.large");
            const doc = JSON.parse(String(ofType(FILE)[0].inputs.text)) as VersionsDoc;
            assert.deepEqual(Object.keys(doc.architectures), ["arm64"]);
            assert.equal(doc.images, undefined);
        });
    });

    it("refuses an empty or duplicated architecture list", () => {
        assert.throws(() => new ImagePipeline("dup", args({ architectures: [] })), /at least one/);
        assert.throws(
            () =>
                new ImagePipeline(
                    "dup2",
                    args({
                        architectures: [
                            { arch: "amd64", agent: BUILD, instanceType: "t3.large", baseImageNameFilter: "x" },
                            { arch: "amd64", agent: BUILD, instanceType: "t3.large", baseImageNameFilter: "x" },
                        ],
                    }),
                ),
            /at most once/,
        );
    });
});
