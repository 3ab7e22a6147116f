/**
 * The boot test resource's provider: the methods the engine calls, around one `packer build` of
 * the boot test template. The public resource class is providers/bootTest.ts; this module is
 * loaded only to serialize these methods (once per provider source: providers/providerText.ts) and
 * by the tests.
 *
 * Verbs → actions:
 * - `check`  validates every input (providers/bootTest/inputs.ts; the launch settings by the image
 *            builder's own rules) and collects every failure naming its property; checks that the
 *            folder holds the template and the check script; hashes the run's files (`checksHash`):
 *            the folder's and the launch variables generated from the image template's own
 *            declarations (providers/bootTest/launchVariables.ts: declared once, there); runs
 *            `packer validate` on a folder assembled from them (remembered per checks hash and
 *            variables).
 *            An image id not known yet (a preview that builds the image) is no failure.
 * - `diff`   replace (test again) when the image, the checks hash, the region or the emulation
 *            limits change or are not known yet; other changes are updates that test nothing.
 * - `create` runs `packer build` of the run's folder, assembled as for check under the test's own
 *            `.build/boot-test/<run>/template` (argv array, no shell, the same runner, progress
 *            and redaction as the image build), reads the downloaded report, appends it to the
 *            test's log under .build/logs/, and fails listing every failed check and what it saw.
 * - `read`   the stored record (the test leaves nothing in the cloud to read).
 * - `update` stores settings that need no new test.
 * - `delete` nothing to delete: Packer terminated the instance and removed its key pair and
 *            security group when the test ended.
 *
 * Interrupts and the deadline behave as for the image build: SIGINT/SIGTERM are forwarded to
 * Packer, which terminates the instance and deletes the temporary key pair and security group;
 * Packer that does not stop within the grace period is killed, and what it leaves carries the
 * stack's tags, `Purpose=boot-test` and an `ExpiresAt`, for the janitor.
 *
 * Serialization rule (as for the image provider): modules are loaded inside the methods with a
 * plain `require` (`load`), the helpers are pure modules, nothing captured but plain data.
 */
import * as pulumi from "@pulumi/pulumi";
import { buildArgv, declaredVariables, packerEnv, validateArgv } from "./packer/argv";
import { graceFor, packerLines } from "./packer/lines";
import { canonicalJson, readTree, sha256Hex } from "./packer/fingerprint";
import { envSecrets, load } from "./packer/host";
import { fileStamp } from "./packer/naming";
import { progressFor } from "./packer/progress";
import { createRedactor, redactText } from "./packer/redact";
import { capturePacker, runPacker } from "./packer/run";
import { splitSecretVariables } from "./packer/secretVariables";
import { containsUnknown, type Failure } from "./packer/validate";
import {
    BOOT_TEST_TEMPLATE,
    bootTestDefaults,
    bootTestTags,
    bootTestVariables,
    checksHash,
    missingTemplateFiles,
    RETEST_FIELDS,
    testId,
    validateBootTest,
    type BootTestInputs,
} from "./bootTest/inputs";
import { imageTemplateDir, LAUNCH_VARIABLES, launchVariablesFile, runFiles, type RunFile } from "./bootTest/launchVariables";
import { failureMessage, parseReport, reportLines, verdict, type BootCheck } from "./bootTest/report";

/** Inputs as the provider sees them (after `check`). */
interface Inputs extends BootTestInputs {
    /** Set by the engine: the serialized provider. */
    __provider?: string;
    /**
     * Literal values of config keys set as secrets (`pulumi config set --secret`), a secret
     * input (encrypted in state): masked in every line this provider prints or logs.
     */
    secretValues?: string[];
}

/** Outputs: the inputs plus the test's result. @internal */
interface Outputs extends Inputs {
    checksHash: string;
    passed: boolean;
    testedAt: string;
    checks: BootCheck[];
    instanceId: string;
    testLog: string;
}

/** Output fields the provider computes (never compared as inputs). */
const COMPUTED_FIELDS: readonly string[] = ["passed", "testedAt", "checks", "instanceId", "testLog"];
/** Inputs that are no part of the test: where progress is logged. */
const NO_CHANGE_FIELDS: readonly string[] = ["resourceUrn", "secretValues"];

/** An image id that stands in for one not known yet, for `packer validate` only. */
const PLACEHOLDER_IMAGE = "ami-00000000000000000";

function say(msg: string): void {
    console.log(`boot-test: ${msg}`);
}

/** The variables the run's top-level templates declare (its own and the generated launch variables). */
function templateVariables(files: readonly RunFile[]): string[] {
    return declaredVariables(files.filter((f) => !f.path.includes("/") && f.path.endsWith(".pkr.hcl")).map((f) => f.content.toString()));
}

/**
 * What one run of the boot test folder is: its files plus `launch-variables.pkr.hcl`, generated
 * from the image template's declarations in the folder above it (providers/bootTest/
 * launchVariables.ts), and their hash; or why it cannot be assembled (a failure of templateDir).
 */
function runSource(
    fs: typeof import("node:fs"),
    templateDir: string,
): { files: RunFile[]; hash: string; reason?: undefined } | { reason: string } {
    const imageDir = imageTemplateDir(templateDir);
    const names = fs.existsSync(imageDir)
        ? fs
              .readdirSync(imageDir)
              .filter((f) => f.endsWith(".pkr.hcl"))
              .sort()
        : [];
    const launch = launchVariablesFile(
        names.map((f) => fs.readFileSync(`${imageDir}/${f}`, "utf8")),
        names.map((f) => `../${f}`).join(", ") || "..",
    );
    if (launch.text === undefined)
        return {
            reason: `the image template's folder above it ("${imageDir}") declares no variable ${launch.missing.map((v) => `"${v}"`).join(", ")}: the boot test launches with the builder's own declarations of ${LAUNCH_VARIABLES.join(", ")}; keep the boot test folder inside the image template's folder (<templateDir>/boot-test)`,
        };
    const files = runFiles(readTree(fs, templateDir), launch.text);
    return { files, hash: checksHash(files) };
}

/** Writes a run's folder afresh from its files; returns it (what Packer builds or validates). */
function writeRunDir(fs: typeof import("node:fs"), dir: string, files: readonly RunFile[]): string {
    fs.rmSync(dir, { recursive: true, force: true });
    for (const f of files) {
        const p = `${dir}/${f.path}`;
        fs.mkdirSync(p.slice(0, p.lastIndexOf("/")), { recursive: true });
        const c = f.content;
        fs.writeFileSync(p, typeof c === "string" ? c : new Uint8Array(c.buffer, c.byteOffset, c.byteLength), {
            mode: f.executable ? 0o755 : 0o644,
        });
    }
    return dir;
}

export class BootTestProvider implements pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
    /** Validates every input, hashes the checks, and lets Packer validate the template. */
    async check(_olds: Inputs, news: Inputs): Promise<pulumi.dynamic.CheckResult<Inputs>> {
        const fs = load<typeof import("node:fs")>("node:fs");
        const i: Inputs = bootTestDefaults(news as unknown as Record<string, unknown>);
        if (news.__provider !== undefined) i.__provider = news.__provider;
        // Kept through check (the engine keeps it secret: same name as the secret input).
        if (news.secretValues !== undefined) i.secretValues = news.secretValues;
        delete i.checksHash;
        const failures: Failure[] = validateBootTest(i);
        const dirFailed = failures.some((f) => f.property === "templateDir");
        let files: RunFile[] | undefined;
        if (!containsUnknown(i.templateDir) && !dirFailed) {
            if (!fs.existsSync(i.templateDir) || !fs.statSync(i.templateDir).isDirectory())
                failures.push({
                    property: "templateDir",
                    reason: `"${i.templateDir}" is not a folder under the project root: point at the boot test folder (images/aws/boot-test)`,
                });
            else {
                const missing = missingTemplateFiles(fs.readdirSync(i.templateDir));
                if (missing.length > 0)
                    failures.push({
                        property: "templateDir",
                        reason: `"${i.templateDir}" has no ${missing.join(" and no ")}: point at the boot test folder (images/aws/boot-test)`,
                    });
                else {
                    const run = runSource(fs, i.templateDir);
                    if (run.reason !== undefined) failures.push({ property: "templateDir", reason: `"${i.templateDir}": ${run.reason}` });
                    else {
                        i.checksHash = run.hash;
                        files = run.files;
                    }
                }
            }
        }
        if (failures.length > 0 || i.checksHash === undefined || files === undefined) return { inputs: i, failures };

        // Everything but the image known: let Packer check the template with a run's variables.
        const { imageId, imageName } = i;
        if (Object.entries(i).some(([k, v]) => k !== "imageId" && k !== "imageName" && containsUnknown(v))) return { inputs: i, failures };
        const dir = `.build/check/boot-test-${i.checksHash.slice(0, 12)}`;
        const probe: BootTestInputs = {
            ...i,
            imageId: containsUnknown(imageId) ? PLACEHOLDER_IMAGE : imageId,
            imageName: containsUnknown(imageName) ? "image-not-known-yet" : imageName,
        };
        const vars = bootTestVariables(
            probe,
            { reportPath: `${dir}/report.json`, tags: bootTestTags(probe, new Date(0)), temporaryKeyPairName: "packer-boot-test-validate" },
            templateVariables(files),
        );
        const validKey = sha256Hex(`${i.checksHash}\n${canonicalJson({ ...vars, image_id: "", image_name: "", tags: {} })}`);
        const stampFile = `${dir}/validated`;
        if (fs.existsSync(stampFile) && fs.readFileSync(stampFile, "utf8") === validKey) return { inputs: i, failures };
        fs.mkdirSync(dir, { recursive: true });
        const varFile = `${dir}/vars.pkrvars.json`;
        // Variables holding a value set as secret (tags) go to Packer's environment, never to a
        // file (as for the image: providers/packer/secretVariables.ts); the file is the owner's only.
        const split = splitSecretVariables(vars, envSecrets(i.secretValues));
        fs.writeFileSync(varFile, JSON.stringify(split.file, null, 2) + "\n", { mode: 0o600 });
        const cp = load<typeof import("node:child_process")>("node:child_process");
        let v: { code: number | null; stdout: string; stderr: string };
        try {
            v = await capturePacker(cp, validateArgv(varFile, writeRunDir(fs, `${dir}/template`, files)), {
                ...packerEnv(process.env, i),
                ...split.env,
            });
        } catch (e) {
            return { inputs: i, failures: [{ property: "templateDir", reason: (e as Error).message }] };
        } finally {
            fs.rmSync(varFile, { force: true });
        }
        if (v.code !== 0) {
            const text = redactText(`${v.stdout}\n${v.stderr}`, envSecrets(i.secretValues)).trim().split("\n").slice(-30).join("\n");
            failures.push({ property: "templateDir", reason: `packer validate of "${i.templateDir}" failed (exit ${v.code}):\n${text}` });
        } else fs.writeFileSync(stampFile, validKey);
        return { inputs: i, failures };
    }

    /** A new image, new checks, region or emulation limits → test again (replace); else update or nothing. */
    async diff(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
        const o = olds as unknown as Record<string, unknown>;
        const n = news as unknown as Record<string, unknown>;
        const differs = (k: string) => canonicalJson(o[k] ?? null) !== canonicalJson(n[k] ?? null) || containsUnknown(n[k]);
        const replaces = RETEST_FIELDS.filter((k) => differs(k));
        if (replaces.length > 0) {
            say(`test again: changed ${replaces.join(", ")}`);
            return { changes: true, replaces: [...replaces], deleteBeforeReplace: false };
        }
        const others = Object.keys({ ...o, ...n }).filter(
            (k) => !COMPUTED_FIELDS.includes(k) && !NO_CHANGE_FIELDS.includes(k) && differs(k),
        );
        if (others.length === 0) return { changes: false };
        return { changes: true, replaces: [], deleteBeforeReplace: false };
    }

    /** Runs the test; fails listing each failed check. Leaves nothing behind but the log and report files. */
    async create(inputs: Inputs): Promise<pulumi.dynamic.CreateResult<Outputs>> {
        const fs = load<typeof import("node:fs")>("node:fs");
        const cp = load<typeof import("node:child_process")>("node:child_process");
        const i: Inputs = bootTestDefaults(inputs as unknown as Record<string, unknown>);
        const run = runSource(fs, i.templateDir);
        if (run.reason !== undefined) throw new Error(`boot test of ${i.imageId}: templateDir "${i.templateDir}": ${run.reason}`);
        const hash = run.hash;
        const started = new Date();
        const ts = fileStamp(started);
        const id = testId(i.stack, i.imageId, hash);
        const workDir = `.build/boot-test/${i.stack}-${id}-${ts}`;
        const logPath = `.build/logs/${i.stack}-boot-test-${i.imageId}-${ts}.log`;
        const reportPath = `${workDir}/report.json`;
        fs.mkdirSync(workDir, { recursive: true });
        fs.mkdirSync(".build/logs", { recursive: true });
        // Only this run's report counts (a run in the same second has the same folder).
        fs.rmSync(reportPath, { force: true });
        const tags = bootTestTags(i, started);
        const varFile = `${workDir}/vars.pkrvars.json`;
        const vars = bootTestVariables(
            i,
            { reportPath, tags, temporaryKeyPairName: `packer-boot-test-${id}-${ts}` },
            templateVariables(run.files),
        );
        // Packer reads one folder: the boot test's files and the builder's launch variables, as hashed.
        const runDir = writeRunDir(fs, `${workDir}/template`, run.files);
        // Variables holding a value set as secret (tags) go to Packer's environment, never to a
        // file: a test killed with SIGKILL never reaches the finally that removes the file.
        const split = splitSecretVariables(vars, envSecrets(inputs.secretValues));
        fs.writeFileSync(varFile, JSON.stringify(split.file, null, 2) + "\n", { mode: 0o600 });

        const log = fs.openSync(logPath, "a");
        const progress = progressFor(i.resourceUrn, (m) => console.log(m));
        const note = (m: string) => progress.note(`boot-test: ${m}`);
        const secrets = envSecrets(inputs.secretValues);
        const redactRaw = createRedactor(secrets);
        const redact = createRedactor(secrets);
        const { onLine, tail } = packerLines({ log: (l) => fs.writeSync(log, `${l}\n`), show: (l) => progress.line(l), redactRaw, redact });
        try {
            note(
                `testing ${i.imageId} (${i.imageName}) in ${i.region}: launch, boot, ${BOOT_TEST_TEMPLATE} checks (checks ${hash.slice(0, 12)}); log: ${logPath}`,
            );
            const timeoutMs = i.timeoutMinutes * 60_000;
            const graceMs = graceFor(timeoutMs);
            const env = { ...packerEnv(process.env, i), ...split.env };
            const res = await runPacker({ cp, argv: buildArgv(varFile, runDir), env, timeoutMs, graceMs, onLine });
            // engineGone: set by the runner (providers/packer/run.ts) when the engine that asked for
            // this test died; Packer was interrupted and cleaned up.
            const engineGone = (res as { engineGone?: string }).engineGone;
            if (res.timedOut || res.interrupted || engineGone || res.code !== 0) {
                const why = engineGone
                    ? `boot test interrupted: the engine is gone (${engineGone})${res.killed ? " and Packer killed after its grace period" : ""}`
                    : res.timedOut
                      ? `boot test exceeded timeoutMinutes (${i.timeoutMinutes} min)${res.killed ? " and Packer was killed after its grace period" : ""}`
                      : res.interrupted
                        ? `boot test interrupted by ${res.interrupted}${res.killed ? " and Packer killed after its grace period" : ""}`
                        : `boot test of ${i.imageId}: packer build failed (exit ${res.code ?? res.signal})`;
                const leftovers = res.killed
                    ? `; Packer could not clean up: find what it left with npm run janitor -- --stack ${i.stack} (tag Purpose=boot-test)`
                    : "";
                note(`${why}${leftovers}`);
                throw new Error(`${why}${leftovers}; full log: ${logPath}\n${tail.join("\n")}`);
            }
            const text = fs.existsSync(reportPath) ? fs.readFileSync(reportPath, "utf8") : undefined;
            const parsed = parseReport(text);
            if (!parsed.report) {
                fs.writeSync(log, `boot-test: unreadable report ${reportPath}: ${parsed.problems.join("; ")}\n`);
                throw new Error(
                    `boot test of ${i.imageId}: unreadable report ${reportPath}: ${parsed.problems.join("; ")}; full log: ${logPath}`,
                );
            }
            const report = parsed.report;
            const lines = reportLines(report);
            fs.writeSync(
                log,
                redactText(
                    `boot-test: report ${reportPath}\n${lines.map((l) => `boot-test: ${l}`).join("\n")}\n${JSON.stringify(report, null, 2)}`,
                    secrets,
                ) + "\n",
            );
            const v = verdict(report);
            if (!v.passed) {
                const msg = failureMessage(i.imageId, report, { report: reportPath, log: logPath });
                note(msg);
                throw new Error(msg);
            }
            const skipped = report.checks.filter((c) => c.status === "skipped").length;
            note(
                `passed: ${report.checks.length - skipped} checks passed${skipped ? `, ${skipped} skipped` : ""} on ${report.instanceId || "the test instance"} (terminated); report: ${reportPath}`,
            );
            const outs: Outputs = {
                ...i,
                checksHash: hash,
                passed: true,
                testedAt: report.checkedAt || started.toISOString(),
                checks: report.checks,
                instanceId: report.instanceId,
                testLog: logPath,
            };
            if (inputs.__provider !== undefined) outs.__provider = inputs.__provider;
            return { id: `${i.imageId}-${hash.slice(0, 12)}`, outs };
        } finally {
            fs.rmSync(varFile, { force: true });
            fs.closeSync(log);
            await progress.flush();
        }
    }

    /** The stored record: a test leaves nothing in the cloud that could change. */
    async read(id: string, props?: Outputs): Promise<pulumi.dynamic.ReadResult<Outputs>> {
        return props ? { id, props } : { id };
    }

    /** Stores settings that need no new test (launch settings, tags, deadline, provider version). */
    async update(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.UpdateResult<Outputs>> {
        const n = bootTestDefaults(news as unknown as Record<string, unknown>);
        const outs: Outputs = { ...olds };
        const target = outs as unknown as Record<string, unknown>;
        for (const [k, v] of Object.entries(n)) if (!(RETEST_FIELDS as readonly string[]).includes(k)) target[k] = v;
        if (news.__provider !== undefined) outs.__provider = news.__provider;
        return { outs };
    }

    /** Nothing to delete: the test instance, key pair and security group ended with the test. */
    async delete(): Promise<void> {
        return;
    }
}

/** The one provider object every BootTest passes to the engine (its text is remembered on disk). Stateless. */
export const PROVIDER = new BootTestProvider();
