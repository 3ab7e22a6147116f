/**
 * program() end to end under mocks: stack config (as the engine hands it over, all strings) →
 * validated config → component → outputs. Proof limit: no engine, no providers; the real engine
 * runs the same function through scripts/stack.ts in the integration tests.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";

import * as pulumi from "@pulumi/pulumi";

import { program } from "../../../pipeline/program";
import { FAKE_IMAGE_ID, FAKE_IMAGE_NAME, ofType, promiseOf, recorded, resetRecorder, settle, useProgramMocks } from "./mocks";

// Relative to the project root, the working directory of mocha and of both drivers.
const DIR = ".build/test-program";
const ARTIFACT = `${DIR}/dp-agent.gz`;
const CONTENT = "not really a gzip, but bytes with a sha256";
const SHA = createHash("sha256").update(CONTENT).digest("hex");

const LOCAL: Record<string, string> = {
    "couchbase-images:environment": "local",
    "couchbase-images:copyRegions": "[]",
    "couchbase-images:ec2Endpoint": "http://127.0.0.1:5000",
    "couchbase-images:emulator": "true",
    "couchbase-images:sshHost": "127.0.0.1",
    "couchbase-images:sshPort": "2222",
    "couchbase-images:sshUsername": "root",
    "couchbase-images:sshCidrs": '["127.0.0.1/32"]',
    "couchbase-images:agentArtifact": ARTIFACT,
    "couchbase-images:couchbasePackageSource": ".build/standin",
    "aws:region": "us-east-1",
};

type Outputs = Record<string, pulumi.Output<unknown>>;

async function run(config: Record<string, string>): Promise<Outputs> {
    pulumi.runtime.setAllConfig(config);
    const out = (await program()) as Outputs;
    await settle(...Object.values(out));
    return out;
}

describe("program() (mocks)", function () {
    this.timeout(120_000);

    useProgramMocks({ stack: "local", dir: DIR, artifact: ARTIFACT, content: CONTENT, sha256: SHA });

    it("the local stack's config: exactly image + boot test + versions file, the per-architecture outputs and the six named outputs of before", async () => {
        const out = await run(LOCAL);
        assert.deepEqual(Object.keys(out).sort(), [
            "agentSha256",
            "amiIds",
            "amiIdsByArch",
            "bootTest",
            "fingerprint",
            "imageName",
            "imagesByArch",
            "versionsFile",
        ]);
        assert.deepEqual(await promiseOf(out.amiIds), { "us-east-1": FAKE_IMAGE_ID });
        assert.deepEqual(await promiseOf(out.amiIdsByArch), { amd64: { "us-east-1": FAKE_IMAGE_ID } });
        const byArch = (await promiseOf(out.imagesByArch)) as Record<
            string,
            { imageName: string; agentSha256: string; bootTest: { enabled: boolean } }
        >;
        assert.deepEqual(Object.keys(byArch), ["amd64"]);
        assert.equal(byArch.amd64.imageName, FAKE_IMAGE_NAME);
        assert.equal(byArch.amd64.agentSha256, SHA);
        assert.equal(await promiseOf(out.agentSha256), SHA);
        assert.equal(await promiseOf(out.imageName), FAKE_IMAGE_NAME);
        assert.equal(await promiseOf(out.versionsFile), "versions/local.json");
        assert.deepEqual(recorded.map((r) => r.type).sort(), [
            "couchbase-images:index:ImagePipeline",
            "pulumi-nodejs:dynamic/packer:BootTest",
            "pulumi-nodejs:dynamic/packer:Image",
            "pulumi-nodejs:dynamic/versions:File",
        ]);
        // The local stack gets the boot test by default, through the sandbox's SSH like the build.
        assert.equal((await promiseOf<{ enabled: boolean }>(out.bootTest as never)).enabled, true);
        const [boot] = ofType("pulumi-nodejs:dynamic/packer:BootTest");
        assert.equal(boot.inputs.sshPort, 2222);
        assert.equal(boot.inputs.sshHost, "127.0.0.1");
        assert.equal(boot.inputs.sshUsername, "root");
        assert.equal(boot.inputs.emulator, true);
        const [img] = ofType("pulumi-nodejs:dynamic/packer:Image");
        assert.equal(img.inputs.sshPort, 2222);
        assert.equal(img.inputs.emulator, true);
        assert.equal(img.inputs.couchbasePackageSource, ".build/standin");
        // The stand-in needs no repository pins: the defaults pass through untouched.
        assert.equal(
            img.inputs.couchbaseReleaseUrl,
            "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb",
        );
        assert.equal(img.inputs.couchbaseReleaseSha256, "");
        assert.deepEqual(img.inputs.couchbaseKeyFingerprints, []);
        assert.equal(img.inputs.environment, "local");
        assert.equal(typeof img.inputs.owner, "string");
        assert.notEqual(img.inputs.owner, "", "owner defaults to the OS user");
    });

    it("without a prebuilt artifact: one command with the agent source triggers", async () => {
        const cfg = { ...LOCAL };
        delete cfg["couchbase-images:agentArtifact"];
        await run(cfg);
        const cmds = ofType("command:local:Command");
        assert.equal(cmds.length, 1);
        const triggers = cmds[0].inputs.triggers as string[];
        assert.equal(triggers.length, 5);
        assert.match(triggers[0], /^sources=[0-9a-f]{64}$/);
        assert.deepEqual(triggers.slice(1, 3), ["ldflags=-X main.Provider=aws", "platform=linux/amd64"]);
        assert.match(triggers[3], /^go=/);
        assert.match(triggers[4], /^checkout=[0-9a-f]{32}$/);
    });

    it("a stale sha256 file fails at preview time naming couchbase-images:agentArtifact", async () => {
        fs.writeFileSync(ARTIFACT, `${CONTENT} (rebuilt)`);
        await assert.rejects(run(LOCAL), (e: Error) => {
            assert.ok(e instanceof pulumi.RunError, String(e));
            assert.match(
                e.message,
                /^couchbase-images:agentArtifact: ".build\/test-program\/dp-agent.gz" has sha256 [0-9a-f]{64} but .* says [0-9a-f]{64}; /,
            );
            return true;
        });
        assert.deepEqual(recorded, [], "nothing registered");
    });

    it("repository mode: the pins reach the image normalized; without them preview fails naming both keys", async () => {
        const sha = "0123456789abcdef".repeat(4);
        const fpr = "0123456789ABCDEF0123456789ABCDEF01234567";
        const repo = { ...LOCAL, "couchbase-images:couchbasePackageSource": "repository" };
        await run({
            ...repo,
            "couchbase-images:couchbaseReleaseSha256": sha.toUpperCase(),
            "couchbase-images:couchbaseKeyFingerprints": JSON.stringify([fpr.replace(/(.{4})/g, "$1 ").trim()]),
        });
        const [img] = ofType("pulumi-nodejs:dynamic/packer:Image");
        assert.equal(img.inputs.couchbasePackageSource, "repository");
        assert.equal(img.inputs.couchbaseReleaseSha256, sha);
        assert.deepEqual(img.inputs.couchbaseKeyFingerprints, [fpr]);

        resetRecorder();
        await assert.rejects(run(repo), (e: Error) => {
            assert.ok(e instanceof pulumi.RunError, String(e));
            assert.match(
                e.message,
                /^Invalid stack configuration:\n {2}- couchbase-images:couchbaseReleaseSha256: is empty, but couchbasePackageSource is "repository".*\n {2}- couchbase-images:couchbaseKeyFingerprints: is empty, but couchbasePackageSource is "repository".*$/,
            );
            return true;
        });
        assert.deepEqual(recorded, [], "nothing registered");
    });

    it("bad config fails before any resource, naming every bad key", async () => {
        await assert.rejects(
            run({ ...LOCAL, "couchbase-images:copyRegions": '["us-east-1"]', "couchbase-images:sshCidrs": '["0.0.0.0/0"]' }),
            (e: Error) => {
                assert.ok(e instanceof pulumi.RunError, String(e));
                assert.match(
                    e.message,
                    /^Invalid stack configuration:\n {2}- couchbase-images:copyRegions\[0\]: "us-east-1" is the build region.*\n {2}- couchbase-images:sshCidrs\[0\]: "0\.0\.0\.0\/0" opens/,
                );
                return true;
            },
        );
        assert.deepEqual(recorded, []);
    });

    describe("architectures", () => {
        const ARM_ARTIFACT = `${DIR}/arm64/dp-agent.gz`;
        const ARM_CONTENT = "arm64 bytes";
        const ARM_SHA = createHash("sha256").update(ARM_CONTENT).digest("hex");
        beforeEach(() => {
            fs.mkdirSync(`${DIR}/arm64`, { recursive: true });
            fs.writeFileSync(ARM_ARTIFACT, ARM_CONTENT);
            fs.writeFileSync(`${ARM_ARTIFACT}.sha256`, `${ARM_SHA}  dp-agent.gz\n`);
        });

        it("both, prebuilt agents per architecture: one image and boot test each, on their own keys; outputs arch → region → id", async () => {
            const out = await run({
                ...LOCAL,
                "couchbase-images:architectures": '["amd64","arm64"]',
                "couchbase-images:arm64AgentArtifact": ARM_ARTIFACT,
                "couchbase-images:arm64BaseImageNameFilter": "debian-12-arm64-*",
            });
            const images = Object.fromEntries(ofType("pulumi-nodejs:dynamic/packer:Image").map((r) => [r.name, r.inputs]));
            assert.deepEqual(Object.keys(images).sort(), ["couchbase-arm64-image", "couchbase-image"]);
            assert.equal(images["couchbase-arm64-image"].architecture, "arm64");
            assert.equal(images["couchbase-arm64-image"].agentArtifact, ARM_ARTIFACT);
            assert.equal(images["couchbase-arm64-image"].agentSha256, ARM_SHA);
            assert.equal(images["couchbase-arm64-image"].instanceType, "t4g.large");
            assert.deepEqual(images["couchbase-arm64-image"].baseImage, { nameFilter: "debian-12-arm64-*", owners: ["099720109477"] });
            assert.equal(images["couchbase-image"].agentSha256, SHA);
            assert.equal(images["couchbase-image"].instanceType, "t3.large");
            assert.equal(ofType("pulumi-nodejs:dynamic/packer:BootTest").length, 2);
            assert.equal(ofType("command:local:Command").length, 0, "prebuilt: no command");
            const ids = (await promiseOf(out.amiIdsByArch)) as Record<string, Record<string, string>>;
            assert.deepEqual(Object.keys(ids).sort(), ["amd64", "arm64"]);
            assert.deepEqual(Object.keys(ids.arm64), ["us-east-1"]);
            const byArch = (await promiseOf(out.imagesByArch)) as Record<string, { agentSha256: string }>;
            assert.equal(byArch.arm64.agentSha256, ARM_SHA);
            assert.deepEqual(await promiseOf(out.amiIds), ids.amd64, "amiIds stays amd64's");
        });

        it("without prebuilt agents: one agent command per architecture, each with its platform's triggers and folder", async () => {
            const cfg: Record<string, string> = { ...LOCAL, "couchbase-images:architectures": '["amd64","arm64"]' };
            delete cfg["couchbase-images:agentArtifact"];
            await run(cfg);
            const cmds = Object.fromEntries(ofType("command:local:Command").map((r) => [r.name, r.inputs]));
            assert.deepEqual(Object.keys(cmds).sort(), ["couchbase-agent", "couchbase-arm64-agent"]);
            assert.equal((cmds["couchbase-arm64-agent"].triggers as string[])[2], "platform=linux/arm64");
            assert.equal((cmds["couchbase-agent"].triggers as string[])[2], "platform=linux/amd64");
            assert.deepEqual(cmds["couchbase-arm64-agent"].environment, { DP_AGENT_OUT: ".build/agent-arm64", DP_AGENT_ARCH: "arm64" });
        });

        it("arm64 alone: no amd64 outputs of before, only the per-architecture ones", async () => {
            const out = await run({
                ...LOCAL,
                "couchbase-images:architectures": '["arm64"]',
                "couchbase-images:agentArtifact": "",
                "couchbase-images:arm64AgentArtifact": ARM_ARTIFACT,
            });
            assert.deepEqual(Object.keys(out).sort(), ["amiIdsByArch", "imagesByArch", "versionsFile"]);
        });

        it("a stale arm64 sha256 file fails naming couchbase-images:arm64AgentArtifact", async () => {
            fs.writeFileSync(ARM_ARTIFACT, "changed");
            await assert.rejects(
                run({
                    ...LOCAL,
                    "couchbase-images:architectures": '["amd64","arm64"]',
                    "couchbase-images:arm64AgentArtifact": ARM_ARTIFACT,
                }),
                (e: Error) => e instanceof pulumi.RunError && e.message.startsWith("couchbase-images:arm64AgentArtifact: "),
            );
        });

        it("a duplicated architecture fails before any resource, naming the key", async () => {
            await assert.rejects(run({ ...LOCAL, "couchbase-images:architectures": '["arm64","arm64"]' }), (e: Error) => {
                assert.ok(e instanceof pulumi.RunError, String(e));
                assert.match(e.message, /couchbase-images:architectures\[1\]: "arm64" is listed twice/);
                return true;
            });
            assert.deepEqual(recorded, []);
        });
    });
});
