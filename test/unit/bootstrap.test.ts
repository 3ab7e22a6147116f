/**
 * The bootstrap writes only into the repository and its cache: given a pulumi on PATH at the pinned
 * version in a folder of its own (as /usr/local/bin), it never writes beside it. Runs the real
 * `ensure_pulumi` of scripts/bootstrap.sh in a scratch copy of the repository's scripts, with a
 * stand-in pulumi and a stand-in @pulumi/pulumi, and lists every file under the scratch folder.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const PULUMI_VERSION = /^PULUMI_VERSION=(\S+)$/m.exec(fs.readFileSync(path.join(ROOT, "tools/versions.env"), "utf8"))![1];

/** Every file and link under `dir`, relative, sorted (folders left out). */
function files(dir: string): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else out.push(path.relative(dir, p));
        }
    };
    walk(dir);
    return out.sort();
}

describe("bootstrap: writes only into the repository and its cache", function () {
    this.timeout(60_000);
    let tmp: string;
    let repo: string;
    let cache: string;
    let vendor: string;

    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cbimg-bootstrap-"));
        repo = path.join(tmp, "repo");
        cache = path.join(tmp, "cache");
        vendor = path.join(tmp, "usr-local-bin");
        for (const f of ["scripts/bootstrap.sh", "scripts/env.sh", "scripts/ensure-installed.sh", "tools/versions.env"]) {
            fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
            fs.copyFileSync(path.join(ROOT, f), path.join(repo, f));
        }
        const sdk = path.join(repo, "node_modules/@pulumi/pulumi");
        fs.mkdirSync(sdk, { recursive: true });
        fs.writeFileSync(path.join(sdk, "package.json"), JSON.stringify({ version: "3.270.0" }));
        fs.writeFileSync(path.join(sdk, "pulumi-resource-pulumi-nodejs"), "#!/bin/sh\necho stand-in provider host\n", { mode: 0o644 });
        fs.mkdirSync(vendor);
        // A vendor pulumi at the pinned version, in a folder the bootstrap may write to (root's /usr/local/bin).
        fs.writeFileSync(path.join(vendor, "pulumi"), `#!/bin/sh\n[ "$1" = version ] && echo ${PULUMI_VERSION}\n`, { mode: 0o755 });
        fs.mkdirSync(path.join(tmp, "home"));
    });

    afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

    /** Runs `ensure_pulumi` from the scratch copy; returns its report lines. */
    function ensurePulumi(): string[] {
        const env: Record<string, string> = {
            PATH: [vendor, path.dirname(process.execPath), "/usr/local/sbin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"].join(":"),
            HOME: path.join(tmp, "home"),
            COUCHBASE_IMAGES_CACHE: cache,
        };
        const out = execFileSync("bash", ["-c", `source "${repo}/scripts/bootstrap.sh" && ensure_pulumi && printf '%s\\n' "\${REPORT[@]}"`], { env, encoding: "utf8" });
        return out.trim().split("\n");
    }

    it("a pulumi on PATH without the provider host: copied into the cache with the host beside it, nothing written beside it", () => {
        const report = ensurePulumi();
        assert.deepEqual(files(vendor), ["pulumi"], "nothing written beside the vendor's pulumi");
        const cached = path.join(cache, "tools", `pulumi-${PULUMI_VERSION}`);
        assert.equal(fs.readlinkSync(path.join(repo, "bin/pulumi")), path.join(cached, "pulumi"));
        assert.ok((fs.statSync(path.join(cached, "pulumi-resource-pulumi-nodejs")).mode & 0o111) !== 0, "the host is executable");
        assert.deepEqual(files(tmp).filter((f) => !f.startsWith("repo/") && !f.startsWith("cache/")), ["usr-local-bin/pulumi"], "writes only in the repository and the cache");
        assert.match(report.find((r) => r.startsWith("pulumi|")) ?? "", /found on PATH \(.*usr-local-bin\/pulumi\); copied into the cache/);
        assert.match(report.find((r) => r.startsWith("pulumi-resource-pulumi-nodejs|")) ?? "", /copied beside pulumi \(.*cache\/tools\/pulumi-/);

        // Warm: the cache's copy is used again, still nothing beside the vendor's pulumi.
        const again = ensurePulumi();
        assert.deepEqual(files(vendor), ["pulumi"]);
        assert.match(again.find((r) => r.startsWith("pulumi|")) ?? "", /used from the cache/);
    });

    it("a vendor install with the provider host beside it: used as it is, nothing copied", () => {
        fs.writeFileSync(path.join(vendor, "pulumi-resource-pulumi-nodejs"), "#!/bin/sh\n", { mode: 0o755 });
        const report = ensurePulumi();
        assert.equal(fs.readlinkSync(path.join(repo, "bin/pulumi")), path.join(vendor, "pulumi"));
        assert.deepEqual(files(vendor), ["pulumi", "pulumi-resource-pulumi-nodejs"]);
        assert.equal(fs.existsSync(path.join(cache, "tools", `pulumi-${PULUMI_VERSION}`, "pulumi")), false);
        assert.match(report.find((r) => r.startsWith("pulumi-resource-pulumi-nodejs|")) ?? "", /beside pulumi \(.*usr-local-bin\)/);
    });
});
