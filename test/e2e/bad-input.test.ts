/**
 * Bad input is caught at preview, on the real engine through the stack driver, against moto: each
 * case fails naming the config key (or the image resource's property) and the fix, each error is
 * printed once, the driver's error (and its last line) is one line, and nothing at all appears in
 * the emulator (no instance, key pair, security group, image or snapshot).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runStack } from "../../scripts/stack";
import { EXTRA_REGIONS_ENV } from "../../providers/packer/awsRegions";
import { allIds, baseConfig, createdSinceStart, driver, ROOT, useWorld, World, writeStackConfig } from "./harness";

interface Case {
    name: string;
    over: Record<string, unknown>;
    /** What the error must say: the key it names and a word of the fix. */
    want: RegExp;
}

const CASES: Case[] = [
    { name: "bad region", over: { buildRegion: "moon-1" }, want: /couchbase-images:buildRegion[\s\S]*not an AWS region/ },
    {
        name: "copy region of the right form that AWS does not have",
        over: { copyRegions: ["us-east-9"] },
        want: /couchbase-images:copyRegions\[0\]: "us-east-9" is not an AWS region this project knows \([^)]*awsRegions\.ts\): did you mean us-east-1 or us-east-2\? fix the name, or if it is a region newer than the list add it to the environment variable COUCHBASE_IMAGES_EXTRA_REGIONS/,
    },
    {
        name: "build region AWS does not have",
        over: { buildRegion: "eu-wset-1" },
        want: /couchbase-images:buildRegion: "eu-wset-1" is not an AWS region this project knows/,
    },
    {
        name: "owner of 300 characters",
        over: { owner: "o".repeat(300) },
        want: /couchbase-images:owner: "o{40}…" is 300 characters long: it becomes the Owner tag, whose value takes at most 256/,
    },
    {
        name: "build region among the copy regions",
        over: { copyRegions: ["us-east-1"] },
        want: /couchbase-images:copyRegions\[0\][\s\S]*build region/,
    },
    {
        name: "duplicated copy region",
        over: { copyRegions: ["eu-west-1", "eu-west-1"] },
        want: /couchbase-images:copyRegions\[1\][\s\S]*twice/,
    },
    { name: "CIDR 0.0.0.0/0", over: { sshCidrs: ["0.0.0.0/0"] }, want: /couchbase-images:sshCidrs\[0\][\s\S]*whole internet/ },
    { name: "missing template", over: { templateDir: "images/gcp" }, want: /templateDir[\s\S]*not a folder/ },
    {
        name: "empty agent sha256",
        over: { agentSha256File: "EMPTY_SHA" },
        want: /couchbase-images:agentSha256File: "[^"]*empty.sha256" holds no sha256/,
    },
    {
        name: "malformed agent sha256",
        over: { agentSha256File: "BAD_SHA" },
        want: /couchbase-images:agentSha256File: "[^"]*bad.sha256" holds no sha256/,
    },
    {
        name: "agent sha256 not matching the artifact",
        over: { agentSha256File: "OTHER_SHA" },
        want: /couchbase-images:agentArtifact: [\s\S]*stale: rebuild both with agent\/build.sh/,
    },
    {
        name: "malformed Couchbase version",
        over: { couchbaseVersion: "seven" },
        want: /couchbase-images:couchbaseVersion[\s\S]*not a Couchbase Server version/,
    },
    { name: "bad name prefix", over: { namePrefix: "Bad_Prefix" }, want: /couchbase-images:namePrefix[\s\S]*name prefix/ },
    { name: "negative time to live", over: { ttlHours: -5 }, want: /couchbase-images:ttlHours[\s\S]*negative/ },
    {
        name: "repository mode without the Couchbase pins",
        over: { couchbasePackageSource: "repository" },
        want: /couchbase-images:couchbaseReleaseSha256[\s\S]*sha256sum[\s\S]*couchbase-images:couchbaseKeyFingerprints/,
    },
    {
        name: "download mode, a Couchbase version the table lacks and the stack does not pin",
        over: { couchbasePackageSource: "download", couchbaseVersion: "8.0.9" },
        want: /couchbase-images:couchbasePackageSha256\["8\.0\.9"\]\.amd64: Couchbase Server enterprise 8\.0\.9 for amd64 is not in the project's table[\s\S]*Couchbase publishes at https:\/\/packages\.couchbase\.com\/releases\/8\.0\.9\/couchbase-server-enterprise_8\.0\.9-linux_amd64\.deb\.sha256[\s\S]*pulumi config set --path 'couchbase-images:couchbasePackageSha256\["8\.0\.9"\]\.amd64' <sha256>/,
    },
];

/** No error diagnostic appears twice in the engine's Diagnostics block. */
function assertEachErrorOnce(out: string): void {
    const start = out.indexOf("\nDiagnostics:");
    const end = out.indexOf("\nResources:", start);
    const block = out.slice(start, end < 0 ? undefined : end);
    const errors = block
        .split(/^ {4}error: /m)
        .slice(1)
        .map((e) => e.trim());
    assert.ok(errors.length > 0, `no error in:\n${out}`);
    assert.equal(new Set(errors).size, errors.length, `an error printed twice:\n${block}`);
}

describe("e2e: bad input fails at preview and creates nothing", function () {
    this.timeout(600_000);
    // Nothing is ever up: no stack to destroy.
    const { world, itStopsCleanly } = useWorld("bad", { destroyStacks: false });
    let w: World;
    const stack = `local-e2e-bad-${process.pid}`;
    let shaFiles: Record<string, string> = {};

    before(() => {
        w = world();
        // sha256 files beside a copy of the real artifact: one empty, one malformed.
        const dir = path.join(w.buildDir, "bad-sha");
        fs.mkdirSync(path.join(ROOT, dir), { recursive: true });
        fs.copyFileSync(path.join(ROOT, w.agentArtifact), path.join(ROOT, dir, "dp-agent.gz"));
        fs.writeFileSync(path.join(ROOT, dir, "empty.sha256"), "");
        fs.writeFileSync(path.join(ROOT, dir, "bad.sha256"), "xyz  dp-agent.gz\n");
        fs.writeFileSync(path.join(ROOT, dir, "other.sha256"), `${"0".repeat(64)}  dp-agent.gz\n`);
        shaFiles = {
            EMPTY_SHA: path.join(dir, "empty.sha256"),
            BAD_SHA: path.join(dir, "bad.sha256"),
            OTHER_SHA: path.join(dir, "other.sha256"),
        };
    });

    it("a sound config previews cleanly (the cases below differ from it by one key)", async () => {
        writeStackConfig(w, stack, baseConfig(w));
        const r = await runStack("preview", { stack, seedConfig: false, envVars: w.env, onOutput: () => undefined });
        assert.ok((r.changes.create ?? 0) >= 2, JSON.stringify(r.changes));
    });

    for (const c of CASES) {
        it(`${c.name}: preview fails naming the key`, async () => {
            const over: Record<string, unknown> = { ...c.over };
            if (typeof over.agentSha256File === "string") {
                over.agentSha256File = shaFiles[over.agentSha256File];
                over.agentArtifact = path.join(path.dirname(over.agentSha256File as string), "dp-agent.gz");
            }
            writeStackConfig(w, stack, { ...baseConfig(w), ...over });
            let out = "";
            await assert.rejects(
                runStack("preview", { stack, seedConfig: false, envVars: w.env, onOutput: (s) => (out += s) }),
                (e: Error) => {
                    assert.match(out, c.want);
                    assert.doesNotMatch(e.message, /\n/, "the driver's error is one line");
                    assertEachErrorOnce(out);
                    return true;
                },
            );
        });
    }

    it("the driver prints each error once and ends with one line naming the keys", async () => {
        writeStackConfig(w, stack, { ...baseConfig(w), owner: "o".repeat(300), copyRegions: ["us-east-9"] });
        const r = await driver(w, "preview", stack).done;
        assert.equal(r.code, 1, r.output);
        assertEachErrorOnce(r.output);
        for (const key of ["couchbase-images:owner: ", "couchbase-images:copyRegions[0]: "])
            assert.equal(r.output.split(key).length - 1, 1, `${key} once in:\n${r.output}`);
        const last = r.output.trimEnd().split("\n").pop();
        assert.equal(
            last,
            `stack: preview of ${stack} failed: 2 configuration errors (above): couchbase-images:copyRegions[0], couchbase-images:owner`,
        );
    });

    it(`a region newer than the list previews when ${EXTRA_REGIONS_ENV} names it (the program's and the image check's rules)`, async () => {
        writeStackConfig(w, stack, { ...baseConfig(w), buildRegion: "us-east-9" });
        const saved = process.env[EXTRA_REGIONS_ENV];
        // The inline program reads this process's environment; the CLI and the provider host it starts inherit it.
        process.env[EXTRA_REGIONS_ENV] = "us-east-9";
        try {
            const r = await runStack("preview", { stack, seedConfig: false, envVars: w.env, onOutput: () => undefined });
            assert.ok((r.changes.create ?? 0) >= 2, JSON.stringify(r.changes));
        } finally {
            if (saved === undefined) delete process.env[EXTRA_REGIONS_ENV];
            else process.env[EXTRA_REGIONS_ENV] = saved;
        }
    });

    it("nothing was created in the emulator by any of these previews", async () => {
        assert.deepEqual(await createdSinceStart(w), []);
        assert.ok((await allIds(w)).size > 0, "the inventory must see moto's own objects (sanity)");
    });

    itStopsCleanly();
});
