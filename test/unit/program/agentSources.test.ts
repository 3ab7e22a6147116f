import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { readAgentSources, verifyPrebuiltAgent } from "../../../pipeline/agentFiles";
import { agentSourceHash, agentTriggers, isAgentSource, lastSha256Line, parseSha256File, SourceFile } from "../../../pipeline/agentSources";

const base: SourceFile[] = [
    { path: "go.mod", content: "module example.com/agent\n" },
    { path: "go.sum", content: "" },
    { path: "VERSION", content: "0.2.0\n" },
    { path: "build.sh", content: "#!/usr/bin/env bash\n" },
    { path: "cmd/dp-agent/main.go", content: "package main\n" },
    { path: "internal/x/x.go", content: "package x\n" },
];
const H0 = agentSourceHash(base);

describe("isAgentSource", () => {
    const table: [string, boolean][] = [
        ["go.mod", true],
        ["go.sum", true],
        ["VERSION", true],
        ["build.sh", true],
        ["cmd/dp-agent/main.go", true],
        ["internal/a/b.go", true],
        ["internal/a/b_test.go", false],
        ["internal/a/testdata/x.go", true],
        ["dp-agent.service", false],
        ["README.md", false],
        ["ci.sh", false],
        ["internal/go.mod", false],
        ["internal/VERSION", false],
    ];
    for (const [p, want] of table) {
        it(`${p} → ${want}`, () => assert.equal(isAgentSource(p), want));
    }
});

describe("agentSourceHash", () => {
    it("is a sha256", () => assert.match(H0, /^[0-9a-f]{64}$/));

    it("does not depend on file order", () => {
        assert.equal(agentSourceHash([...base].reverse()), H0);
    });

    it("does not depend on Buffer vs string content", () => {
        assert.equal(agentSourceHash(base.map((f) => ({ ...f, content: Buffer.from(String(f.content)) }))), H0);
    });

    it("equals agent/source-hash.sh on the real agent sources (one algorithm, two implementations)", function () {
        const agentDir = path.join(__dirname, "../../../agent");
        if (!fs.existsSync(path.join(agentDir, "source-hash.sh"))) this.skip();
        const script = execFileSync("bash", [path.join(agentDir, "source-hash.sh")], { encoding: "utf8" }).trim();
        assert.equal(agentSourceHash(readAgentSources(agentDir)), script);
    });

    const changes: [string, SourceFile[]][] = [
        ["an edit", base.map((f) => (f.path === "internal/x/x.go" ? { ...f, content: "package x // edited\n" } : f))],
        ["a rename", base.map((f) => (f.path === "internal/x/x.go" ? { ...f, path: "internal/x/y.go" } : f))],
        ["an added file", [...base, { path: "internal/x/z.go", content: "package x\n" }]],
        ["a removed file", base.filter((f) => f.path !== "go.sum")],
        [
            "content moved between files",
            base.map((f) => (f.path === "go.sum" ? { ...f, content: "0.2.0\n" } : f.path === "VERSION" ? { ...f, content: "" } : f)),
        ],
    ];
    for (const [name, files] of changes) {
        it(`changes with ${name}`, () => assert.notEqual(agentSourceHash(files), H0));
    }
});

describe("agent sources on disk", () => {
    let tmp: string;
    const write = (dir: string, rel: string, content: string, mode = 0o644): void => {
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
        fs.writeFileSync(path.join(dir, rel), content);
        fs.chmodSync(path.join(dir, rel), mode);
    };
    const make = (dir: string): void => {
        for (const f of base) write(dir, f.path, String(f.content), f.path === "build.sh" ? 0o755 : 0o644);
        write(dir, "internal/x/x_test.go", "package x\n");
        write(dir, "dp-agent.service", "[Unit]\n");
    };

    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "agent-src-"));
    });
    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    it("reads exactly the sources and hashes like the in-memory set", () => {
        make(path.join(tmp, "a"));
        const files = readAgentSources(path.join(tmp, "a"));
        assert.deepEqual(files.map((f) => f.path).sort(), base.map((f) => f.path).sort());
        assert.equal(agentSourceHash(files), H0);
    });

    it("is stable across a fresh copy elsewhere, a touch and a chmod (the binary does not change)", () => {
        make(path.join(tmp, "clone"));
        const future = new Date(Date.now() + 3600_000);
        fs.utimesSync(path.join(tmp, "clone", "internal/x/x.go"), future, future);
        assert.equal(agentSourceHash(readAgentSources(path.join(tmp, "clone"))), H0);
        fs.chmodSync(path.join(tmp, "clone", "internal/x/x.go"), 0o755);
        fs.chmodSync(path.join(tmp, "clone", "build.sh"), 0o644);
        assert.equal(agentSourceHash(readAgentSources(path.join(tmp, "clone"))), H0);
    });

    it("a test-file edit does not change the hash", () => {
        make(path.join(tmp, "a"));
        write(path.join(tmp, "a"), "internal/x/x_test.go", "package x // more tests\n");
        assert.equal(agentSourceHash(readAgentSources(path.join(tmp, "a"))), H0);
    });

    describe("verifyPrebuiltAgent", () => {
        const keys = { artifact: "couchbase-images:agentArtifact", sha256File: "couchbase-images:agentSha256File" };
        const sha = (s: string): string => createHash("sha256").update(s).digest("hex");

        it("returns the verified sha256", () => {
            write(tmp, "dp-agent.gz", "binary");
            write(tmp, "dp-agent.gz.sha256", `${sha("binary")}  dp-agent.gz\n`);
            const got = verifyPrebuiltAgent(path.join(tmp, "dp-agent.gz"), path.join(tmp, "dp-agent.gz.sha256"), keys);
            assert.equal(got, sha("binary"));
        });

        it("names the artifact key on a mismatch", () => {
            write(tmp, "dp-agent.gz", "binary v2");
            write(tmp, "dp-agent.gz.sha256", `${sha("binary")}  dp-agent.gz\n`);
            assert.throws(
                () => verifyPrebuiltAgent(path.join(tmp, "dp-agent.gz"), path.join(tmp, "dp-agent.gz.sha256"), keys),
                (e: Error) =>
                    e.message.startsWith(`couchbase-images:agentArtifact: `) &&
                    e.message.includes(`has sha256 ${sha("binary v2")} but`) &&
                    e.message.endsWith("rebuild both with agent/build.sh"),
            );
        });

        it("names the artifact key when it is missing", () => {
            assert.throws(
                () => verifyPrebuiltAgent(path.join(tmp, "nope.gz"), path.join(tmp, "nope.gz.sha256"), keys),
                /^Error: couchbase-images:agentArtifact: ".*nope\.gz" does not exist; build it with `bash agent\/build\.sh --out /,
            );
        });

        it("names the sha256 key when the file is missing or empty", () => {
            write(tmp, "dp-agent.gz", "binary");
            assert.throws(
                () => verifyPrebuiltAgent(path.join(tmp, "dp-agent.gz"), path.join(tmp, "x.sha256"), keys),
                /^Error: couchbase-images:agentSha256File: .* cannot be read/,
            );
            write(tmp, "x.sha256", "\n");
            assert.throws(
                () => verifyPrebuiltAgent(path.join(tmp, "dp-agent.gz"), path.join(tmp, "x.sha256"), keys),
                /^Error: couchbase-images:agentSha256File: .* holds no sha256/,
            );
        });
    });
});

describe("agentTriggers / lastSha256Line / parseSha256File", () => {
    it("labels every trigger element", () => {
        assert.deepEqual(
            agentTriggers(H0, {
                ldflags: "-X main.Provider=aws",
                platform: "linux/amd64",
                goVersion: "go1.26.8",
                checkout: "c".repeat(32),
            }),
            [`sources=${H0}`, "ldflags=-X main.Provider=aws", "platform=linux/amd64", "go=go1.26.8", `checkout=${"c".repeat(32)}`],
        );
    });

    it("takes the last non-empty stdout line", () => {
        assert.equal(lastSha256Line(`building...\nwrote .build/agent/dp-agent.gz\n${H0}\n\n`), H0);
    });

    it("rejects output without a trailing sha256", () => {
        assert.throws(
            () => lastSha256Line("go: build failed\n"),
            /expected a sha256 as the last line of its output, got "go: build failed"/,
        );
        assert.throws(() => lastSha256Line(""), /got ""/);
    });

    const files: [string, string | undefined][] = [
        [`${H0}  dp-agent.gz\n`, H0],
        [`${H0}\n`, H0],
        [`${H0.toUpperCase()}  dp-agent.gz`, H0],
        ["", undefined],
        ["abc  dp-agent.gz", undefined],
    ];
    for (const [text, want] of files) {
        it(`parseSha256File(${JSON.stringify(text.slice(0, 12))}…) → ${want ? "digest" : "undefined"}`, () =>
            assert.equal(parseSha256File(text), want));
    }
});
