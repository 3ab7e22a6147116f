import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

/**
 * npm scripts that do not go through `with-env.sh --ensure`, why they still work on a fresh clone,
 * and text of the script they run that the reason relies on.
 */
const SELF_INSTALLING: Record<string, { why: string; file: string; needs: RegExp }> = {
    bootstrap: { why: "is the installer (npm ci included)", file: "scripts/bootstrap.sh", needs: /^\s*ensure_npm$/m },
    test: {
        why: "runs the bootstrap as its first stage",
        file: "scripts/test.sh",
        needs: /^stage bootstrap bash scripts\/bootstrap\.sh$/m,
    },
    local: {
        why: "runs the bootstrap first (unless LOCAL_SKIP_BOOTSTRAP=1), then its TypeScript entry through with-env.sh --ensure",
        file: "scripts/local/up.sh",
        needs: /^\s*bash "\$here\/\.\.\/bootstrap\.sh"$[^]*^exec bash "\$here\/\.\.\/with-env\.sh" --ensure=\S*\bpulumi\b\S*\bmoto_server\b/m,
    },
    "local:destroy": {
        why: "runs its TypeScript entry through with-env.sh --ensure",
        file: "scripts/local/destroy.sh",
        needs: /^exec bash "\$here\/\.\.\/with-env\.sh" --ensure=\S*\bpulumi\b\S*\bmoto_server\b/m,
    },
};

describe("npm scripts install what a fresh clone lacks", () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;

    for (const [name, line] of Object.entries(scripts)) {
        it(`${name}: ${SELF_INSTALLING[name]?.why ?? "goes through with-env.sh --ensure"}`, () => {
            const own = SELF_INSTALLING[name];
            if (own) {
                assert.match(line, new RegExp(`^bash ${own.file.replace(/[.]/g, "\\.")}( |$)`));
                assert.match(fs.readFileSync(path.join(ROOT, own.file), "utf8"), own.needs, `${own.file} no longer ${own.why}`);
            } else {
                assert.match(
                    line,
                    /^bash scripts\/with-env\.sh --ensure(=[a-z_-]+(,[a-z_-]+)*)? \S/,
                    `add it to SELF_INSTALLING with a reason, or run it through with-env.sh --ensure`,
                );
            }
        });
    }
    it("scripts that run a project tool ensure that tool", () => {
        for (const name of ["stack", "bench", "test:integration", "test:e2e"]) assert.match(scripts[name], /--ensure=\S*\bpulumi\b/, name);
        for (const name of ["bench", "test:integration", "test:e2e"]) assert.match(scripts[name], /--ensure=\S*\bmoto_server\b/, name);
    });
});

describe("with-env.sh --ensure (scripts/ensure-installed.sh)", () => {
    let dir: string;
    let log: string;
    const past = new Date(Date.now() - 3_600_000);
    before(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "ensure-installed-"));
        log = path.join(dir, "log");
        fs.mkdirSync(path.join(dir, "scripts"));
        for (const f of ["env.sh", "with-env.sh", "ensure-installed.sh"])
            fs.copyFileSync(path.join(ROOT, "scripts", f), path.join(dir, "scripts", f));
        // Stand-ins: npm ci writes npm's stamp; the bootstrap links the tool and prints a report.
        fs.writeFileSync(
            path.join(dir, "scripts", "bootstrap.sh"),
            `cd "$(dirname "$0")/.." && echo bootstrap >>log && mkdir -p bin && printf '#!/bin/sh\\n' >bin/faketool && chmod +x bin/faketool && echo "bootstrap report"\n`,
        );
        fs.mkdirSync(path.join(dir, "fakebin"));
        fs.writeFileSync(
            path.join(dir, "fakebin", "npm"),
            `#!/bin/sh\necho "npm $* in $(pwd)" >>"${log}"\nmkdir -p node_modules && echo {} >node_modules/.package-lock.json\necho "npm output"\n`,
            { mode: 0o755 },
        );
        fs.writeFileSync(path.join(dir, "package-lock.json"), "{}");
        fs.utimesSync(path.join(dir, "package-lock.json"), past, past);
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    const run = (...args: string[]) => {
        fs.writeFileSync(log, "");
        const stdout = execFileSync("bash", [path.join(dir, "scripts", "with-env.sh"), ...args, "sh", "-c", "echo ran"], {
            env: { PATH: `${path.join(dir, "fakebin")}:/usr/bin:/bin`, HOME: dir },
            encoding: "utf8",
            stdio: ["ignore", "pipe", "pipe"],
        });
        return { stdout, log: fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) };
    };

    it("fresh clone: npm ci in the project root, then the bootstrap for a missing tool; stdout stays the command's", () => {
        assert.deepEqual(run("--ensure=faketool"), {
            stdout: "ran\n",
            log: [`npm ci --ignore-scripts --no-audit --no-fund in ${dir}`, "bootstrap"],
        });
    });
    it("warm: neither npm ci nor the bootstrap", () => {
        assert.deepEqual(run("--ensure=faketool"), { stdout: "ran\n", log: [] });
        assert.deepEqual(run("--ensure"), { stdout: "ran\n", log: [] });
    });
    it("a package-lock.json newer than node_modules: npm ci again, no bootstrap", () => {
        const older = new Date(past.getTime() - 60_000);
        fs.utimesSync(path.join(dir, "node_modules", ".package-lock.json"), older, older);
        assert.deepEqual(run("--ensure=faketool"), { stdout: "ran\n", log: [`npm ci --ignore-scripts --no-audit --no-fund in ${dir}`] });
    });
    it("a dangling tool (emptied cache): the bootstrap again; --ensure alone never bootstraps", () => {
        fs.rmSync(path.join(dir, "bin", "faketool"));
        fs.symlinkSync(path.join(dir, "gone"), path.join(dir, "bin", "faketool"));
        assert.deepEqual(run("--ensure"), { stdout: "ran\n", log: [] });
        assert.deepEqual(run("--ensure=faketool"), { stdout: "ran\n", log: ["bootstrap"] });
    });
    it("without --ensure: runs the command only", () => {
        fs.rmSync(path.join(dir, "node_modules"), { recursive: true });
        assert.deepEqual(run(), { stdout: "ran\n", log: [] });
    });
});
