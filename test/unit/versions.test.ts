import * as assert from "node:assert/strict";
import * as fs from "node:fs";

import * as pulumi from "@pulumi/pulumi";

import { ArchVersionsInput, buildVersionsDoc, VersionsInput, versionsPath, versionsProblems, versionsText } from "../../pipeline/versions";
import { VersionsFileProvider } from "../../pipeline/versionsFile";
import { imageFor } from "../../pipeline/imageFor";
import { versionsSchemaValidator } from "../fixtures/versionsSchema";

/** One image's input, flat as the single-architecture document had it; {@link doc} builds the document. */
type Flat = Omit<VersionsInput, "architectures"> & ArchVersionsInput;

const input: Flat = {
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

/** The document of `flat`'s image as the only architecture `arch` (amd64 by default). */
function doc(flat: Flat, arch: "amd64" | "arm64" = "amd64") {
    const { project, stack, environment, release, buildRegion, couchbaseEdition, couchbaseVersion, ...image } = flat;
    return buildVersionsDoc({
        project,
        stack,
        environment,
        release,
        buildRegion,
        couchbaseEdition,
        couchbaseVersion,
        architectures: { [arch]: image },
    });
}

describe("versions document", () => {
    it("is built with regions sorted and every image pointing at its source region", () => {
        const d = doc(input);
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
        const a = versionsText(doc(input));
        const b = versionsText(doc({ ...input, copies: { "eu-west-1": "ami-0000000000000000a", "us-west-2": "ami-0000000000000000b" } }));
        assert.equal(a, b);
        assert.ok(a.endsWith("}\n"));
    });

    // Each broken document: our checker and the JSON schema must both reject it.
    const broken: [string, Partial<Flat>, string][] = [
        ["bad image id", { buildImageId: "i-123" }, "architectures.amd64.images.us-east-1.imageId"],
        ["bad copy id", { copies: { "eu-west-1": "" } }, "architectures.amd64.images.eu-west-1.imageId"],
        ["bad fingerprint", { fingerprint: "abc" }, "architectures.amd64.fingerprint"],
        ["bad agent sha", { agentSha256: "" }, "architectures.amd64.agent.sha256"],
        ["bad environment", { environment: "qa" }, "environment"],
        ["bad couchbase version", { couchbaseVersion: "7.6" }, "couchbase.version"],
        ["empty packer version", { packerVersion: "" }, "architectures.amd64.packerVersion"],
        ["bad time", { createdAt: "yesterday" }, "architectures.amd64.createdAt"],
        ["time without a zone", { createdAt: "2026-11-25T12:00:00" }, "architectures.amd64.createdAt"],
        [
            "a boot test that did not pass",
            { bootTest: { ...(input.bootTest as { enabled: true; passed: true; at: string; checks: [] }), passed: false as true } },
            "architectures.amd64.bootTest.passed",
        ],
        [
            "a boot test with a failed check",
            { bootTest: { enabled: true, passed: true, at: "2026-11-25T12:05:00Z", checks: [{ name: "x", status: "failed", saw: "" }] } },
            "architectures.amd64.bootTest.checks[0].status",
        ],
        [
            "a boot test without checks",
            { bootTest: { enabled: true, passed: true, at: "2026-11-25T12:05:00Z", checks: [] } },
            "architectures.amd64.bootTest.checks",
        ],
        [
            "a boot test without a time",
            { bootTest: { enabled: true, passed: true, at: "soon", checks: [{ name: "x", status: "passed", saw: "" }] } },
            "architectures.amd64.bootTest.at",
        ],
    ];
    for (const [name, over, where] of broken) {
        it(`rejects ${name} (checker and schema agree)`, () => {
            const d = doc({ ...input, ...over });
            const problems = versionsProblems(d);
            assert.equal(problems.length, 1, JSON.stringify(problems));
            assert.ok(problems[0].startsWith(`${where}: `), problems[0]);
            assert.equal(schemaValid(d), false, "schema rejects it too");
        });
    }

    it("a stack without the boot test says so; a file from before the boot test (no entry) stays valid", () => {
        const off = doc({ ...input, bootTest: { enabled: false } });
        assert.deepEqual(off.bootTest, { enabled: false });
        assert.deepEqual(versionsProblems(off), []);
        assert.ok(schemaValid(off), JSON.stringify(schemaValid.errors));
        // A version 1 file written before the boot test existed (the v1 fields, no bootTest).
        const old: Record<string, unknown> = { ...doc(input), schemaVersion: 1 };
        delete old.architectures;
        delete old.bootTest;
        assert.ok(schemaValid(old), JSON.stringify(schemaValid.errors));
    });

    describe("schemaVersion 2: one entry per architecture", () => {
        const arm: ArchVersionsInput = {
            imageName: "couchbase-server-arm64-dev-alice-abcdefabcdef",
            fingerprint: "abcdefabcdef".padEnd(64, "1"),
            buildImageId: "ami-0aaaaaaaaaaaaaaa1",
            copies: { "eu-west-1": "ami-0aaaaaaaaaaaaaaa2" },
            agentVersion: "0.2.0",
            agentSha256: "b".repeat(64),
            packerVersion: "1.16.0",
            createdAt: "2026-11-25T12:01:00Z",
            bootTest: { enabled: false },
        };
        const { project, stack, environment, buildRegion, couchbaseEdition, couchbaseVersion, ...amdImage } = input;
        const common = { project, stack, environment, buildRegion, couchbaseEdition, couchbaseVersion };

        it("both architectures: each with its own name, fingerprint, images per region, agent and boot test; the v1 fields repeat amd64's", () => {
            const d = buildVersionsDoc({ ...common, architectures: { arm64: arm, amd64: amdImage } });
            assert.equal(d.schemaVersion, 2);
            assert.deepEqual(Object.keys(d.architectures), ["amd64", "arm64"], "sorted");
            assert.deepEqual(d.architectures.arm64?.images, {
                "eu-west-1": { imageId: "ami-0aaaaaaaaaaaaaaa2", sourceRegion: "us-east-1" },
                "us-east-1": { imageId: "ami-0aaaaaaaaaaaaaaa1", sourceRegion: "us-east-1" },
            });
            assert.equal(d.architectures.arm64?.imageName, arm.imageName);
            assert.deepEqual(d.architectures.arm64?.agent, { version: "0.2.0", sha256: "b".repeat(64) });
            assert.deepEqual(d.architectures.arm64?.bootTest, { enabled: false });
            assert.deepEqual(d.images, d.architectures.amd64?.images);
            assert.equal(d.imageName, input.imageName);
            assert.equal(d.fingerprint, input.fingerprint);
            assert.deepEqual(versionsProblems(d), []);
            assert.ok(schemaValid(d), JSON.stringify(schemaValid.errors));
        });
        it("arm64 alone: no v1 fields (a v1 reader finds no amd64 image, as is true)", () => {
            const d = buildVersionsDoc({ ...common, architectures: { arm64: arm } });
            for (const f of ["imageName", "fingerprint", "images", "agent", "packerVersion", "createdAt", "bootTest"])
                assert.equal(f in d, false, f);
            assert.deepEqual(versionsProblems(d), []);
            assert.ok(schemaValid(d), JSON.stringify(schemaValid.errors));
        });
        it("refused: no architecture, an unknown one, v1 fields that differ from amd64's or without amd64 (checker and schema agree where the schema can say it)", () => {
            const none = buildVersionsDoc({ ...common, architectures: {} });
            assert.deepEqual(versionsProblems(none), ["architectures: must name at least one architecture"]);
            assert.equal(schemaValid(none), false);
            const odd = { ...buildVersionsDoc({ ...common, architectures: { arm64: arm } }) } as Record<string, unknown>;
            odd.architectures = { x86_64: (odd.architectures as Record<string, unknown>).arm64 };
            assert.deepEqual(versionsProblems(odd as never), ["architectures.x86_64: key is not amd64 or arm64"]);
            assert.equal(schemaValid(odd), false);
            const differs = { ...buildVersionsDoc({ ...common, architectures: { amd64: amdImage } }), imageName: "other-name" };
            assert.deepEqual(versionsProblems(differs), ["imageName: must repeat architectures.amd64's"]);
            const stray = { ...buildVersionsDoc({ ...common, architectures: { arm64: arm } }), imageName: arm.imageName };
            assert.deepEqual(versionsProblems(stray), ["imageName: is the amd64 image's, and the document has none: leave it out"]);
            assert.equal(schemaValid(stray), false, "the schema: v1 fields need architectures.amd64");
        });

        describe("imageFor(doc, region, arch): how a reader picks the image", () => {
            const v2 = buildVersionsDoc({ ...common, architectures: { arm64: arm, amd64: amdImage } });
            const v2arm = buildVersionsDoc({ ...common, architectures: { arm64: arm } });
            // A version 1 file as the program wrote it before architectures (the same fields, one image).
            const v1: Record<string, unknown> = { ...doc(input), schemaVersion: 1 };
            delete v1.architectures;
            const rows: [string, unknown, string, "amd64" | "arm64", string | undefined][] = [
                ["v2, amd64, build region", v2, "us-east-1", "amd64", "ami-0123456789abcdef0"],
                ["v2, amd64, copy region", v2, "eu-west-1", "amd64", "ami-0000000000000000a"],
                ["v2, arm64, build region", v2, "us-east-1", "arm64", "ami-0aaaaaaaaaaaaaaa1"],
                ["v2, arm64, copy region", v2, "eu-west-1", "arm64", "ami-0aaaaaaaaaaaaaaa2"],
                ["v2, arm64, a region it is not copied to", v2, "us-west-2", "arm64", undefined],
                ["v2 without amd64, amd64", v2arm, "us-east-1", "amd64", undefined],
                ["v2, a region named like a prototype property", v2, "constructor", "amd64", undefined],
                ["v1, amd64, build region", v1, "us-east-1", "amd64", "ami-0123456789abcdef0"],
                ["v1, amd64, copy region", v1, "us-west-2", "amd64", "ami-0000000000000000b"],
                ["v1, amd64, a region it is not copied to", v1, "ap-south-1", "amd64", undefined],
                ["v1, arm64 (a v1 file's image is amd64)", v1, "us-east-1", "arm64", undefined],
            ];
            for (const [name, d, region, arch, want] of rows)
                it(`${name} → ${String(want)}`, () => assert.equal(imageFor(d, region, arch), want));
            it("the v1 file used here is valid against the schema (old files stay valid)", () =>
                assert.ok(schemaValid(v1), JSON.stringify(schemaValid.errors)));
            it("an unknown schemaVersion or a non-object is refused, not guessed", () => {
                assert.throws(
                    () => imageFor({ schemaVersion: 3 }, "us-east-1", "amd64"),
                    /schemaVersion 3 is not one this reader knows \(1 or 2\)/,
                );
                assert.throws(() => imageFor(null, "us-east-1", "amd64"), /not a JSON object/);
            });
        });
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
        assert.deepEqual(await p.diff(file, olds, { ...olds, path: `${dir}/other.json` }), {
            changes: true,
            replaces: ["path"],
            deleteBeforeReplace: false,
        });
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
