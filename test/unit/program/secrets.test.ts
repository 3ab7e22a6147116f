/**
 * Config set as secret (`pulumi config set --secret`) stays secret: readConfig learns which keys the
 * engine marked secret and collects their literal values; the program hands them, as secrets, to
 * the image and boot test (which mask them in their logs). Mocks, installed in `before`.
 */
import * as assert from "node:assert/strict";
import { createHash } from "node:crypto";

import * as pulumi from "@pulumi/pulumi";

import { program, readConfig, secretLiterals } from "../../../pipeline/program";
import { ofType, resetRecorder, settle, useProgramMocks } from "./mocks";

const DIR = ".build/test-program-secrets";
const ARTIFACT = `${DIR}/dp-agent.gz`;
const CONTENT = "agent bytes for the secrets test";
const SHA = createHash("sha256").update(CONTENT).digest("hex");
const SECRET = "team-s3cr3t-7f3a";

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
    "couchbase-images:extraTags": JSON.stringify({ Team: SECRET, CostCenter: "cc-1234" }),
    "couchbase-images:owner": "alice-owner",
    "aws:region": "us-east-1",
};

// The SDK's wire form of a secret value (@pulumi/pulumi runtime/rpc: specialSigKey, specialSecretSig).
const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const secretEnvelope = (value: unknown) => ({ [SECRET_SIG_KEY]: SECRET_SIG, value });

describe("secretLiterals", () => {
    const table: [string, string, string[]][] = [
        ["a plain string", "hunter2-long", ["hunter2-long"]],
        ["an object: itself and every value", '{"Team":"abc","N":{"x":"y"}}', ['{"Team":"abc","N":{"x":"y"}}', "abc", "y"]],
        ["an array", '["a1","b2"]', ['["a1","b2"]', "a1", "b2"]],
        ["a number as text", "123456", ["123456"]],
        ["empty", "", []],
    ];
    for (const [what, value, want] of table) it(what, () => assert.deepEqual(secretLiterals(value).sort(), [...want].sort()));
});

describe("readConfig and secret config (mocks)", function () {
    this.timeout(120_000);

    useProgramMocks({ stack: "local", dir: DIR, artifact: ARTIFACT, content: CONTENT, sha256: SHA });

    it("no secret keys: no secret values", () => {
        pulumi.runtime.setAllConfig(LOCAL, []);
        assert.deepEqual(readConfig().secretValues, []);
    });

    it("extraTags set as secret: every value under it (and not a plain key's value)", () => {
        pulumi.runtime.setAllConfig(LOCAL, ["couchbase-images:extraTags"]);
        const c = readConfig();
        assert.deepEqual(c.secretValues, [LOCAL["couchbase-images:extraTags"], "cc-1234", SECRET].sort());
        assert.equal(c.extraTags.Team, SECRET, "the program still gets the value itself");
        assert.ok(!c.secretValues.includes("alice-owner"));
    });

    it("a secret key of another namespace is not ours", () => {
        pulumi.runtime.setAllConfig({ ...LOCAL, "other:token": "other-secret-value" }, ["other:token"]);
        assert.deepEqual(readConfig().secretValues, []);
    });

    it("the image and the boot test get the secret values; without secrets they get none", async () => {
        pulumi.runtime.setAllConfig(LOCAL, ["couchbase-images:owner"]);
        await settle(...Object.values((await program()) as Record<string, pulumi.Output<unknown>>));
        const [img] = ofType("pulumi-nodejs:dynamic/packer:Image");
        const [boot] = ofType("pulumi-nodejs:dynamic/packer:BootTest");
        // The engine gets them as secrets (the SDK's secret envelope), and the tags too.
        for (const r of [img, boot]) {
            assert.deepEqual(r.inputs.secretValues, secretEnvelope(["alice-owner"]), `${r.type}: secretValues`);
            assert.equal((r.inputs.extraTags as Record<string, unknown>)[SECRET_SIG_KEY], SECRET_SIG, `${r.type}: extraTags is a secret`);
        }

        resetRecorder();
        pulumi.runtime.setAllConfig(LOCAL, []);
        await settle(...Object.values((await program()) as Record<string, pulumi.Output<unknown>>));
        assert.equal(ofType("pulumi-nodejs:dynamic/packer:Image")[0].inputs.secretValues, undefined);
        assert.equal(ofType("pulumi-nodejs:dynamic/packer:BootTest")[0].inputs.secretValues, undefined);
    });
});
