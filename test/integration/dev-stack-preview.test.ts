/**
 * A new developer's stack on real AWS previews cleanly with the download default (issue 21's
 * "done when", for amd64): on a copy of the checkout as a fresh clone has it (its tracked and new
 * files only: no .build/, no agent artifact, no remembered `packer validate`), the config of a dev
 * stack that sets only `sshCidrs`, and the repository's own Pulumi.dev.yaml, each pass
 *   1. the program's validation: `program()` itself (pipeline/config.ts through readConfig), with
 *      the config as the engine hands it over (strings), under mocks; and
 *   2. the image resource's `check` on exactly the inputs the program registered for the image,
 *      twice: as at preview (the agent's sha256 not known yet: no file check, no Packer) and as at
 *      `up` once the agent command has run (a stand-in artifact), where `check` runs the real
 *      `packer validate` on the real template with the resolved variables, which carry the
 *      package's URL and the table's sha256.
 * A version the table lacks fails both, naming the key to set and where Couchbase publishes the
 * value. Rows are per architecture; arm64 is one more row once a stack can ask for it.
 * Proof limit: mocks stand in for the engine and the aws and command plugins (the real engine
 * runs the same program in the e2e tests with the local stack); nothing reaches AWS or Couchbase.
 * Skipped without packer or pulumi on PATH (npm run bootstrap).
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

import { program } from "../../pipeline/program";
import { tableSha256 } from "../../providers/packer/couchbasePackages";
import { UNKNOWN } from "../../providers/packer/validate";
import { PackerImageProvider } from "../../providers/packerImageProvider";
import { stackConfigValues } from "../../scripts/stack";
import { installMocks, ofType, resetRecorder, settle } from "../unit/program/mocks";

const ROOT = path.resolve(__dirname, "../..");
const NS = "couchbase-images";

/** The config as the engine hands it to the program: every value a string, lists and maps as JSON. */
function engineForm(values: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) out[k] = typeof v === "string" ? v : JSON.stringify(v);
    return out;
}

/** Copies what a fresh clone of this checkout holds (tracked and new, not ignored, files) to `dir`. */
function freshClone(dir: string): void {
    const files = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: ROOT, encoding: "utf8" })
        .split("\0")
        .filter((f) => f !== "");
    for (const f of files) {
        const from = path.join(ROOT, f);
        if (!fs.existsSync(from) || !fs.statSync(from).isFile()) continue; // deleted in the working tree
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.copyFileSync(from, path.join(dir, f));
        fs.chmodSync(path.join(dir, f), fs.statSync(from).mode & 0o777);
    }
}

describe("a fresh dev stack previews with the download default (program validation + image check with packer validate)", function () {
    this.timeout(180_000);
    const provider = new PackerImageProvider();
    let clone = "";
    let oldCwd = "";
    let devYaml: Record<string, unknown> = {};

    before(async function () {
        for (const tool of ["packer", "pulumi"]) {
            try {
                execFileSync(tool, ["version"], { stdio: "ignore" });
            } catch {
                this.skip();
            }
        }
        clone = fs.mkdtempSync(path.join(os.tmpdir(), "dev-stack-clone-"));
        freshClone(clone);
        assert.equal(fs.existsSync(path.join(clone, ".build")), false, "a fresh clone has no .build/");
        devYaml = await stackConfigValues("dev", clone);
        oldCwd = process.cwd();
        process.chdir(clone);
        await installMocks("dev");
    });
    beforeEach(() => resetRecorder());
    after(() => {
        pulumi.runtime.setAllConfig({});
        if (oldCwd) process.chdir(oldCwd);
        if (clone) fs.rmSync(clone, { recursive: true, force: true });
    });

    /** Runs the program on `config`; returns the inputs it registered for the image. */
    async function imageInputs(config: Record<string, unknown>): Promise<Record<string, unknown>> {
        await new Promise((r) => setTimeout(r, 50)); // registrations of an earlier run land first
        resetRecorder();
        pulumi.runtime.setAllConfig(engineForm(config));
        const out = (await program()) as Record<string, pulumi.Output<unknown>>;
        await settle(...Object.values(out));
        const images = ofType("pulumi-nodejs:dynamic/packer:Image");
        assert.equal(images.length, 1);
        return images[0].inputs;
    }

    /** A stand-in for the agent the command builds at `up`: its path and sha256. */
    function builtAgent(): { agentArtifact: string; agentSha256: string } {
        const bytes = new Uint8Array(Buffer.from("stand-in dp-agent.gz for the dev stack's check"));
        fs.mkdirSync(".build/agent", { recursive: true });
        fs.writeFileSync(".build/agent/dp-agent.gz", bytes);
        return { agentArtifact: ".build/agent/dp-agent.gz", agentSha256: crypto.createHash("sha256").update(bytes).digest("hex") };
    }

    const rows: { name: string; config: () => Record<string, unknown>; arch: "amd64" }[] = [
        { name: "a dev stack that sets only sshCidrs", config: () => ({ [`${NS}:sshCidrs`]: ["203.0.113.7/32"] }), arch: "amd64" },
        { name: "the repository's Pulumi.dev.yaml, as it is", config: () => devYaml, arch: "amd64" },
    ];
    for (const row of rows) {
        it(`${row.name} (${row.arch}): the program validates it, and the image's check passes at preview and, with packer validate, at up`, async () => {
            const config = row.config();
            const version = String(config[`${NS}:couchbaseVersion`] ?? "8.0.0"); // Pulumi.yaml's default
            if (row.name.includes("only sshCidrs")) assert.deepEqual(Object.keys(config), [`${NS}:sshCidrs`]);
            else assert.ok(Object.keys(config).length > 1, "Pulumi.dev.yaml was read");
            const inputs = await imageInputs(config);
            assert.equal(inputs.couchbasePackageSource, "download");
            assert.equal(inputs.architecture, row.arch);
            assert.equal(inputs.couchbaseVersion, version);

            // Preview: the agent command has not run, so its sha256 is unknown.
            const preview = { ...inputs, agentSha256: UNKNOWN } as never;
            const p = await provider.check(preview, preview);
            assert.deepEqual(p.failures, []);

            // Up: the agent exists; check runs packer validate on the real template.
            const up = { ...inputs, ...builtAgent() } as never;
            const r = await provider.check(up, up);
            assert.deepEqual(r.failures, []);
            const sha = tableSha256(version, "enterprise", row.arch);
            assert.match(sha ?? "", /^[0-9a-f]{64}$/, "the table holds the version");
            assert.equal(r.inputs?.couchbasePackageSha256, sha);
            const fp = r.inputs?.fingerprint ?? "";
            assert.match(fp, /^[0-9a-f]{64}$/);
            const dir = `.build/check/dev-${fp.slice(0, 12)}`;
            assert.equal(fs.readFileSync(`${dir}/validated`, "utf8").length, 64, "packer validate passed (and was remembered)");
            const vars = JSON.parse(fs.readFileSync(`${dir}/vars.pkrvars.json`, "utf8")) as Record<string, unknown>;
            assert.equal(vars.couchbase_package_source, "download");
            assert.equal(vars.couchbase_package_url, `https://packages.couchbase.com/releases/${version}/couchbase-server-enterprise_${version}-linux_${row.arch}.deb`);
            assert.equal(vars.couchbase_package_sha256, sha);
            assert.equal("couchbase_release_sha256" in vars || "couchbase_key_fingerprints" in vars, false, "no repository pins");
        });
    }

    it("a version the table lacks, without a pin: the program and the image's check both refuse it, naming the key and where Couchbase publishes the value", async () => {
        const config = { [`${NS}:sshCidrs`]: ["203.0.113.7/32"], [`${NS}:couchbaseVersion`]: "8.0.9" };
        pulumi.runtime.setAllConfig(engineForm(config));
        await assert.rejects(
            program(),
            (e: Error) =>
                e.message.includes(`${NS}:couchbasePackageSha256["8.0.9"].amd64: Couchbase Server enterprise 8.0.9 for amd64 is not in the project's table`) &&
                e.message.includes("https://packages.couchbase.com/releases/8.0.9/couchbase-server-enterprise_8.0.9-linux_amd64.deb.sha256") &&
                e.message.includes(`pulumi config set --path '${NS}:couchbasePackageSha256["8.0.9"].amd64' <sha256>`),
        );
        const inputs = { ...(await imageInputs({ [`${NS}:sshCidrs`]: ["203.0.113.7/32"] })), couchbaseVersion: "8.0.9", ...builtAgent() } as never;
        const r = await provider.check(inputs, inputs);
        assert.equal(r.failures?.length, 1, JSON.stringify(r.failures));
        assert.equal(r.failures![0].property, "couchbasePackageSha256");
        assert.match(r.failures![0].reason, /Couchbase publishes at https:\/\/packages\.couchbase\.com\/releases\/8\.0\.9\/couchbase-server-enterprise_8\.0\.9-linux_amd64\.deb\.sha256/);
        // ... and with the stack's pin for exactly that version and architecture, it passes.
        const pin = "0123456789abcdef".repeat(4);
        const pinned = await imageInputs({ ...config, [`${NS}:couchbasePackageSha256`]: { "8.0.9": { amd64: pin } } });
        const up = { ...pinned, ...builtAgent() } as never;
        const ok = await provider.check(up, up);
        assert.deepEqual(ok.failures, []);
        assert.equal(ok.inputs?.couchbasePackageSha256, pin);
    });
});
