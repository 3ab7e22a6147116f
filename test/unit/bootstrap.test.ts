/**
 * The bootstrap writes only into the repository and its cache: given a pulumi on PATH at the pinned
 * version in a folder of its own (as /usr/local/bin), it never writes beside it. Runs the real
 * `ensure_pulumi` of scripts/bootstrap.sh in a scratch copy of the repository's scripts, with a
 * stand-in pulumi and a stand-in @pulumi/pulumi, and lists every file under the scratch folder.
 */
import * as assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
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
        const out = execFileSync(
            "bash",
            ["-c", `source "${repo}/scripts/bootstrap.sh" && ensure_pulumi && printf '%s\\n' "\${REPORT[@]}"`],
            { env, encoding: "utf8" },
        );
        return out.trim().split("\n");
    }

    it("a pulumi on PATH without the provider host: copied into the cache with the host beside it, nothing written beside it", () => {
        const report = ensurePulumi();
        assert.deepEqual(files(vendor), ["pulumi"], "nothing written beside the vendor's pulumi");
        const cached = path.join(cache, "tools", `pulumi-${PULUMI_VERSION}`);
        assert.equal(fs.readlinkSync(path.join(repo, "bin/pulumi")), path.join(cached, "pulumi"));
        assert.ok((fs.statSync(path.join(cached, "pulumi-resource-pulumi-nodejs")).mode & 0o111) !== 0, "the host is executable");
        assert.deepEqual(
            files(tmp).filter((f) => !f.startsWith("repo/") && !f.startsWith("cache/")),
            ["usr-local-bin/pulumi"],
            "writes only in the repository and the cache",
        );
        assert.match(report.find((r) => r.startsWith("pulumi|")) ?? "", /found on PATH \(.*usr-local-bin\/pulumi\); copied into the cache/);
        assert.match(
            report.find((r) => r.startsWith("pulumi-resource-pulumi-nodejs|")) ?? "",
            /copied beside pulumi \(.*cache\/tools\/pulumi-/,
        );

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

/**
 * arm64 under user-mode emulation: `ensure_arm64_emulation` installs qemu-user-static, mounts
 * binfmt_misc and registers the package's qemu-aarch64 rule, each only when missing, and changes
 * nothing else. It runs against the real kernel: in a user and mount namespace of the test's own,
 * where binfmt_misc mounted on a scratch folder is a private instance (Linux 6.7+), so the real
 * mount and the real registration never touch this machine's. Stand-ins: dpkg-query and apt-get
 * (a package "installed" by the test), uname (an amd64 machine), and the rule's interpreter.
 */
describe("bootstrap: arm64 emulation (qemu-aarch64 through binfmt_misc), idempotent, nothing else changed", function () {
    this.timeout(60_000);
    let tmp: string;
    let repo: string;
    let fake: string;
    let binfmt: string;
    let rule: string;
    let interpreter: string;

    /** A command line in a new user namespace mapped to root, with a private mount namespace. */
    const sandboxed = ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"];
    let sandboxWorks = true;

    before(() => {
        const probe = fs.mkdtempSync(path.join(os.tmpdir(), "cbimg-binfmt-probe-"));
        try {
            execFileSync(sandboxed[0], [...sandboxed.slice(1), "mount", "-t", "binfmt_misc", "binfmt_misc", probe], { stdio: "pipe" });
        } catch {
            sandboxWorks = false;
        } finally {
            fs.rmSync(probe, { recursive: true, force: true });
        }
    });

    beforeEach(function () {
        if (!sandboxWorks) {
            this.skip(); // needs unprivileged user namespaces and a kernel with sandboxed binfmt_misc (6.7+)
        }
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cbimg-bootstrap-arm64-"));
        repo = path.join(tmp, "repo");
        for (const f of ["scripts/bootstrap.sh", "scripts/env.sh", "scripts/ensure-installed.sh", "tools/versions.env"]) {
            fs.mkdirSync(path.dirname(path.join(repo, f)), { recursive: true });
            fs.copyFileSync(path.join(ROOT, f), path.join(repo, f));
        }
        fake = path.join(tmp, "fake");
        fs.mkdirSync(path.join(fake, "bin"), { recursive: true });
        fs.mkdirSync(path.join(fake, "state"));
        const state = path.join(fake, "state");
        // dpkg-query: qemu-user-static is installed once apt-get installed it.
        fs.writeFileSync(
            path.join(fake, "bin", "dpkg-query"),
            `#!/bin/sh\n[ -e ${state}/installed ] || exit 1\ncase "$*" in *Status*) echo 'install ok installed' ;; *Version*) echo '1:7.2+test' ;; esac\n`,
            { mode: 0o755 },
        );
        fs.writeFileSync(
            path.join(fake, "bin", "apt-get"),
            `#!/bin/sh\necho "$*" >>${state}/apt-get\ncase "$*" in *install*) touch ${state}/installed ;; esac\n`,
            { mode: 0o755 },
        );
        fs.writeFileSync(path.join(fake, "bin", "uname"), "#!/bin/sh\necho x86_64\n", { mode: 0o755 });
        interpreter = path.join(fake, "qemu-aarch64-stand-in");
        fs.writeFileSync(interpreter, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
        // The package's rule, as /usr/lib/binfmt.d/qemu-aarch64.conf has it, with the stand-in interpreter.
        rule = path.join(fake, "qemu-aarch64.conf");
        const magic = "\\x7f\\x45\\x4c\\x46\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00";
        const mask = "\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff";
        fs.writeFileSync(rule, `# a comment line first\n:qemu-aarch64:M::${magic}:${mask}:${interpreter}:OPF\n`);
        binfmt = path.join(tmp, "binfmt_misc");
        fs.mkdirSync(binfmt);
    });

    afterEach(() => {
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    /** Runs `script` (bash, bootstrap.sh sourced) in the sandbox; returns stdout and stderr, and the exit status. */
    function inSandbox(script: string, extraPath: string[] = []): { out: string; status: number } {
        const env: Record<string, string> = {
            PATH: [
                ...extraPath,
                path.join(fake, "bin"),
                path.dirname(process.execPath),
                "/usr/local/sbin",
                "/usr/sbin",
                "/usr/bin",
                "/sbin",
                "/bin",
            ].join(":"),
            HOME: tmp,
            COUCHBASE_IMAGES_CACHE: path.join(tmp, "cache"),
            BOOTSTRAP_BINFMT_DIR: binfmt,
            BOOTSTRAP_QEMU_RULE: rule,
        };
        const r = spawnSync(sandboxed[0], [...sandboxed.slice(1), "bash", "-c", `source "${repo}/scripts/bootstrap.sh" && ${script}`], {
            env,
            encoding: "utf8",
        });
        return { out: `${r.stdout}${r.stderr}`, status: r.status ?? -1 };
    }

    const report = `{ ensure_arm64_emulation 2>&1; } && printf '%s\\n' "\${REPORT[@]}" && cat "${"$"}BOOTSTRAP_BINFMT_DIR/qemu-aarch64" && ls "${"$"}BOOTSTRAP_BINFMT_DIR"`;

    it("cold: installs the package without recommends, mounts binfmt_misc, registers the rule; warm: finds it and changes nothing", () => {
        const hostBefore = fs.existsSync("/proc/sys/fs/binfmt_misc") ? fs.readdirSync("/proc/sys/fs/binfmt_misc").sort() : [];
        // Both runs in one namespace: the second sees what the first mounted and registered.
        const { out, status } = inSandbox(`${report} && echo ==== && REPORT=() && ${report}`);
        assert.equal(status, 0, out);
        const [cold, warm] = out.split("====\n");
        assert.deepEqual(
            fs
                .readFileSync(path.join(fake, "state", "apt-get"), "utf8")
                .trim()
                .split("\n"),
            ["update -qq", "install -y -qq --no-install-recommends qemu-user-static"],
        );
        assert.match(
            cold,
            new RegExp(
                `^qemu-aarch64\\|1:7\\.2\\+test \\(flags [A-Z]*F[A-Z]*\\)\\|installed qemu-user-static \\(apt\\); mounted binfmt_misc on ${binfmt}; registered qemu-aarch64 \\(${rule}\\) \\(${interpreter}\\)$`,
                "m",
            ),
        );
        assert.match(cold, /^enabled$/m, "the kernel registered it, enabled");
        assert.match(cold, new RegExp(`^interpreter ${interpreter}$`, "m"));
        assert.match(cold, /^magic 7f454c460201010000000000000000000200b700$/m, "the rule's own magic (the aarch64 ELF header)");
        assert.match(
            warm,
            new RegExp(`^qemu-aarch64\\|1:7\\.2\\+test \\(flags [A-Z]*F[A-Z]*\\)\\|found registered \\(${interpreter}\\)$`, "m"),
        );
        assert.doesNotMatch(warm, /installing|mounted binfmt_misc on|registered qemu-aarch64 with/, "the warm run did nothing");
        assert.deepEqual(warm.trim().split("\n").slice(-3), ["qemu-aarch64", "register", "status"], "one rule registered, no other");
        // Nothing else written: the scratch folder holds only what the test made, the apt-get log and the package stamp.
        assert.deepEqual(
            files(tmp).filter((f) => !f.startsWith("repo/")),
            [
                "fake/bin/apt-get",
                "fake/bin/dpkg-query",
                "fake/bin/uname",
                "fake/qemu-aarch64-stand-in",
                "fake/qemu-aarch64.conf",
                "fake/state/apt-get",
                "fake/state/installed",
            ],
        );
        const hostAfter = fs.existsSync("/proc/sys/fs/binfmt_misc") ? fs.readdirSync("/proc/sys/fs/binfmt_misc").sort() : [];
        assert.deepEqual(hostAfter, hostBefore, "this machine's binfmt_misc is untouched");
    });

    it("a qemu-aarch64 rule already registered without flag F: refused with the fix, left as it is", () => {
        fs.writeFileSync(path.join(fake, "state", "installed"), "");
        const { out, status } = inSandbox(
            `mount -t binfmt_misc binfmt_misc "$BOOTSTRAP_BINFMT_DIR" && printf '%s\\n' "$(grep '^:' "$BOOTSTRAP_QEMU_RULE" | sed 's/:OPF$/:OP/')" >"$BOOTSTRAP_BINFMT_DIR/register" && ` +
                `{ (ensure_arm64_emulation) || echo "exit $?"; grep '^flags' "$BOOTSTRAP_BINFMT_DIR/qemu-aarch64"; }`,
        );
        assert.equal(status, 0, out);
        assert.match(
            out,
            /registered without flag F \(flags 'PO'.*replace it: echo -1 > .*qemu-aarch64 && sudo bash scripts\/bootstrap\.sh/,
        );
        assert.match(out, /^exit 1$/m);
        assert.match(out, /^flags: PO$/m, "the existing rule was not changed");
        assert.equal(fs.existsSync(path.join(fake, "state", "apt-get")), false, "nothing installed");
    });

    it("not root and the package missing: fails naming the command to run, installs nothing", () => {
        fs.writeFileSync(path.join(fake, "bin", "id"), "#!/bin/sh\necho 1000\n", { mode: 0o755 });
        const { out, status } = inSandbox("ensure_arm64_emulation");
        assert.equal(status, 1, out);
        assert.match(
            out,
            /qemu-user-static is missing .*run: sudo apt-get install -y --no-install-recommends qemu-user-static, then sudo bash scripts\/bootstrap\.sh/,
        );
        assert.equal(fs.existsSync(path.join(fake, "state", "apt-get")), false);
        assert.deepEqual(fs.readdirSync(binfmt), [], "nothing mounted");
    });
});
