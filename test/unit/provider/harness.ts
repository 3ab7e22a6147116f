/**
 * Test harness for the image provider's methods: a temporary project root (template, unit file,
 * agent artifact) made the working directory, and the fake `packer` first on PATH.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PackerImageProvider } from "../../../providers/packer/provider";
import { PROVIDER_VERSION } from "../../../providers/packer";
import { TEST_KEY_FINGERPRINT, TEST_RELEASE_SHA256 } from "../packer/fixtures";

export { TEST_KEY_FINGERPRINT, TEST_RELEASE_SHA256 };

export type ProviderInputs = Parameters<PackerImageProvider["create"]>[0];
export type ProviderOutputs = Parameters<PackerImageProvider["delete"]>[1];

export const FAKE_PACKER = path.resolve(__dirname, "../../fixtures/fake-packer");
const KNOBS = [
    "FAKE_PACKER_LOG",
    "FAKE_PACKER_FAIL_AT",
    "FAKE_PACKER_SLEEP_AT",
    "FAKE_PACKER_SLEEP",
    "FAKE_PACKER_IGNORE_SIGNALS",
    "FAKE_PACKER_CLEANUP_MS",
    "FAKE_PACKER_IMAGE_ID",
    "FAKE_PACKER_EC2",
    "FAKE_PACKER_MANIFEST",
    "FAKE_PACKER_ECHO_SECRET",
    "FAKE_PACKER_VALIDATE_FAIL",
];

export interface Project {
    root: string;
    agentSha256: string;
    /** JSON events the fake packer logged. */
    events(): Record<string, unknown>[];
    /** Sets fake packer knobs for the next calls (cleared by reset). */
    knobs(k: Record<string, string>): void;
    reset(): void;
    restore(): void;
}

/** Creates the project, chdirs into it, puts the fake packer first on PATH. */
export function makeProject(): Project {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "packer-image-test-"));
    const w = (rel: string, content: string | Buffer, mode = 0o644) => {
        fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
        fs.writeFileSync(path.join(root, rel), typeof content === "string" ? content : new Uint8Array(content));
        fs.chmodSync(path.join(root, rel), mode);
    };
    w(
        "images/aws/couchbase-cloud.pkr.hcl",
        'variable "region" {\n  type = string\n}\nvariable "image_name" {\n  type = string\n}\nvariable "tags" {\n  type = map(string)\n}\nvariable "manifest_path" {\n  type = string\n}\nvariable "agent_sha256" {\n  type = string\n}\nvariable "ec2_endpoint" {\n  type = string\n}\nvariable "couchbase_release_sha256" {\n  type = string\n}\nvariable "couchbase_key_fingerprints" {\n  type = list(string)\n}\nvariable "couchbase_package_url" {\n  type = string\n}\nvariable "couchbase_package_sha256" {\n  type = string\n}\n',
    );
    w("images/aws/scripts/install-couchbase.sh", "#!/usr/bin/env bash\necho install\n", 0o755);
    w("agent/dp-agent.service", "[Unit]\nDescription=dp-agent\n");
    const artifact = Buffer.from("fake gzip bytes of dp-agent");
    w(".build/agent/dp-agent.gz", artifact);
    const agentSha256 = crypto.createHash("sha256").update(new Uint8Array(artifact)).digest("hex");
    const bin = path.join(root, ".fakebin");
    fs.mkdirSync(bin);
    fs.symlinkSync(FAKE_PACKER, path.join(bin, "packer"));
    const logFile = path.join(root, "fake-packer.log");

    const oldCwd = process.cwd();
    const oldPath = process.env.PATH;
    process.chdir(root);
    process.env.PATH = `${bin}:${oldPath}`;
    const reset = () => {
        for (const k of KNOBS) delete process.env[k];
        process.env.FAKE_PACKER_LOG = logFile;
        fs.rmSync(logFile, { force: true });
        fs.rmSync(path.join(root, ".build", "check"), { recursive: true, force: true }); // remembered validates
    };
    reset();
    return {
        root,
        agentSha256,
        events: () =>
            fs.existsSync(logFile)
                ? fs
                      .readFileSync(logFile, "utf8")
                      .trim()
                      .split("\n")
                      .filter(Boolean)
                      .map((l) => JSON.parse(l))
                : [],
        knobs: (k) => Object.assign(process.env, k),
        reset,
        restore: () => {
            for (const k of KNOBS) delete process.env[k];
            process.chdir(oldCwd);
            process.env.PATH = oldPath;
            fs.rmSync(root, { recursive: true, force: true });
        },
    };
}

/**
 * Inputs as the engine would pass them after check (defaults are applied by the provider):
 * repository mode (set explicitly: the default is download) with test pins.
 */
export function inputs(p: Project, over: Partial<ProviderInputs> = {}): ProviderInputs {
    return {
        templateDir: "images/aws",
        region: "eu-west-1",
        copyRegions: ["us-east-1"],
        couchbaseVersion: "7.6.4",
        agentArtifact: ".build/agent/dp-agent.gz",
        agentSha256: p.agentSha256,
        stack: "dev-alice",
        environment: "dev",
        owner: "alice",
        sshCidrs: ["203.0.113.4/32"],
        couchbasePackageSource: "repository",
        couchbaseReleaseSha256: TEST_RELEASE_SHA256,
        couchbaseKeyFingerprints: [TEST_KEY_FINGERPRINT],
        providerVersion: PROVIDER_VERSION,
        ...over,
    } as ProviderInputs;
}

/** Captures console.log lines while `fn` runs. */
export async function captureConsole<T>(fn: () => Promise<T>): Promise<{ result?: T; error?: Error; lines: string[] }> {
    const lines: string[] = [];
    const orig = console.log;
    console.log = (...a: unknown[]) => {
        lines.push(a.map(String).join(" "));
    };
    try {
        return { result: await fn(), lines };
    } catch (e) {
        return { error: e as Error, lines };
    } finally {
        console.log = orig;
    }
}

/** Resolves once `pred` holds (polling), or rejects after `ms`. */
export async function waitFor(pred: () => boolean, ms = 10_000): Promise<void> {
    const until = Date.now() + ms;
    while (!pred()) {
        if (Date.now() > until) throw new Error("condition not met in time");
        await new Promise((r) => setTimeout(r, 25));
    }
}
