import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseArgs } from "../../janitor/args";
import { amiIdsInJson, fileBackendDir, fileBackendStacks, protectedImages } from "../../janitor/sources";
import { resolveLiveStacks } from "../../janitor/cli";
import { setEnv } from "../fixtures/env";

describe("janitor/args", () => {
    it("defaults: dry run, one region from the environment, 2h builds, $0.05", () => {
        const o = parseArgs([], { AWS_REGION: "eu-west-1" });
        assert.deepEqual(o, {
            regions: ["eu-west-1"],
            longestBuildMs: 2 * 3_600_000,
            delete: false,
            pricePerGiBMonth: 0.05,
            tempPrefixes: ["packer_", "packer-"],
            json: false,
            help: false,
        });
        assert.deepEqual(parseArgs([], {}).regions, ["us-east-1"]);
    });
    it("reads every flag, in both --flag value and --flag=value forms", () => {
        const o = parseArgs(
            [
                "--regions",
                "us-east-1, eu-west-1",
                "--older-than=24h",
                "--longest-build",
                "3h",
                "--stack",
                "dev",
                "--delete",
                "--endpoint",
                "http://127.0.0.1:5000",
                "--price-per-gib-month",
                "0.0125",
                "--backend-url",
                "s3://bucket",
                "--live-stacks",
                "a,b",
                "--name-prefix",
                "couchbase-",
                "--temp-prefix",
                "cbimg_",
                "--repo",
                "/tmp/x",
                "--json",
            ],
            { PULUMI_BACKEND_URL: "file:///ignored" },
        );
        assert.deepEqual(o, {
            regions: ["us-east-1", "eu-west-1"],
            olderThanMs: 24 * 3_600_000,
            longestBuildMs: 3 * 3_600_000,
            stack: "dev",
            delete: true,
            endpoint: "http://127.0.0.1:5000",
            pricePerGiBMonth: 0.0125,
            backendUrl: "s3://bucket",
            liveStacks: ["a", "b"],
            namePrefix: "couchbase-",
            tempPrefixes: ["packer_", "packer-", "cbimg_"],
            repo: "/tmp/x",
            json: true,
            help: false,
        });
    });
    it("--all-regions, PULUMI_BACKEND_URL fallback", () => {
        const o = parseArgs(["--all-regions"], { PULUMI_BACKEND_URL: "file:///state" });
        assert.equal(o.regions, "all");
        assert.equal(o.backendUrl, "file:///state");
    });
    const bad: [string[], RegExp][] = [
        [["--regions", "a", "--all-regions"], /exclude each other/],
        [["--older-than", "soon"], /not a duration/],
        [["--older-than"], /needs a value/],
        [["--stack", "--delete"], /needs a value/],
        [["--price-per-gib-month", "cheap"], /not a price/],
        [["--bogus"], /unknown argument/],
        [["delete"], /unknown argument/],
    ];
    for (const [argv, re] of bad) it(`rejects ${argv.join(" ")}`, () => assert.throws(() => parseArgs(argv, {}), re));
});

describe("janitor/sources", () => {
    let dir: string;
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "janitor-src-"));
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("finds AMI ids anywhere in a JSON document", () => {
        const doc = {
            stack: "dev",
            images: { "us-east-1": "ami-0123456789abcdef0", "eu-west-1": { id: "ami-11111111" } },
            list: ["x ami-22222222 y", 3, null],
            "ami-33333333": true,
        };
        assert.deepEqual(amiIdsInJson(doc), ["ami-0123456789abcdef0", "ami-11111111", "ami-22222222", "ami-33333333"]);
        assert.deepEqual(amiIdsInJson({ a: "ami-xyz", b: "not-ami-12345678z" }), []);
    });
    it("reads versions/*.json (not schema.json) and refuses unreadable files", () => {
        fs.mkdirSync(path.join(dir, "versions"));
        fs.writeFileSync(path.join(dir, "versions", "dev.json"), JSON.stringify({ image: "ami-0aaaaaaaaaaaaaaaa" }));
        fs.writeFileSync(path.join(dir, "versions", "schema.json"), JSON.stringify({ example: "ami-0bbbbbbbbbbbbbbbb" }));
        fs.writeFileSync(path.join(dir, "versions", "notes.txt"), "ami-0cccccccccccccccc");
        assert.deepEqual([...protectedImages(dir)], [["ami-0aaaaaaaaaaaaaaaa", path.join("versions", "dev.json")]]);
        fs.writeFileSync(path.join(dir, "versions", "broken.json"), "{");
        assert.throws(() => protectedImages(dir), /cannot read versions file/);
        assert.equal(protectedImages(path.join(dir, "nowhere")).size, 0);
    });
    it("lists the stacks of a file backend", () => {
        const s = path.join(dir, "state", ".pulumi", "stacks", "couchbase-images");
        fs.mkdirSync(s, { recursive: true });
        for (const f of ["local.json", "local.json.bak", "local-bob.json.gz", "dev.json"]) fs.writeFileSync(path.join(s, f), "{}");
        fs.mkdirSync(path.join(dir, "state", ".pulumi", "stacks", "other"));
        fs.writeFileSync(path.join(dir, "state", ".pulumi", "stacks", "other", "x.json"), "{}");
        assert.deepEqual(fileBackendStacks(path.join(dir, "state"), "couchbase-images"), ["dev", "local", "local-bob"]);
        assert.deepEqual(fileBackendStacks(path.join(dir, "none"), "couchbase-images"), []);
        assert.equal(fileBackendDir("file:///a/b"), "/a/b");
        assert.equal(fileBackendDir("file://~/s", "/home/u"), "/home/u/s");
        assert.equal(fileBackendDir("s3://bucket"), undefined);
    });
    it("live stacks: the repo's file backend always; complete only with --live-stacks or a backend URL", () => {
        const repo = path.join(dir, "repo");
        fs.mkdirSync(path.join(repo, ".pulumi-state", ".pulumi", "stacks", "couchbase-images"), { recursive: true });
        fs.writeFileSync(path.join(repo, ".pulumi-state", ".pulumi", "stacks", "couchbase-images", "local-a.json"), "{}");
        const local = path.join(repo, ".pulumi-state");
        const live = (argv: string[]) => {
            const r = resolveLiveStacks(parseArgs(argv, {}), repo);
            return { stacks: [...r.stacks].sort(), complete: r.complete, source: r.source };
        };
        assert.deepEqual(live([]), { stacks: ["local-a"], complete: false, source: `${local} (1)` });
        assert.deepEqual(live(["--live-stacks", "dev,local-a"]), {
            stacks: ["dev", "local-a"],
            complete: true,
            source: `${local} (1), --live-stacks (2)`,
        });
        const url = `file://${path.join(dir, "state")}`; // the file backend of the test above
        assert.deepEqual(live(["--backend-url", url]), {
            stacks: ["dev", "local", "local-a", "local-bob"],
            complete: true,
            source: `${local} (1), ${url} (3)`,
        });
        // A non-file backend is not asked when --live-stacks names the stacks.
        assert.deepEqual(live(["--backend-url", "s3://bucket", "--live-stacks", "dev"]), {
            stacks: ["dev", "local-a"],
            complete: true,
            source: `${local} (1), --live-stacks (1)`,
        });
    });
    it("live stacks: without the pulumi CLI, says how to get it (npm run janitor installs node_modules only)", () => {
        const restore = setEnv({ PATH: path.join(dir, "no-such-bin") });
        try {
            assert.throws(
                () => resolveLiveStacks(parseArgs(["--backend-url", "s3://bucket"], {}), dir),
                /pulumi is not on PATH: `npm run bootstrap` links it into bin\/, or install Pulumi\); pass --live-stacks a,b/,
            );
        } finally {
            restore();
        }
    });
});
