/**
 * A value set with `pulumi config set --secret` never lands in plaintext on disk: an extraTags value
 * set as secret through the CLI (the test's backend and passphrase), then up and destroy through
 * the driver; every file under the backend (state, backups, history) and under .build/ (logs,
 * Packer and check folders, the boot test's) is searched for the plaintext, after up and after
 * destroy, and so is the driver's console output. The image's own tags hold it (AWS tags are plain).
 * A second, short secret (5 characters, once below the redactor's old 6-character floor) must stay
 * out of every file too: Packer echoes tag values into the build log.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DescribeImagesCommand } from "@aws-sdk/client-ec2";

import { tagMap } from "../../providers/ec2/tags";
import { stackEnv } from "../../scripts/stack";
import { ROOT, REGION, baseConfig, driverOk, upOutputs, useWorld, writeStackConfig } from "./harness";

/** Every regular file under `dir` (none when it does not exist). */
function filesUnder(dir: string): string[] {
    if (!fs.existsSync(dir)) return [];
    const out: string[] = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...filesUnder(p));
        else if (e.isFile()) out.push(p);
    }
    return out;
}

describe("e2e: config set as secret stays secret on disk", function () {
    this.timeout(600_000);
    const { world } = useWorld("secret");
    let stack = "";
    const SECRET = `Sekr1t-${crypto.randomBytes(6).toString("hex")}`;
    // Short, and made of characters that neither hex ids nor base64 ciphertext can hold together
    // ("@" and ":" around three random letters), so a match in a file is the secret, not chance.
    const SHORT = `@${[...crypto.randomBytes(3)].map((b) => String.fromCharCode(97 + (b % 26))).join("")}:`;
    const SECRETS = [SECRET, SHORT];

    /** The folders searched: the backend (with .pulumi/backups and history) and what the build writes. */
    const searched = (): string[] => [
        world().backendDir,
        ...["logs", "packer", "check", "boot-test"].map((d) => path.join(ROOT, ".build", d)),
        path.join(ROOT, world().buildDir),
    ];
    /** `file: secret` for every file holding one of the secrets in plaintext. */
    const holding = (): string[] =>
        searched()
            .flatMap(filesUnder)
            .flatMap((f) => {
                const b = fs.readFileSync(f);
                return SECRETS.filter((x) => b.includes(x)).map((x) => `${f}: ${x === SHORT ? "the short secret" : "the secret"}`);
            });

    before(async function () {
        const w = world();
        stack = `local-e2e-${w.id}`;
        writeStackConfig(w, stack, baseConfig(w));
        // Through the CLI, as an operator would: the stack first (its passphrase salt), then the secret.
        const env = { ...process.env, ...w.env, ...stackEnv(stack, { ...process.env, ...w.env }) };
        execFileSync("pulumi", ["stack", "init", stack, "--non-interactive"], { cwd: ROOT, env, stdio: "pipe" });
        execFileSync("pulumi", ["config", "set", "--secret", "--path", "extraTags.Team", SECRET, "--stack", stack, "--non-interactive"], {
            cwd: ROOT,
            env,
            stdio: "pipe",
        });
        execFileSync("pulumi", ["config", "set", "--secret", "--path", "extraTags.Short", SHORT, "--stack", stack, "--non-interactive"], {
            cwd: ROOT,
            env,
            stdio: "pipe",
        });
        const file = fs.readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8");
        assert.ok(
            !file.includes(SECRET) && !file.includes(SHORT) && /secure:/.test(file),
            `the stack file holds the values encrypted:\n${file}`,
        );
    });

    it("up: the image carries the tag, and no file we or the engine wrote holds the plaintext", async () => {
        const out = await driverOk(world(), "up", stack);
        const image = (upOutputs(out).amiIds as Record<string, string>)[REGION];
        const r = await world().ec2.send(new DescribeImagesCommand({ ImageIds: [image] }));
        assert.equal(tagMap(r.Images?.[0]?.Tags).Team, SECRET, "the tag reached the image (AWS tags are not secret)");
        assert.equal(tagMap(r.Images?.[0]?.Tags).Short, SHORT, "the short secret's tag reached the image");
        for (const x of SECRETS)
            assert.ok(
                !out.includes(x),
                `the driver's console shows the plaintext:\n${out
                    .split("\n")
                    .filter((l) => l.includes(x))
                    .join("\n")}`,
            );
        const checkpoint = filesUnder(world().backendDir).filter((f) => f.endsWith(`${stack}.json`));
        assert.ok(checkpoint.length > 0, "no checkpoint found to search");
        assert.deepEqual(holding(), []);
        // The var files of this stack's build and check are gone.
        const varFiles = searched()
            .flatMap(filesUnder)
            .filter((f) => f.includes(stack) && f.endsWith(".pkrvars.json"));
        assert.deepEqual(varFiles, []);
    });

    it("destroy: still no file holds it (backups and history included)", async () => {
        const out = await driverOk(world(), "destroy", stack, ["--remove"]);
        for (const x of SECRETS) assert.ok(!out.includes(x));
        assert.ok(
            filesUnder(world().backendDir).some(
                (f) => f.includes(`${path.sep}backups${path.sep}`) || f.includes(`${path.sep}history${path.sep}`),
            ),
            "the backend keeps backups or history to search",
        );
        assert.deepEqual(holding(), []);
        assert.deepEqual(
            searched()
                .flatMap(filesUnder)
                .filter((f) => f.endsWith(".pkrvars.json") && fs.readFileSync(f).includes("Team")),
            [],
        );
    });
});
