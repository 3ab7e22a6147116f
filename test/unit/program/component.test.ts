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

const BUILD: AgentInput = { kind: "build", arch: "amd64", triggers: ["sources=x", "ldflags=-X main.Provider=aws", "platform=linux/amd64", "go=go1.26.8"] };
// Test-only stand-ins for the repository pins: well-formed, obviously not Couchbase's real values.
const TEST_SHA256 = "0123456789abcdef".repeat(4);
const TEST_FPR = "0123456789ABCDEF0123456789ABCDEF01234567";
const RELEASE_URL = "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb";
const PREBUILT: AgentInput = { kind: "prebuilt", artifact: ".build/agent/dp-agent.gz", sha256: FAKE_SHA };

function args(over: Partial<ImagePipelineArgs> = {}): ImagePipelineArgs {
    return {
        project: "couchbase-images",
        stack: "dev-alice",
        buildRegion: "us-east-1",
        copyRegions: [],
        agent: BUILD,
        agentVersion: "0.2.0",
        instanceType: "t3.large",
        couchbaseEdition: "enterprise",
        couchbaseVersion: "7.6.3",
        couchbasePackageSource: "repository",
        couchbasePackageSha256: {},
        architecture: "amd64",
        couchbaseReleaseUrl: RELEASE_URL,
        couchbaseReleaseSha256: TEST_SHA256,
        couchbaseKeyFingerprints: [TEST_FPR],
        baseImageNameFilter: "debian-12-amd64-*",
        baseImageOwners: ["136693071363"],
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
        ...over,
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
const FILE = "pulumi-nodejs:dynamic/versions:File";
const BOOT = "pulumi-nodejs:dynamic/packer:BootTest";
const BOOT_URN = "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/packer:BootTest::couchbase-boot-test";

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

        it("registers exactly: component, command, image, boot test, aws provider, two copies, versions file", () => {
            assert.deepEqual(
                recorded.map((r) => `${r.type}::${r.name}`).sort(),
                [
                    `${BOOT}::couchbase-boot-test`,
                    `${COPY}::couchbase-copy-eu-west-1`,
                    `${COPY}::couchbase-copy-us-west-2`,
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
            assert.equal(img.inputs.resourceUrn, "urn:pulumi:dev-alice::couchbase-images::couchbase-images:index:ImagePipeline$pulumi-nodejs:dynamic/packer:Image::couchbase-image");
        });

        it("one encrypted AmiCopy per region, with its region, KMS key, source and tags", () => {
            const copies = ofType(COPY).sort((a, b) => a.name.localeCompare(b.name));
            assert.equal(copies.length, 2);
            const expectTags = {
                Project: "couchbase-images",
                Stack: "dev-alice",
                Name: FAKE_IMAGE_NAME,
                Fingerprint: FAKE_FINGERPRINT,
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
            assert.deepEqual(boot.inputs.extraTags, { CostCenter: "42" });
            assert.equal(boot.inputs.stack, "dev-alice");
            assert.equal(typeof boot.inputs.__provider, "string");
            assert.equal(boot.inputs.resourceUrn, BOOT_URN);
            const [img] = ofType(IMAGE);
            assert.ok(boot.dependencies.includes(img.inputs.resourceUrn as string), "the test waits for the image");
        });

        it("every copy and the versions file depend on the passed boot test", () => {
            for (const r of [...ofType(COPY), ...ofType(FILE)]) assert.ok(r.dependencies.includes(BOOT_URN), `${r.name} does not depend on the boot test: ${r.dependencies.join(", ")}`);
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
            assert.deepEqual(Object.keys(doc.images), ["eu-west-1", "us-east-1", "us-west-2"]);
            assert.deepEqual(doc.images["eu-west-1"], { imageId: copyIdFor("eu-west-1"), sourceRegion: "us-east-1" });
            assert.deepEqual(doc.agent, { version: "0.2.0", sha256: FAKE_SHA });
            assert.equal(doc.packerVersion, "1.16.0");
        });
    });

    describe("prebuilt agent, no copy regions (the local stack's shape)", () => {
        before(async () => {
            await installMocks("local");
            resetRecorder();
            await build("couchbase", args({ stack: "local", environment: "local", agent: PREBUILT, ec2Endpoint: "http://127.0.0.1:5000", emulator: true }));
        });

        it("registers no command and no aws resource at all, and calls nothing", () => {
            assert.deepEqual(
                recorded.map((r) => r.type).sort(),
                [IMAGE, BOOT, FILE, "couchbase-images:index:ImagePipeline"].sort(),
            );
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
            await build("couchbase", args({ stack: "prod", environment: "prod", release: "v0.1.17", agent: PREBUILT, kmsKeyIds: { "us-east-1": "alias/prod" } }));
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
            await build("couchbase", args({ stack: "local-bob", environment: "local", agent: PREBUILT, copyRegions: ["eu-west-1"], ec2Endpoint: "http://127.0.0.1:5000", emulator: true }));
        });

        it("points the copies' aws provider at the emulator", () => {
            const [prov] = ofType("pulumi:providers:aws");
            assert.deepEqual(prov.inputs.endpoints, JSON.stringify([{ ec2: "http://127.0.0.1:5000" }]));
            assert.equal(prov.inputs.skipCredentialsValidation, "true");
            assert.equal(ofType(COPY).length, 1);
        });
    });
});
