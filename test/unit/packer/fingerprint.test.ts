/**
 * Fingerprint table: stable across a fresh clone (copy), `touch` and file creation order; changed
 * by an edit, a rename, a mode change, and each build-defining input. Proof limit: real files in a
 * temp folder through readTree + computeFingerprint, not through git.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    canonicalJson,
    changedParts,
    computeFingerprint,
    partProperty,
    readTree,
    type FingerprintSources,
} from "../../../providers/packer/fingerprint";
import { buildFields, type ResolvedImageInputs } from "../../../providers/packer/types";
import { resolvePackageSha256 } from "../../../providers/packer/validate";
import { downloadInputs, goodInputs } from "./fixtures";

type Files = Record<string, { content: string; mode?: number }>;

function writeTree(dir: string, files: Files, order?: string[]): void {
    for (const rel of order ?? Object.keys(files)) {
        const f = files[rel];
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), f.content);
        fs.chmodSync(path.join(dir, rel), f.mode ?? 0o644);
    }
}

const TEMPLATE: Files = {
    "couchbase-cloud.pkr.hcl": { content: 'source "amazon-ebs" "couchbase" {}\n' },
    "scripts/install-couchbase.sh": { content: "#!/usr/bin/env bash\necho install\n", mode: 0o755 },
    "scripts/cleanup.sh": { content: "#!/usr/bin/env bash\necho clean\n", mode: 0o755 },
    "files/motd": { content: "hello\n" },
};

describe("fingerprint", () => {
    let tmp: string;
    let n = 0;
    const fresh = (files: Files = TEMPLATE, order?: string[]) => {
        const d = path.join(tmp, `t${n++}`);
        fs.mkdirSync(d);
        writeTree(d, files, order);
        return d;
    };
    const sources = (dir: string, over: Partial<FingerprintSources> = {}): FingerprintSources => ({
        templateFiles: readTree(fs, dir),
        agentUnit: "[Unit]\nDescription=dp-agent\n",
        packageFiles: [],
        packerVersion: "1.16.0",
        pluginVersion: "1.8.2",
        ...over,
    });
    const fp = (dir: string, i: ResolvedImageInputs = goodInputs(), over: Partial<FingerprintSources> = {}) =>
        computeFingerprint(i, sources(dir, over));

    before(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "fp-test-"));
    });
    after(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("is a sha256 hex with named parts", () => {
        const r = fp(fresh());
        assert.match(r.fingerprint, /^[0-9a-f]{64}$/);
        assert.deepEqual(Object.keys(r.parts).sort(), [
            "agentSha256",
            "agentUnit",
            "baseImage",
            "naming",
            "template/couchbase-cloud.pkr.hcl",
            "template/files/motd",
            "template/scripts/cleanup.sh",
            "template/scripts/install-couchbase.sh",
            "tools",
            "variables",
        ]);
    });

    describe("stable", () => {
        it("across a fresh copy in another folder (fresh clone)", () => assert.equal(fp(fresh()).fingerprint, fp(fresh()).fingerprint));
        it("across file creation order", () => {
            const order = Object.keys(TEMPLATE).reverse();
            assert.equal(fp(fresh()).fingerprint, fp(fresh(TEMPLATE, order)).fingerprint);
        });
        it("across touch (mtime change)", () => {
            const d = fresh();
            const before = fp(d).fingerprint;
            const t = new Date(Date.now() + 3_600_000);
            fs.utimesSync(path.join(d, "scripts/cleanup.sh"), t, t);
            assert.equal(fp(d).fingerprint, before);
        });
        it("across a group/other-only mode change that keeps the executable bit", () => {
            const d = fresh();
            const before = fp(d).fingerprint;
            fs.chmodSync(path.join(d, "scripts/cleanup.sh"), 0o700);
            assert.equal(fp(d).fingerprint, before);
        });
        it("across key order of inputs", () => {
            const d = fresh();
            const a = goodInputs({ baseImage: { nameFilter: "x-*", owners: ["amazon"] } });
            const b = goodInputs({ baseImage: { owners: ["amazon"], nameFilter: "x-*" } });
            assert.equal(fp(d, a).fingerprint, fp(d, b).fingerprint);
        });
    });

    describe("changed", () => {
        const cases: [string, (d: string) => void, string[]][] = [
            ["by an edit", (d) => fs.appendFileSync(path.join(d, "scripts/cleanup.sh"), "echo more\n"), ["template/scripts/cleanup.sh"]],
            [
                "by a rename",
                (d) => fs.renameSync(path.join(d, "files/motd"), path.join(d, "files/motd.txt")),
                ["template/files/motd", "template/files/motd.txt"],
            ],
            ["by a mode change (executable bit)", (d) => fs.chmodSync(path.join(d, "files/motd"), 0o755), ["template/files/motd"]],
            ["by a new file", (d) => fs.writeFileSync(path.join(d, "scripts/new.sh"), "x"), ["template/scripts/new.sh"]],
            ["by a deleted file", (d) => fs.rmSync(path.join(d, "scripts/cleanup.sh")), ["template/scripts/cleanup.sh"]],
        ];
        for (const [what, mutate, parts] of cases) {
            it(what, () => {
                const d = fresh();
                const a = fp(d);
                mutate(d);
                const b = fp(d);
                assert.notEqual(a.fingerprint, b.fingerprint);
                assert.deepEqual(changedParts(a.parts, b.parts), parts);
            });
        }

        const inputCases: [string, Partial<ResolvedImageInputs>, string][] = [
            ["agent sha256", { agentSha256: "b".repeat(64) }, "agentSha256"],
            ["Couchbase version", { couchbaseVersion: "7.6.5" }, "variables"],
            ["region", { region: "eu-central-1" }, "variables"],
            ["instance type", { instanceType: "m7i.large" }, "variables"],
            ["KMS key", { kmsKeyId: "alias/images" }, "variables"],
            ["base image", { baseImage: { id: "ami-0123456789abcdef0" } }, "baseImage"],
            ["name prefix", { namePrefix: "couchbase-test" }, "naming"],
            ["stack", { stack: "dev-bob" }, "naming"],
            ["release", { release: "v0.1.18" }, "naming"],
            ["couchbase-release sha256 (repository mode)", { couchbaseReleaseSha256: "f".repeat(64) }, "variables"],
            ["key fingerprints (repository mode)", { couchbaseKeyFingerprints: ["89ABCDEF0123456789ABCDEF0123456789ABCDEF"] }, "variables"],
            [
                "an added key fingerprint (repository mode)",
                { couchbaseKeyFingerprints: ["0123456789ABCDEF0123456789ABCDEF01234567", "89ABCDEF0123456789ABCDEF0123456789ABCDEF"] },
                "variables",
            ],
            [
                "couchbase-release URL (repository mode)",
                { couchbaseReleaseUrl: "https://mirror.example.com/couchbase-release-1.0-noarch.deb" },
                "variables",
            ],
        ];
        for (const [what, over, part] of inputCases) {
            it(`by the ${what}`, () => {
                const d = fresh();
                const a = fp(d);
                const b = fp(d, goodInputs(over));
                assert.deepEqual(changedParts(a.parts, b.parts), [part]);
            });
        }
        it("by the unit file", () => {
            const d = fresh();
            assert.deepEqual(changedParts(fp(d).parts, fp(d, goodInputs(), { agentUnit: "[Unit]\nDescription=other\n" }).parts), [
                "agentUnit",
            ]);
        });
        it("by the Packer or plugin version", () => {
            const d = fresh();
            assert.deepEqual(changedParts(fp(d).parts, fp(d, goodInputs(), { packerVersion: "1.15.4" }).parts), ["tools"]);
            assert.deepEqual(changedParts(fp(d).parts, fp(d, goodInputs(), { pluginVersion: "1.8.1" }).parts), ["tools"]);
        });
    });

    describe("not changed by settings that do not shape the image", () => {
        const cases: Partial<ResolvedImageInputs>[] = [
            { owner: "bob" },
            { ttlHours: 1 },
            { extraTags: { Team: "x" } },
            { sshCidrs: ["10.0.0.0/8"] },
            { ec2Endpoint: "http://127.0.0.1:5001" },
            { sshPort: 2222 },
            { buildTimeoutMinutes: 5 },
            { copyRegions: [] },
            { providerVersion: "9.9.9" },
            { environment: "stage" },
        ];
        for (const over of cases) {
            it(JSON.stringify(over), () => {
                const d = fresh();
                assert.equal(fp(d).fingerprint, fp(d, goodInputs(over)).fingerprint);
            });
        }
    });

    describe("repository pins", () => {
        const local = (over: Partial<ResolvedImageInputs> = {}) => goodInputs({ couchbasePackageSource: ".build/standin", ...over });
        it("do not count with a local package folder (they are not passed to Packer there)", () => {
            const d = fresh();
            assert.equal(
                fp(d, local()).fingerprint,
                fp(d, local({ couchbaseReleaseSha256: "", couchbaseKeyFingerprints: [], couchbaseReleaseUrl: "https://x.example/r.deb" }))
                    .fingerprint,
            );
        });
        it("a local-package stack's fingerprint is what it was before the pins existed", () => {
            const d = fresh();
            const without = { ...local() } as Partial<ResolvedImageInputs>;
            delete without.couchbaseReleaseUrl;
            delete without.couchbaseReleaseSha256;
            delete without.couchbaseKeyFingerprints;
            assert.equal(fp(d, local()).fingerprint, fp(d, without as ResolvedImageInputs).fingerprint);
        });
        it("count as a set: key order and spacing/case (normalized by applyDefaults) do not", () => {
            const d = fresh();
            const a = goodInputs({
                couchbaseKeyFingerprints: ["0123456789ABCDEF0123456789ABCDEF01234567", "89ABCDEF0123456789ABCDEF0123456789ABCDEF"],
            });
            const b = goodInputs({
                couchbaseKeyFingerprints: ["89ab cdef 0123 4567 89ab cdef 0123 4567 89ab cdef", "0123456789ABCDEF0123456789ABCDEF01234567"],
            });
            assert.equal(fp(d, a).fingerprint, fp(d, b).fingerprint);
        });
    });

    describe("download fields (download mode: the package's URL and sha256)", () => {
        // As check resolves them: the table's sha256 filled in.
        const dl = (over: Partial<ResolvedImageInputs> = {}) => resolvePackageSha256(downloadInputs(over));
        it("count in download mode: the version, the architecture, the edition (a pin) and the sha256 change the variables part", () => {
            const d = fresh();
            const pin = "0123456789abcdef".repeat(4);
            for (const over of [
                { couchbaseVersion: "8.0.1" },
                { architecture: "arm64" },
                { couchbaseEdition: "community", couchbasePackageSha256: pin },
                { couchbaseVersion: "8.0.9", couchbasePackageSha256: pin },
            ])
                assert.deepEqual(changedParts(fp(d, dl()).parts, fp(d, dl(over)).parts), ["variables"], JSON.stringify(over));
        });
        it("do not count in repository mode or with a local folder (not passed to Packer there)", () => {
            const d = fresh();
            assert.equal(
                fp(d, goodInputs()).fingerprint,
                fp(d, goodInputs({ architecture: "arm64", couchbasePackageSha256: "f".repeat(64) })).fingerprint,
            );
            const local = (over: Partial<ResolvedImageInputs> = {}) => goodInputs({ couchbasePackageSource: ".build/standin", ...over });
            assert.equal(
                fp(d, local()).fingerprint,
                fp(d, local({ architecture: "arm64", couchbasePackageSha256: "f".repeat(64) })).fingerprint,
            );
        });
        it("a local-package stack's fingerprint is what it was before the download fields existed", () => {
            const d = fresh();
            const local = goodInputs({ couchbasePackageSource: ".build/standin" });
            const without = { ...local } as Partial<ResolvedImageInputs>;
            delete without.couchbasePackageSha256;
            delete without.architecture;
            assert.equal(fp(d, local).fingerprint, fp(d, without as ResolvedImageInputs).fingerprint);
        });
        it("buildFields: each mode's own fields force a rebuild, another mode's do not; an unknown source keeps all", () => {
            const has = (src: unknown, f: keyof ResolvedImageInputs) => buildFields(src).includes(f);
            assert.deepEqual(
                [has("download", "couchbasePackageSha256"), has("download", "architecture"), has("download", "couchbaseReleaseSha256")],
                [true, true, false],
            );
            assert.deepEqual(
                [
                    has("repository", "couchbasePackageSha256"),
                    has("repository", "architecture"),
                    has("repository", "couchbaseReleaseSha256"),
                ],
                [false, false, true],
            );
            assert.deepEqual(
                [has(".build/standin", "couchbasePackageSha256"), has(".build/standin", "couchbaseReleaseSha256")],
                [false, false],
            );
            assert.deepEqual(
                [has("04da6b54-80e4-46f7-96ec-b56ff0331ba9", "couchbasePackageSha256"), has(undefined, "couchbaseReleaseSha256")],
                [true, true],
            );
        });
    });

    it("readTree with keep reads only the kept files (the template folder minus its .imageignore)", () => {
        const d = fresh({ ...TEMPLATE, "ci.sh": { content: "#!/usr/bin/env bash\n", mode: 0o755 } });
        const keep = (rel: string) => rel !== "ci.sh";
        assert.deepEqual(
            readTree(fs, d, keep).map((f) => f.path),
            readTree(fs, d)
                .map((f) => f.path)
                .filter(keep),
        );
        const a = fp(d, goodInputs(), { templateFiles: readTree(fs, d, keep) });
        fs.appendFileSync(path.join(d, "ci.sh"), "echo lint\n");
        assert.equal(fp(d, goodInputs(), { templateFiles: readTree(fs, d, keep) }).fingerprint, a.fingerprint);
        fs.appendFileSync(path.join(d, "scripts/cleanup.sh"), "echo more\n");
        assert.deepEqual(changedParts(a.parts, fp(d, goodInputs(), { templateFiles: readTree(fs, d, keep) }).parts), [
            "template/scripts/cleanup.sh",
        ]);
    });

    it("partProperty maps parts to input properties", () => {
        assert.equal(partProperty("template/scripts/x.sh"), "templateDir");
        assert.equal(partProperty("package/couchbase.deb"), "couchbasePackageSource");
        assert.equal(partProperty("agentSha256"), "agentSha256");
        assert.equal(partProperty("agentUnit"), "agentUnit");
        assert.equal(partProperty("baseImage"), "baseImage");
    });

    it("canonicalJson sorts keys at every level and drops undefined", () => {
        assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 2 }], c: undefined } }), '{"a":{"d":[2,{"y":2,"z":1}]},"b":1}');
    });
});

describe("fingerprint: inputs added later leave existing images alone", () => {
    // Pinned values: computed by the fingerprint code of before rootVolumeSize/rootDeviceName existed
    // (commit f7a8849) for these exact inputs and sources. A new input left unset must not change
    // them, or every stack's image would rebuild.
    const src: FingerprintSources = {
        templateFiles: [{ path: "a.pkr.hcl", content: Buffer.from("x"), executable: false }],
        agentUnit: Buffer.from("u"),
        packageFiles: [],
        packerVersion: "1.16.0",
        pluginVersion: "1.8.2",
    };
    it("unset root volume inputs: the fingerprint of before", () => {
        assert.equal(
            computeFingerprint(downloadInputs({ instanceType: "t3.large" }), src).fingerprint,
            "06c5b5a491661ab0aa0349dd8775962aa359d3abf40c05eb500a49979d8c728b",
        );
        assert.equal(
            computeFingerprint(goodInputs({ instanceType: "t3.large" }), src).fingerprint,
            "c310afa0af397c7de17623a9a1f4bf05c128a7c48db36a0f078fec6fb499e601",
        );
    });
    it("a set root volume size or device is part of the variables (a rebuild)", () => {
        const base = computeFingerprint(downloadInputs({ instanceType: "t3.large" }), src);
        for (const over of [{ rootVolumeSize: 64 }, { rootDeviceName: "/dev/xvda" }]) {
            const fp = computeFingerprint(downloadInputs({ instanceType: "t3.large", ...over }), src);
            assert.notEqual(fp.fingerprint, base.fingerprint, JSON.stringify(over));
            assert.deepEqual(changedParts(base.parts, fp.parts), ["variables"]);
        }
    });
});
