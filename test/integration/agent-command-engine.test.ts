/**
 * The agent command feeding the image resource, through the real Pulumi engine against moto (the
 * fake packer makes the image): what a user with a standard install meets with the command
 * resource, whose plugin these machines lack, so a stand-in with its semantics takes its place
 * (test/fixtures/commandStandIn.ts) and runs the real agent/build.sh with the component's script.
 *   1. A fresh clone previews cleanly: the command's outputs are unknown, nothing is built.
 *   2. up builds the agent, then the image; a second up changes nothing.
 *   3. A second machine (the artifact folder gone, state from the first): preview is clean and
 *      builds nothing; up rebuilds the agent (its checkout trigger changed) and, the build being
 *      reproducible, keeps the same image.
 *   4. destroy leaves no image or snapshot.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runStack, PROJECT_ROOT } from "../../scripts/stack";
import { startMoto, type MotoServer } from "../../scripts/local/moto";
import { ec2Client } from "../../providers/ec2/client";
import { inventory } from "../../providers/ec2/inventory";
import { PackerImage } from "../../providers/packer";
import { AGENT_BUILD_SCRIPT, agentBuildEnvironment } from "../../pipeline/component";
import { lastSha256Line } from "../../pipeline/agentSources";
import { agentBuildTriggers } from "../../pipeline/program";
import { CommandStandIn } from "../fixtures/commandStandIn";
import { engineImageArgs, engineTeardown, fakePackerWork } from "../fixtures/engineImage";
import { setEnv } from "../fixtures/env";

const WORK = ".build/test-agent-command";
const OUT = `${WORK}/agent`;

describe("agent command → image through the real engine (fresh clone, second machine)", function () {
    this.timeout(600_000);
    const stack = `local-agentcmd-${process.pid}`;
    let moto: MotoServer;
    let envVars: Record<string, string> = {};
    let restoreEnv = () => {};
    let output = "";
    const onOutput = (s: string) => {
        output += s;
    };

    // The program as the component wires it: the program's triggers (sources, settings, this
    // checkout's id), the artifact path a plain string, the sha256 from the command's stdout.
    const program = () => async () => {
        const triggers = agentBuildTriggers("amd64", OUT);
        const build = new CommandStandIn("agent", {
            create: AGENT_BUILD_SCRIPT,
            environment: { ...agentBuildEnvironment("amd64"), DP_AGENT_OUT: OUT },
            triggers,
        });
        const img = new PackerImage(
            "image",
            engineImageArgs({
                stack,
                endpoint: moto.endpoint,
                agentArtifact: `${OUT}/dp-agent.gz`,
                agentSha256: build.stdout.apply(lastSha256Line),
            }),
            { dependsOn: [build] },
        );
        return { imageId: img.imageId, agentSha256: img.agentSha256 };
    };
    const run = (op: "preview" | "up" | "destroy", extra = {}) =>
        runStack(op, { stack, seedConfig: false, envVars, onOutput, program: program(), ...extra });
    const ours = async () =>
        inventory(await ec2Client("us-east-1", moto.endpoint), { tags: { Project: "couchbase-images", Stack: stack } });
    const artifact = path.join(PROJECT_ROOT, OUT, "dp-agent.gz");

    before(async function () {
        if (!fs.existsSync(path.join(PROJECT_ROOT, "bin/pulumi"))) this.skip();
        moto = await startMoto();
        restoreEnv = setEnv(moto.env);
        envVars = fakePackerWork(PROJECT_ROOT, WORK, moto.env);
    });
    after(async () => {
        if (!moto) return;
        await engineTeardown({
            destroy: () => run("destroy", { remove: true }),
            stopMoto: () => moto.stop(),
            restoreEnv,
            root: PROJECT_ROOT,
            work: WORK,
            stack,
        });
    });

    let imageId = "";
    let agentSha256 = "";

    it("a fresh clone previews cleanly and builds nothing", async () => {
        output = "";
        const r = await run("preview");
        assert.equal(r.changes.create, 3, output); // stack, agent, image
        assert.equal(fs.existsSync(artifact), false, "preview must not build the agent");
        const left = await ours();
        assert.equal(left.images.length + left.instances.length, 0);
    });

    it("up builds the agent, then the image; a second up changes nothing", async () => {
        output = "";
        const r = await run("up");
        assert.equal(r.changes.create, 3, output);
        imageId = r.outputs.imageId as string;
        agentSha256 = r.outputs.agentSha256 as string;
        assert.match(imageId, /^ami-/);
        assert.ok(fs.existsSync(artifact));
        const again = await run("up", { expectNoChanges: true });
        assert.equal(again.changes.same, 3);
    });

    it("a second machine (no artifact folder): preview is clean and builds nothing; up rebuilds the agent and keeps the image", async () => {
        fs.rmSync(path.join(PROJECT_ROOT, OUT), { recursive: true, force: true });
        output = "";
        const p = await run("preview");
        assert.equal(p.changes.replace, 2, output); // the agent for sure; the image only "may", its sha256 unknown
        assert.equal(fs.existsSync(artifact), false, "preview must not build the agent");
        output = "";
        const r = await run("up");
        assert.equal(r.changes.replace, 1, output); // the agent
        assert.equal(r.changes.same, 2, output); // stack and image
        assert.equal(r.outputs.imageId, imageId, "same image: the rebuilt agent has the same bytes");
        assert.equal(r.outputs.agentSha256, agentSha256);
        assert.equal((await ours()).images.length, 1);
    });

    it("destroy leaves no image or snapshot of the stack", async () => {
        const r = await run("destroy");
        assert.equal(r.changes.delete, 3);
        const left = await ours();
        assert.equal(left.images.length + left.snapshots.length, 0);
    });
});
