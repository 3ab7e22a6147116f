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
 * value. Rows are per architecture: amd64 alone (the default), and both amd64 and arm64
 * (`architectures: [amd64, arm64]`), each image checked on its own inputs (its instance type, base
 * image filter, agent, package URL and sha256).
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
import { packerVariables } from "../../providers/packer/argv";
import { tableSha256 } from "../../providers/packer/couchbasePackages";
import { UNKNOWN } from "../../providers/packer/validate";
import { PackerImageProvider } from "../../providers/packer/provider";
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

    /** Runs the program on `config`; returns the inputs it registered for the image of each architecture. */
    async function imagesInputs(config: Record<string, unknown>): Promise<Record<string, Record<string, unknown>>> {
        await new Promise((r) => setTimeout(r, 50)); // registrations of an earlier run land first
        resetRecorder();
        pulumi.runtime.setAllConfig(engineForm(config));
        const out = (await program()) as Record<string, pulumi.Output<unknown>>;
        await settle(...Object.values(out));
        return Object.fromEntries(ofType("pulumi-nodejs:dynamic/packer:Image").map((r) => [String(r.inputs.architecture), r.inputs]));
    }

    /** Runs the program on `config` (one architecture); returns the inputs it registered for the image. */
    async function imageInputs(config: Record<string, unknown>): Promise<Record<string, unknown>> {
        const images = await imagesInputs(config);
        assert.equal(Object.keys(images).length, 1);
        return Object.values(images)[0];
    }

    /** A stand-in for the agent the command builds at `up` for `arch`, where it builds it: its path and sha256. */
    function builtAgent(arch: "amd64" | "arm64" = "amd64"): { agentArtifact: string; agentSha256: string } {
        const bytes = new Uint8Array(Buffer.from(`stand-in ${arch} dp-agent.gz for the dev stack's check`));
        const dir = arch === "amd64" ? ".build/agent" : `.build/agent-${arch}`;
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(`${dir}/dp-agent.gz`, bytes);
        return { agentArtifact: `${dir}/dp-agent.gz`, agentSha256: crypto.createHash("sha256").update(bytes).digest("hex") };
    }

    const BOTH = { [`${NS}:architectures`]: ["amd64", "arm64"] };
    const rows: { name: string; config: () => Record<string, unknown>; arches: ("amd64" | "arm64")[] }[] = [
        { name: "a dev stack that sets only sshCidrs", config: () => ({ [`${NS}:sshCidrs`]: ["203.0.113.7/32"] }), arches: ["amd64"] },
        { name: "the repository's Pulumi.dev.yaml, as it is", config: () => devYaml, arches: ["amd64"] },
        {
            name: "a dev stack that sets only sshCidrs and both architectures",
            config: () => ({ [`${NS}:sshCidrs`]: ["203.0.113.7/32"], ...BOTH }),
            arches: ["amd64", "arm64"],
        },
        {
            name: "the repository's Pulumi.dev.yaml with both architectures",
            config: () => ({ ...devYaml, ...BOTH }),
            arches: ["amd64", "arm64"],
        },
    ];
    const BASE_FILTER = {
        amd64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
        arm64: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-arm64-server-*",
    };
    const INSTANCE_TYPE = { amd64: "t3.large", arm64: "t4g.large" };
    for (const row of rows) {
        it(`${row.name} (${row.arches.join(" + ")}): the program validates it, and each image's check passes at preview and, with packer validate, at up`, async () => {
            const config = row.config();
            const version = (config[`${NS}:couchbaseVersion`] as string | undefined) ?? "8.0.0"; // Pulumi.yaml's default
            if (row.name.includes("only sshCidrs"))
                assert.deepEqual(Object.keys(config), [`${NS}:sshCidrs`, ...(row.arches.length > 1 ? [`${NS}:architectures`] : [])]);
            else assert.ok(Object.keys(config).length > 1, "Pulumi.dev.yaml was read");
            const images = await imagesInputs(config);
            assert.deepEqual(Object.keys(images).sort(), row.arches);
            for (const arch of row.arches) await checkImage(images[arch], arch, version, row.arches.length);
        });
    }

    /** The image check of one architecture's inputs, at preview and at up (with packer validate). */
    async function checkImage(inputs: Record<string, unknown>, arch: "amd64" | "arm64", version: string, count: number): Promise<void> {
        {
            assert.equal(inputs.couchbasePackageSource, "download");
            assert.equal(inputs.architecture, arch);
            assert.equal(inputs.couchbaseVersion, version);
            assert.equal(inputs.instanceType, INSTANCE_TYPE[arch]);
            assert.deepEqual(inputs.baseImage, { nameFilter: BASE_FILTER[arch], owners: ["099720109477"] });
            assert.equal((inputs.extraTags as Record<string, string>).Architecture, arch);
            if (count > 1) assert.match(String(inputs.namePrefix), new RegExp(`-${arch}$`));

            // Preview: the agent command has not run, so its sha256 is unknown.
            const preview = { ...inputs, agentSha256: UNKNOWN } as never;
            const p = await provider.check(preview, preview);
            assert.deepEqual(p.failures, []);

            // Up: the agent exists; check runs packer validate on the real template.
            const agent = builtAgent(arch);
            assert.equal(
                inputs.agentArtifact,
                agent.agentArtifact,
                "the program points the image at where its architecture's agent is built",
            );
            const up = { ...inputs, ...agent } as never;
            const r = await provider.check(up, up);
            assert.deepEqual(r.failures, []);
            const sha = tableSha256(version, "enterprise", arch);
            assert.match(sha ?? "", /^[0-9a-f]{64}$/, "the table holds the version");
            assert.equal(r.inputs?.couchbasePackageSha256, sha);
            const fp = r.inputs?.fingerprint ?? "";
            assert.match(fp, /^[0-9a-f]{64}$/);
            const dir = `.build/check/dev-${fp.slice(0, 12)}`;
            assert.equal(fs.readFileSync(`${dir}/validated`, "utf8").length, 64, "packer validate passed (and was remembered)");
            // The var file is removed after packer validate (it may hold secret tag values): the
            // variables are the pure function of the checked inputs that check wrote to it.
            assert.equal(fs.existsSync(`${dir}/vars.pkrvars.json`), false, "the check's var file does not outlive packer validate");
            const vars = packerVariables(r.inputs as never, {
                imageName: "name",
                tags: {},
                manifestPath: "manifest.json",
                temporaryKeyPairName: "key",
            });
            assert.equal(vars.couchbase_package_source, "download");
            assert.equal(
                vars.couchbase_package_url,
                `https://packages.couchbase.com/releases/${version}/couchbase-server-enterprise_${version}-linux_${arch}.deb`,
            );
            assert.equal(vars.couchbase_package_sha256, sha);
            assert.equal(vars.instance_type, INSTANCE_TYPE[arch]);
            assert.equal(vars.source_ami_name_filter, BASE_FILTER[arch]);
            assert.equal("couchbase_release_sha256" in vars || "couchbase_key_fingerprints" in vars, false, "no repository pins");
        }
    }

    it("a version the table lacks, without a pin: the program and the image's check both refuse it, naming the key and where Couchbase publishes the value", async () => {
        const config = { [`${NS}:sshCidrs`]: ["203.0.113.7/32"], [`${NS}:couchbaseVersion`]: "8.0.9" };
        pulumi.runtime.setAllConfig(engineForm(config));
        await assert.rejects(
            program(),
            (e: Error) =>
                e.message.includes(
                    `${NS}:couchbasePackageSha256["8.0.9"].amd64: Couchbase Server enterprise 8.0.9 for amd64 is not in the project's table`,
                ) &&
                e.message.includes(
                    "https://packages.couchbase.com/releases/8.0.9/couchbase-server-enterprise_8.0.9-linux_amd64.deb.sha256",
                ) &&
                e.message.includes(`pulumi config set --path '${NS}:couchbasePackageSha256["8.0.9"].amd64' <sha256>`),
        );
        const inputs = {
            ...(await imageInputs({ [`${NS}:sshCidrs`]: ["203.0.113.7/32"] })),
            couchbaseVersion: "8.0.9",
            ...builtAgent(),
        } as never;
        const r = await provider.check(inputs, inputs);
        assert.equal(r.failures?.length, 1, JSON.stringify(r.failures));
        assert.equal(r.failures[0].property, "couchbasePackageSha256");
        assert.match(
            r.failures[0].reason,
            /Couchbase publishes at https:\/\/packages\.couchbase\.com\/releases\/8\.0\.9\/couchbase-server-enterprise_8\.0\.9-linux_amd64\.deb\.sha256/,
        );
        // ... and with the stack's pin for exactly that version and architecture, it passes.
        const pin = "0123456789abcdef".repeat(4);
        const pinned = await imageInputs({ ...config, [`${NS}:couchbasePackageSha256`]: { "8.0.9": { amd64: pin } } });
        const up = { ...pinned, ...builtAgent() } as never;
        const ok = await provider.check(up, up);
        assert.deepEqual(ok.failures, []);
        assert.equal(ok.inputs?.couchbasePackageSha256, pin);
    });
});
