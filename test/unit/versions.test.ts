import * as assert from "node:assert/strict";
import * as fs from "node:fs";

import * as pulumi from "@pulumi/pulumi";

import { buildVersionsDoc, VersionsInput, versionsPath, versionsProblems, versionsText } from "../../pipeline/versions";
import { VersionsFileProvider } from "../../pipeline/versionsFile";
import { versionsSchemaValidator } from "../fixtures/versionsSchema";

const input: VersionsInput = {
    project: "couchbase-images",
    stack: "dev-alice",
    environment: "dev",
    imageName: "couchbase-server-dev-alice-0123456789ab",
    fingerprint: "0123456789ab".padEnd(64, "0"),
    buildRegion: "us-east-1",
    buildImageId: "ami-0123456789abcdef0",
    copies: { "us-west-2": "ami-0000000000000000b", "eu-west-1": "ami-0000000000000000a" },
    couchbaseEdition: "enterprise",
    couchbaseVersion: "7.6.3",
    agentVersion: "0.2.0",
    agentSha256: "a".repeat(64),
    packerVersion: "1.16.0",
    createdAt: "2026-11-25T12:00:00Z",
    bootTest: {
        enabled: true,
        passed: true,
        at: "2026-11-25T12:05:00Z",
        checks: [
            { name: "system-running", status: "passed", saw: "running" },
            { name: "thp", status: "skipped", saw: "read-only in a container" },
        ],
    },
};

const schemaValid = versionsSchemaValidator();

describe("versions document", () => {
    it("is built with regions sorted and every image pointing at its source region", () => {
        const d = buildVersionsDoc(input);
        assert.deepEqual(d.images, {
            "eu-west-1": { imageId: "ami-0000000000000000a", sourceRegion: "us-east-1" },
            "us-east-1": { imageId: "ami-0123456789abcdef0", sourceRegion: "us-east-1" },
            "us-west-2": { imageId: "ami-0000000000000000b", sourceRegion: "us-east-1" },
        });
        assert.equal(d.release, "");
        assert.deepEqual(versionsProblems(d), []);
        assert.ok(schemaValid(d), JSON.stringify(schemaValid.errors));
    });

    it("text is stable: same input, same bytes; trailing newline", () => {
        const a = versionsText(buildVersionsDoc(input));
        const b = versionsText(buildVersionsDoc({ ...input, copies: { "eu-west-1": "ami-0000000000000000a", "us-west-2": "ami-0000000000000000b" } }));
        assert.equal(a, b);
        assert.ok(a.endsWith("}\n"));
    });

    // Each broken document: our checker and the JSON schema must both reject it.
    const broken: [string, Partial<VersionsInput>, string][] = [
        ["bad image id", { buildImageId: "i-123" }, "images.us-east-1.imageId"],
        ["bad copy id", { copies: { "eu-west-1": "" } }, "images.eu-west-1.imageId"],
        ["bad fingerprint", { fingerprint: "abc" }, "fingerprint"],
        ["bad agent sha", { agentSha256: "" }, "agent.sha256"],
        ["bad environment", { environment: "qa" }, "environment"],
        ["bad couchbase version", { couchbaseVersion: "7.6" }, "couchbase.version"],
        ["empty packer version", { packerVersion: "" }, "packerVersion"],
        ["bad time", { createdAt: "yesterday" }, "createdAt"],
        ["time without a zone", { createdAt: "2026-11-25T12:00:00" }, "createdAt"],
        ["a boot test that did not pass", { bootTest: { ...(input.bootTest as { enabled: true; passed: true; at: string; checks: [] }), passed: false as true } }, "bootTest.passed"],
        ["a boot test with a failed check", { bootTest: { enabled: true, passed: true, at: "2026-11-25T12:05:00Z", checks: [{ name: "x", status: "failed" as "passed", saw: "" }] } }, "bootTest.checks[0].status"],
        ["a boot test without checks", { bootTest: { enabled: true, passed: true, at: "2026-11-25T12:05:00Z", checks: [] } }, "bootTest.checks"],
        ["a boot test without a time", { bootTest: { enabled: true, passed: true, at: "soon", checks: [{ name: "x", status: "passed", saw: "" }] } }, "bootTest.at"],
    ];
    for (const [name, over, where] of broken) {
        it(`rejects ${name} (checker and schema agree)`, () => {
            const d = buildVersionsDoc({ ...input, ...over });
            const problems = versionsProblems(d);
            assert.equal(problems.length, 1, JSON.stringify(problems));
            assert.ok(problems[0].startsWith(`${where}: `), problems[0]);
            assert.equal(schemaValid(d), false, "schema rejects it too");
        });
    }

    it("a stack without the boot test says so; a file from before the boot test (no entry) stays valid", () => {
        const off = buildVersionsDoc({ ...input, bootTest: { enabled: false } });
        assert.deepEqual(off.bootTest, { enabled: false });
        assert.deepEqual(versionsProblems(off), []);
        assert.ok(schemaValid(off), JSON.stringify(schemaValid.errors));
        const old: Record<string, unknown> = { ...buildVersionsDoc(input) };
        delete old.bootTest;
        assert.ok(schemaValid(old), JSON.stringify(schemaValid.errors));
        assert.equal(old.schemaVersion, 1, "an added optional entry keeps schemaVersion 1");
    });

    it("path is <dir>/<stack>.json", () => {
        assert.equal(versionsPath("versions", "dev-alice"), "versions/dev-alice.json");
        assert.equal(versionsPath("out/v/", "local"), "out/v/local.json");
    });
});

describe("VersionsFileProvider (methods called directly)", () => {
    const dir = ".build/test-versions";
    const file = `${dir}/dev-alice.json`;
    const p = new VersionsFileProvider();

    beforeEach(() => fs.rmSync(dir, { recursive: true, force: true }));
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("check rejects absolute and escaping paths", async () => {
        for (const bad of ["/tmp/x.json", "../x.json"]) {
            const r = await p.check({ path: "", text: "", keep: false }, { path: bad, text: "x", keep: false });
            assert.equal(r.failures?.[0]?.property, "path");
        }
        const ok = await p.check({ path: "", text: "", keep: false }, { path: file, text: "x", keep: false });
        assert.deepEqual(ok.failures, []);
    });

    it("create writes the file (creating folders) and keeps the relative path as id", async () => {
        const r = await p.create({ path: file, text: "one\n", keep: false });
        assert.equal(r.id, file);
        assert.equal(fs.readFileSync(file, "utf8"), "one\n");
    });

    it("diff: equal → changes false; text → update; path → replace", async () => {
        const olds = { path: file, text: "one\n", keep: false };
        assert.deepEqual(await p.diff(file, olds, { ...olds }), { changes: false, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await p.diff(file, olds, { ...olds, text: "two\n" }), { changes: true, replaces: [], deleteBeforeReplace: false });
        assert.deepEqual(await p.diff(file, olds, { ...olds, path: `${dir}/other.json` }), { changes: true, replaces: ["path"], deleteBeforeReplace: false });
    });

    it("an unchanged update does not rewrite the file", async () => {
        await p.create({ path: file, text: "one\n", keep: false });
        const before = fs.statSync(file).mtimeMs;
        await new Promise((r) => setTimeout(r, 20));
        await p.update(file, { path: file, text: "one\n", keep: false }, { path: file, text: "one\n", keep: false });
        assert.equal(fs.statSync(file).mtimeMs, before);
        await p.update(file, { path: file, text: "one\n", keep: false }, { path: file, text: "two\n", keep: false });
        assert.equal(fs.readFileSync(file, "utf8"), "two\n");
    });

    it("read reports a file deleted out of band as gone", async () => {
        await p.create({ path: file, text: "one\n", keep: false });
        assert.equal((await p.read(file, { path: file, text: "one\n", keep: false })).id, file);
        fs.rmSync(file);
        assert.equal((await p.read(file, { path: file, text: "one\n", keep: false })).id, "");
    });

    it("delete removes the file of a non-production stack, keeps a production one, tolerates absence", async () => {
        await p.create({ path: file, text: "one\n", keep: true });
        await p.delete(file, { path: file, text: "one\n", keep: true });
        assert.ok(fs.existsSync(file), "prod keeps its file");
        await p.delete(file, { path: file, text: "one\n", keep: false });
        assert.ok(!fs.existsSync(file));
        await p.delete(file, { path: file, text: "one\n", keep: false });
    });

    it("serializes without absolute paths or captured state", async () => {
        const sf = await pulumi.runtime.serializeFunction(() => new VersionsFileProvider(), { allowSecrets: true });
        assert.equal(sf.containsSecrets, false);
        assert.ok(!sf.text.includes(process.cwd()), "no absolute project path");
        assert.ok(!sf.text.includes("@aws-sdk"), "no SDK");
    });
});
