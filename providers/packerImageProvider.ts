/**
 * The image resource's provider: the methods the engine calls, around `packer build`. The public
 * resource class is providers/packerImage.ts; this module is loaded only to serialize these methods
 * (once per provider source: providers/providerText.ts) and by the tests.
 *
 * Verbs → actions:
 * - `check`  validates every input (providers/packer/validate.ts), checks the template, the agent
 *            artifact and its sha256 on disk, computes the input fingerprint and runs
 *            `packer validate` with the resolved variables, so a broken template fails at preview.
 * - `diff`   compares fingerprints: equal → `changes: false`; different → replace, naming the parts
 *            that changed; provider code/version only → an update that rebuilds nothing.
 * - `create` adopts an available image with the same Fingerprint and Stack tags, this build's exact
 *            name and every volume encrypted (providers/packer/adopt.ts), else runs
 *            `packer build -machine-readable` (argv array, no shell), streams redacted output live
 *            and to `.build/logs/…`, reads the image id from a fresh manifest, describes the image
 *            for its snapshots; deletes the image again if anything fails after it exists.
 * - `read`   reports an image deleted out of band as gone (`id: ""`), so `refresh` drops it.
 * - `update` only for changes that need no rebuild (tags, operational settings, provider version).
 * - `delete` deregisters the image and deletes its snapshots (providers/ec2/images.ts).
 *
 * Serialization rule: every method is serialized into state (`__provider`). Methods load
 * `node:*` modules and the AWS SDK inside the method (`load`, a plain `require`), capture only
 * plain data, and the helpers they call are pure modules. No credentials, no absolute paths, no
 * SDK clients at module scope. Why `require` and not `await import()`: TypeScript compiles the
 * latter through `__importStar`, whose cached `ownKeys` changes on first use, so the serialized
 * text (and with it `diff`) would depend on whether a method already ran in the program's process.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { ec2Client } from "./ec2/client";
import { deleteImageAndSnapshots, describeImage, findImagesByTags, type ImageSummary } from "./ec2/images";
import { inventory, listSnapshots } from "./ec2/inventory";
import { deleteKeyPair, deleteSecurityGroup, terminateInstances } from "./ec2/leftovers";
import { withRetry } from "./ec2/retry";
import { TAG, tagList } from "./ec2/tags";
import { buildArgv, declaredVariables, packerEnv, packerVariables, parseMachineLine, parsePackerVersion, parsePluginVersion, readableLine, validateArgv } from "./packer/argv";
import { canonicalJson, changedParts, computeFingerprint, partProperty, readTree, sha256Hex, type FileEntry, type FingerprintSources } from "./packer/fingerprint";
import { IMAGE_IGNORE_FILE, imageFileFilter } from "./packer/imageFiles";
import { parseManifest } from "./packer/manifest";
import { progressFor } from "./packer/progress";
import { adoptTags, buildId, imageName, imageTags } from "./packer/naming";
import { adoptProblem } from "./packer/adopt";
import { createRedactor, redactText } from "./packer/redact";
import { watchEngine, type EngineWatchdog } from "./packer/engine";
import { capturePacker, runPacker } from "./packer/run";
import { buildFields, type BaseImage, type ResolvedImageInputs } from "./packer/types";
import { applyDefaults, containsUnknown, resolvePackageSha256, validateInputs, type Failure } from "./packer/validate";

/** Resolved inputs as the provider sees them (after `check`). */
interface Inputs extends ResolvedImageInputs {
    /** Computed by `check`: sha256 of the whole build-defining input set. */
    fingerprint?: string;
    /** Computed by `check`: part name → sha256, so a diff can name what changed. */
    fingerprintParts?: Record<string, string>;
    /** Set by the engine: the serialized provider. */
    __provider?: string;
    /**
     * Literal values of config keys set as secrets (`pulumi config set --secret`), a secret
     * input (encrypted in state): masked in every line this provider prints or logs. Not part
     * of the image.
     */
    secretValues?: string[];
}

/** Outputs: the inputs plus what the build produced. @internal */
interface Outputs extends Inputs {
    imageId: string;
    imageName: string;
    snapshotIds: string[];
    fingerprint: string;
    fingerprintParts: Record<string, string>;
    packerVersion: string;
    pluginVersion: string;
    createdAt: string;
    tags: Record<string, string>;
    /** Project-relative path of the build log (empty when the image was adopted). */
    buildLog: string;
    /**
     * Set by `read` (refresh) when the image was deregistered out of band but snapshots of it
     * remain: the resource stays in state so the next `up` (a rebuild) or `destroy` deletes them.
     */
    deregistered?: boolean;
}

/**
 * Loads a module inside a method: a plain CommonJS `require` (no interop helper with hidden state),
 * typed by the caller. Serialized as `require(name)`, resolved by the provider host.
 */
function load<T>(name: string): T {
    return require(name) as T;
}

/** Output fields the provider computes (never compared as inputs). */
const COMPUTED_FIELDS: readonly string[] = [
    "imageId",
    "imageName",
    "snapshotIds",
    "fingerprint",
    "fingerprintParts",
    "packerVersion",
    "pluginVersion",
    "createdAt",
    "tags",
    "buildLog",
    "deregistered",
];

/** Fields whose change re-tags the image (update, no rebuild). The tags come from naming.ts `imageTags`. */
const TAG_FIELDS: readonly string[] = ["owner", "environment", "ttlHours", "extraTags"];

/**
 * Inputs that are no part of the image, so a change is no change at all: the copy regions (used
 * only by `check`, validated against the build region; the copies are the program's AmiCopy
 * resources) and the resource's own URN (where build progress is logged).
 */
const NO_CHANGE_FIELDS: readonly string[] = ["copyRegions", "resourceUrn", "secretValues"];

/**
 * Everything the fingerprint needs from disk and from Packer itself. Of the template folder, only
 * the files that go into the image: its `.imageignore` (absent: every file counts) leaves out the
 * folder's CI script, README and test fixtures.
 */
async function fingerprintSources(i: ResolvedImageInputs, tools: { packer: string; plugin: string }): Promise<FingerprintSources> {
    const fs = load<typeof import("node:fs")>("node:fs");
    const packageFiles =
        i.couchbasePackageSource === "repository" || i.couchbasePackageSource === "download" ? [] : readTree(fs, i.couchbasePackageSource).filter((f) => f.path.endsWith(".deb"));
    const ignorePath = `${i.templateDir}/${IMAGE_IGNORE_FILE}`;
    const ignoreText = fs.existsSync(ignorePath) ? fs.readFileSync(ignorePath, "utf8") : "";
    return {
        templateFiles: readTree(fs, i.templateDir, imageFileFilter(ignoreText)),
        agentUnit: fs.readFileSync(i.agentUnit),
        packageFiles,
        packerVersion: tools.packer,
        pluginVersion: tools.plugin,
    };
}

/** Packer's and the amazon plugin's versions, from the `packer` on PATH. */
async function toolVersions(env: Record<string, string>): Promise<{ packer: string; plugin: string }> {
    const fs = load<typeof import("node:fs")>("node:fs");
    // Asking Packer costs two processes (~0.3 s) on every check and create; the answer only changes
    // when the packer binary or the plugin folder does, so remember it under their identity.
    const key = toolsKey(env);
    const cacheFile = ".build/check/tools.json";
    if (key) {
        try {
            const c = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { key: string; packer: string; plugin: string };
            if (c.key === key && c.packer && c.plugin) return { packer: c.packer, plugin: c.plugin };
        } catch {
            /* no cache yet */
        }
    }
    const cp = load<typeof import("node:child_process")>("node:child_process");
    const [v, p] = await Promise.all([capturePacker(cp, ["version"], env), capturePacker(cp, ["plugins", "installed"], env)]);
    const packer = parsePackerVersion(v.stdout);
    if (v.code !== 0 || !packer) throw new Error(`packer version failed (exit ${v.code}): ${redactText(v.stdout + v.stderr).trim()}`);
    const plugin = parsePluginVersion(p.stdout) ?? "none";
    if (key) {
        fs.mkdirSync(".build/check", { recursive: true });
        fs.writeFileSync(cacheFile, JSON.stringify({ key, packer, plugin }));
    }
    return { packer, plugin };
}

/**
 * Identity of the tools `packer version` and `packer plugins installed` describe: the real path,
 * size and mtime of the `packer` found on PATH, and every file (path, size, mtime) under
 * PACKER_PLUGIN_PATH. Undefined (no caching) when packer is not on PATH or plugins live in
 * Packer's default folders.
 */
function toolsKey(env: Record<string, string>): string | undefined {
    const fs = load<typeof import("node:fs")>("node:fs");
    const path = load<typeof import("node:path")>("node:path");
    const pluginDir = env.PACKER_PLUGIN_PATH;
    if (!pluginDir) return undefined;
    let exe: string | undefined;
    for (const dir of (env.PATH ?? "").split(":")) {
        const f = path.join(dir || ".", "packer");
        try {
            fs.accessSync(f, fs.constants.X_OK);
            if (fs.statSync(f).isFile()) {
                exe = fs.realpathSync(f);
                break;
            }
        } catch {
            /* not here */
        }
    }
    if (!exe) return undefined;
    const st = fs.statSync(exe);
    const plugins: string[] = [];
    const walk = (dir: string): void => {
        let entries: import("node:fs").Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries.sort((x, y) => (x.name < y.name ? -1 : 1))) {
            const f = path.join(dir, e.name);
            if (e.isDirectory()) walk(f);
            else {
                const s = fs.statSync(f);
                plugins.push(`${f}:${s.size}:${s.mtimeMs}`);
            }
        }
    };
    walk(pluginDir);
    return JSON.stringify({ exe, size: st.size, mtime: st.mtimeMs, pluginDir, plugins });
}

/** The declared variables of the template folder's top-level `*.pkr.hcl` files, as read for the fingerprint. */
function templateVariables(templateFiles: readonly FileEntry[]): string[] {
    return declaredVariables(templateFiles.filter((f) => !f.path.includes("/") && f.path.endsWith(".pkr.hcl")).map((f) => f.content.toString()));
}

/**
 * Literal secret values that must never be printed: the environment's credentials and the
 * values of config keys set as secrets (`secretValues`, when the inputs carry them).
 */
function envSecrets(secretValues?: unknown): string[] {
    const fromConfig = Array.isArray(secretValues) ? secretValues.filter((v): v is string => typeof v === "string") : [];
    return ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "PKR_VAR_ssh_password"]
        .map((k) => process.env[k] ?? "")
        .concat(fromConfig)
        .filter((v) => v !== "");
}

/** Writes a line to the console, prefixed, so it streams live into `pulumi up`. */
function say(msg: string): void {
    console.log(`packer-image: ${msg}`);
}

/** `2026-11-25T12:00:00Z` → `20261125T120000Z` (for file names). */
function stamp(d: Date): string {
    return d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}Z$/, "Z");
}

/**
 * Image ids a Packer output line says the build made: `AMI: ami-…` (CreateImage's result, printed
 * before the wait for it) and `Modifying attributes on AMI (ami-…)` / `Adding tags to AMI (ami-…)`
 * (the encrypted copy), in Packer's own `-machine-readable` `ui,say` lines (not a provisioner's
 * output). Never the base image (`Found Image ID: ami-…`). Pure.
 */
export function madeImageIds(line: string): string[] {
    const out: string[] = [];
    for (const re of [/,ui,say,==> [\w.-]+: AMI: (ami-[0-9a-f]{8,17})$/, /,ui,say,==> [\w.-]+: (?:Modifying attributes on|Adding tags to) AMI \((ami-[0-9a-f]{8,17})\)/]) {
        const m = re.exec(line);
        if (m) out.push(m[1]);
    }
    return out;
}

/**
 * What a SIGKILLed Packer could not clean up: its builder instances (terminated and waited for),
 * then its temporary security groups and key pairs, found by this build's tags (Packer's run tags)
 * and the key pair's name. Best effort: a failure is noted, and the janitor finds what is left.
 */
async function removeBuilder(ec2: EC2Client, buildTags: Record<string, string>, keyPairName: unknown, note: (m: string) => void): Promise<void> {
    try {
        const left = await inventory(ec2, { tags: buildTags, ids: typeof keyPairName === "string" && keyPairName ? [keyPairName] : [] }, { log: note });
        const ids = left.instances.filter((x) => x.state !== "terminated").map((x) => x.id);
        if (ids.length) note(`Packer was killed before its cleanup: terminating ${ids.join(", ")}`);
        await terminateInstances(ec2, ids, { retry: { log: note }, pollMs: 500 });
        for (const g of left.securityGroups) {
            note(`deleting temporary security group ${g.id}`);
            await deleteSecurityGroup(ec2, g.id, { log: note });
        }
        for (const k of left.keyPairs) {
            note(`deleting temporary key pair ${k.name}`);
            await deleteKeyPair(ec2, { name: k.name }, { log: note });
        }
    } catch (e) {
        note(`could not remove the builder (the janitor will): ${(e as Error).message}`);
    }
}

/** Waits for a freshly created image to become visible and available (eventual consistency). */
async function waitForImage(ec2: EC2Client, imageId: string, deadline: number, engine?: EngineWatchdog): Promise<ImageSummary> {
    for (let attempt = 1; ; attempt++) {
        if (engine?.gone) throw new Error(`stopped waiting for ${imageId}: ${engine.gone}`);
        const img = await describeImage(ec2, imageId, { log: say });
        if (img && img.state === "available") return img;
        if (img && (img.state === "failed" || img.state === "error")) throw new Error(`image ${imageId} is in state ${img.state}`);
        if (Date.now() > deadline) throw new Error(`image ${imageId} is ${img ? img.state : "not visible"} after waiting`);
        await new Promise((r) => setTimeout(r, Math.min(15_000, 250 * 2 ** Math.min(attempt, 6))));
    }
}

/**
 * Adopts or builds the image (the body of `create`). Transactional: on failure nothing this call
 * made is left. With `engine` (inside a provider host), a build whose engine is gone is
 * interrupted and cleaned up, and nothing is returned to an engine that can no longer record it.
 */
async function createImage(inputs: Inputs, engine: EngineWatchdog | undefined): Promise<pulumi.dynamic.CreateResult<Outputs>> {
    const fs = load<typeof import("node:fs")>("node:fs");
    const cp = load<typeof import("node:child_process")>("node:child_process");
    const i: Inputs = applyDefaults(inputs as unknown as Record<string, unknown>);
    const env = packerEnv(process.env, i);
    const tools = await toolVersions(env);
    const src = await fingerprintSources(i, tools);
    const fp = computeFingerprint(i, src);
    const fp12 = fp.fingerprint.slice(0, 12);
    const started = new Date();
    const name = imageName(i.namePrefix, i.release || i.stack, fp.fingerprint);
    const tags = imageTags(i, name, fp.fingerprint, started);
    const ec2 = await ec2Client(i.region, i.ec2Endpoint);
    const base = { ...i, fingerprint: fp.fingerprint, fingerprintParts: fp.parts, packerVersion: tools.packer, pluginVersion: tools.plugin };

    // Adopt: an available image with the same fingerprint for this stack is this build's result.
    // Only this build's own result: its exact name, every volume encrypted (providers/packer/adopt.ts).
    const existing = (await findImagesByTags(ec2, adoptTags(i.stack, fp.fingerprint), { log: say })).filter((img) => {
        const why = adoptProblem(img, name, !i.emulator);
        if (why && img.state === "available") say(`not adopting ${img.id}: ${why}`);
        return why === undefined;
    });
    if (existing.length > 0) {
        const img = existing[0];
        say(`adopting existing image ${img.id} (${img.name}) with fingerprint ${fp12}: no build needed`);
        // An engine that is gone cannot record it; the image stays for the next up (or the janitor).
        const gone = await engine?.check();
        if (gone) throw new Error(`not adopting ${img.id}: ${gone}`);
        const outs = {
            ...base,
            imageId: img.id,
            imageName: img.name,
            snapshotIds: img.snapshotIds,
            createdAt: img.creationDate ?? started.toISOString(),
            tags: img.tags,
            buildLog: "",
        } satisfies Outputs;
        return { id: img.id, outs };
    }

    // Build.
    const ts = stamp(started);
    const workDir = `.build/packer/${i.stack}-${fp12}-${ts}`;
    const logPath = `.build/logs/${i.stack}-${fp12}-${ts}.log`;
    fs.mkdirSync(workDir, { recursive: true });
    fs.mkdirSync(".build/logs", { recursive: true });
    const manifestPath = `${workDir}/manifest.json`;
    const varFile = `${workDir}/vars.pkrvars.json`;
    const vars = packerVariables(
        i,
        { imageName: name, tags, manifestPath, temporaryKeyPairName: `packer-${buildId(i.stack, fp.fingerprint)}-${ts}` },
        templateVariables(src.templateFiles),
    );
    // The variables may hold values set as secrets (tags): readable by the owner only, and gone
    // once Packer has read them (the finally below), so they never outlive the build.
    fs.writeFileSync(varFile, JSON.stringify(vars, null, 2) + "\n", { mode: 0o600 });
    const log = fs.openSync(logPath, "a");
    const watched = engine?.config.ancestor ? `engine process ${engine.config.ancestor.pid}` : engine?.config.address ? `engine at ${engine.config.address}` : undefined;
    fs.writeSync(log, `packer-image: ${watched ? `watching ${watched}: the build stops if it goes away` : "not inside a provider host: no engine watch"}\n`);
    const unwatch = engine?.onGone((reason) => fs.writeSync(log, `packer-image: ${reason}: interrupting Packer\n`));
    // Packer's lines live on the image's row only; the summary keeps the notes (log path, result).
    const progress = progressFor(i.resourceUrn ?? "", (m) => console.log(m));
    // Notes go to the build log too: once the engine is gone, that file is all that remains.
    const note = (m: string) => {
        progress.note(`packer-image: ${m}`);
        try {
            fs.writeSync(log, `packer-image: ${m}\n`);
        } catch {
            // the log is closed (the build is over)
        }
    };
    // Two redactors: the raw line (log file) and its readable form (console) are separate streams.
    const redactRaw = createRedactor(envSecrets(inputs.secretValues));
    const redact = createRedactor(envSecrets(inputs.secretValues));
    const tail: string[] = [];
    let artifactId: string | undefined;
    // Images Packer said it made (the intermediate one while pending, the encrypted copy): on the
    // emulator they carry no tags until the wait ends, so a cleanup by tags alone would miss them.
    const madeImages = new Set<string>();
    const onLine = (raw: string, stream: "stdout" | "stderr") => {
        const parsed = parseMachineLine(raw);
        if (parsed?.type === "artifact" && parsed.data[1] === "id" && parsed.data[2]) artifactId = parsed.data[2];
        for (const id of madeImageIds(raw)) madeImages.add(id);
        const text = parsed ? readableLine(parsed) : raw;
        const clean = redactRaw(raw);
        fs.writeSync(log, `${stream === "stderr" ? "stderr: " : ""}${clean}\n`);
        if (text === undefined) return;
        for (const l of text.split("\n")) {
            const r = redact(l);
            tail.push(r);
            if (tail.length > 20) tail.shift();
            progress.line(`packer: ${r}`);
        }
    };
    note(`building ${name} in ${i.region} (fingerprint ${fp12}); log: ${logPath}`);
    const timeoutMs = i.buildTimeoutMinutes * 60_000;
    const graceMs = Math.min(120_000, Math.max(2_000, timeoutMs / 4));
    let imageId: string | undefined;
    const artifactImage = () => (artifactId ? /ami-[0-9a-f]+/.exec(artifactId)?.[0] : undefined);
    const cleanup = async (why: string): Promise<string | undefined> => {
        const id = imageId ?? artifactImage();
        const leftovers = (await findImagesByTags(ec2, { ...adoptTags(i.stack, fp.fingerprint), [TAG.buildId]: tags[TAG.buildId] }, { log: note }).catch(() => [])).map((x) => x.id);
        const ids = [...new Set([...(id ? [id] : []), ...leftovers, ...madeImages])];
        for (const x of ids) {
            if (madeImages.has(x) && !leftovers.includes(x) && x !== id) {
                // Known only from Packer's output: never delete an image tagged for someone else.
                const found = await describeImage(ec2, x, { log: note });
                if (!found) continue;
                const t = found.tags;
                if (Object.keys(t).length > 0 && (t[TAG.project] !== tags[TAG.project] || t[TAG.stack] !== i.stack)) continue;
            }
            note(`${why}: deleting image ${x} and its snapshots`);
            await deleteImageAndSnapshots(ec2, x, { log: note });
        }
        return ids[0];
    };
    // Set once a failed build has been cleaned up, so the outer catch does not clean up twice.
    let cleanedUp = false;
    try {
        // Engine gone: 3 s for Packer's own cleanup (it first waits for a running provisioner
        // command, which may take minutes), then SIGKILL and removeBuilder() below.
        const res = await runPacker({ cp, argv: buildArgv(varFile, i.templateDir), env, timeoutMs, graceMs, engineGraceMs: 3000, onLine, engine: engine ?? false });
        if (res.engineGone) fs.writeSync(log, `packer-image: Packer exited (${res.code ?? res.signal}${res.killed ? ", killed after the grace period" : ""})\n`);
        if (res.killed) await removeBuilder(ec2, { [TAG.project]: tags[TAG.project], [TAG.stack]: i.stack, [TAG.buildId]: tags[TAG.buildId] }, vars.temporary_key_pair_name, note);
        if (res.engineGone) note(`the engine is gone (${res.engineGone}): Packer was interrupted${res.killed ? ", then killed; its builder removed by the provider" : " and cleaned up"}`);
        if (res.engineGone || res.timedOut || res.interrupted || res.code !== 0) {
            const why = res.engineGone
                ? `packer build interrupted: ${res.engineGone}${res.killed ? "; killed after its grace period" : ""}`
                : res.timedOut
                ? `packer build exceeded buildTimeoutMinutes (${i.buildTimeoutMinutes} min)${res.killed ? " and was killed after its grace period" : ""}`
                : res.interrupted
                  ? `packer build interrupted by ${res.interrupted}${res.killed ? " and killed after its grace period" : ""}`
                  : `packer build failed (exit ${res.code ?? res.signal})`;
            await cleanup(why);
            cleanedUp = true;
            throw new Error(`${why}; full log: ${logPath}\n${tail.join("\n")}`);
        }
        const manifestText = fs.existsSync(manifestPath) ? fs.readFileSync(manifestPath, "utf8") : undefined;
        try {
            imageId = parseManifest(manifestText, { region: i.region, notBefore: Math.floor(started.getTime() / 1000) - 5 }).imageId;
        } catch (e) {
            throw new Error(`cannot read the image id from ${manifestPath}: ${(e as Error).message}`);
        }
        const img = await waitForImage(ec2, imageId, Date.now() + 5 * 60_000, engine);
        // Packer finished, but an engine that is gone cannot record the image: delete it (the outer catch).
        const gone = await engine?.check();
        if (gone) throw new Error(`built ${imageId}, but ${gone}: nobody can record it`);
        note(`built ${imageId} (${img.name}), snapshots ${img.snapshotIds.join(", ") || "none"}`);
        const outs = {
            ...base,
            imageId,
            imageName: img.name || name,
            snapshotIds: img.snapshotIds,
            createdAt: started.toISOString(),
            tags,
            buildLog: logPath,
        } satisfies Outputs;
        return { id: imageId, outs };
    } catch (e) {
        const msg = (e as Error).message;
        if (!cleanedUp) {
            try {
                await cleanup("build failed after the image existed");
            } catch (ce) {
                // The image could not be deleted: record it as a partially created resource so the
                // engine keeps it in state and a later destroy (or up) deletes it.
                const id = imageId ?? artifactImage() ?? "";
                if (id) {
                    const err = new Error(`${msg}; and deleting image ${id} failed: ${(ce as Error).message}`) as Error & {
                        id?: string;
                        properties?: Record<string, unknown>;
                        reasons?: string[];
                    };
                    err.id = id;
                    err.properties = { ...base, imageId: id, imageName: name, snapshotIds: [], createdAt: started.toISOString(), tags, buildLog: logPath, __provider: inputs.__provider };
                    err.reasons = [msg];
                    throw err;
                }
            }
        }
        throw e;
    } finally {
        unwatch?.();
        fs.rmSync(varFile, { force: true });
        fs.closeSync(log);
        await progress.flush();
    }
}

export class PackerImageProvider implements pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
    /**
     * Validates and normalizes inputs; verifies files and the agent sha256; fingerprints; runs
     * `packer validate`. Failures name the property and the fix.
     */
    async check(_olds: Inputs, news: Inputs): Promise<pulumi.dynamic.CheckResult<Inputs>> {
        const fs = load<typeof import("node:fs")>("node:fs");
        // Download mode without a pin: the sha256 from the project's table (before the rules, which
        // then find a value, or say that neither the table nor the stack has one).
        const i: Inputs = resolvePackageSha256(applyDefaults(news as unknown as Record<string, unknown>));
        // Kept through check (the engine keeps it secret: same name as the secret input).
        if (news.secretValues !== undefined) i.secretValues = news.secretValues;
        const failures: Failure[] = validateInputs(i);
        const failed = (p: string) => failures.some((f) => f.property === p || f.property.startsWith(`${p}.`) || f.property.startsWith(`${p}[`));
        const known = (p: keyof ResolvedImageInputs) => !containsUnknown(i[p]) && !failed(p);

        if (known("templateDir")) {
            if (!fs.existsSync(i.templateDir) || !fs.statSync(i.templateDir).isDirectory())
                failures.push({ property: "templateDir", reason: `"${i.templateDir}" is not a folder under the project root: point at the folder holding the *.pkr.hcl template` });
            else if (!fs.readdirSync(i.templateDir).some((f) => f.endsWith(".pkr.hcl")))
                failures.push({ property: "templateDir", reason: `"${i.templateDir}" holds no *.pkr.hcl template` });
        }
        if (known("agentUnit") && !fs.existsSync(i.agentUnit))
            failures.push({ property: "agentUnit", reason: `"${i.agentUnit}" does not exist: point at the agent's systemd unit (agent/dp-agent.service)` });
        if (known("couchbasePackageSource") && i.couchbasePackageSource !== "repository" && i.couchbasePackageSource !== "download") {
            const dir = i.couchbasePackageSource;
            if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory() || !fs.readdirSync(dir).some((f) => f.endsWith(".deb")))
                failures.push({ property: "couchbasePackageSource", reason: `"${dir}" is not a folder holding a couchbase-server .deb: build one (scripts/local/standin-couchbase.sh --out ${dir}) or use "download"` });
        }
        // An unknown sha256 means the artifact is made by a step that has not run yet (the agent's
        // command resource at preview, or on a checkout where it will rebuild): the file cannot
        // exist yet, so only a known sha256 makes its absence an error.
        if (known("agentArtifact") && known("agentSha256")) {
            if (!fs.existsSync(i.agentArtifact) || !fs.statSync(i.agentArtifact).isFile())
                failures.push({ property: "agentArtifact", reason: `"${i.agentArtifact}" does not exist: build it with agent/build.sh --out <dir>` });
            else {
                const actual = sha256Hex(fs.readFileSync(i.agentArtifact));
                if (actual !== i.agentSha256)
                    failures.push({ property: "agentSha256", reason: `does not match "${i.agentArtifact}" (its sha256 is ${actual}): rebuild the artifact or update the sha256 (the .sha256 file next to it)` });
            }
        }
        if (failures.length > 0 || containsUnknown(i)) return { inputs: i, failures };

        // Everything known and sound: fingerprint, then let Packer validate the template with the
        // variables a build would use.
        const env = packerEnv(process.env, i);
        let tools: { packer: string; plugin: string };
        try {
            tools = await toolVersions(env);
        } catch (e) {
            return { inputs: i, failures: [{ property: "templateDir", reason: `${(e as Error).message}` }] };
        }
        const src = await fingerprintSources(i, tools);
        const fp = computeFingerprint(i, src);
        i.fingerprint = fp.fingerprint;
        i.fingerprintParts = fp.parts;

        const name = imageName(i.namePrefix, i.release || i.stack, fp.fingerprint);
        const dir = `.build/check/${i.stack}-${fp.fingerprint.slice(0, 12)}`;
        const varFile = `${dir}/vars.pkrvars.json`;
        const vars = packerVariables(
            i,
            {
                imageName: name,
                tags: imageTags(i, name, fp.fingerprint, new Date(0)),
                manifestPath: `${dir}/manifest.json`,
                temporaryKeyPairName: `packer-${buildId(i.stack, fp.fingerprint)}`,
            },
            templateVariables(src.templateFiles),
        );
        const varText = JSON.stringify(vars, null, 2) + "\n";
        // `packer validate` is a pure function of the template (in the fingerprint), the variables
        // and the tool versions (also in the fingerprint): remember a pass under that key, so an
        // unchanged stack does not pay ~1 s of Packer on every preview and up.
        const validKey = sha256Hex(`${fp.fingerprint}\n${varText}`);
        const stamp = `${dir}/validated`;
        if (fs.existsSync(stamp) && fs.readFileSync(stamp, "utf8") === validKey) return { inputs: i, failures };
        fs.mkdirSync(dir, { recursive: true });
        // As the build's: the variables may hold values set as secrets (tags), so the file is the
        // owner's only and lives only while `packer validate` reads it.
        fs.writeFileSync(varFile, varText, { mode: 0o600 });
        const cp = load<typeof import("node:child_process")>("node:child_process");
        let v: { code: number | null; stdout: string; stderr: string };
        try {
            v = await capturePacker(cp, validateArgv(varFile, i.templateDir), env);
        } finally {
            fs.rmSync(varFile, { force: true });
        }
        if (v.code !== 0) {
            const text = redactText(`${v.stdout}\n${v.stderr}`, envSecrets(i.secretValues)).trim().split("\n").slice(-30).join("\n");
            failures.push({ property: "templateDir", reason: `packer validate of "${i.templateDir}" failed (exit ${v.code}):\n${text}` });
        } else {
            fs.writeFileSync(stamp, validKey);
        }
        return { inputs: i, failures };
    }

    /**
     * Equal fingerprints (and nothing else changed) → `changes: false`. A different fingerprint →
     * replace, naming the changed parts; the old image stays until the new one exists. Other
     * changes (tags, build-time settings, provider version or code) → update without rebuild.
     */
    async diff(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
        const o = olds as unknown as Record<string, unknown>;
        const n = news as unknown as Record<string, unknown>;
        const differs = (k: string) => canonicalJson(o[k] ?? null) !== canonicalJson(n[k] ?? null) || containsUnknown(n[k]);
        const buildFieldsChanged = buildFields(n.couchbasePackageSource).filter((k) => differs(k));
        let replaces: string[] = [];
        if (olds.deregistered) {
            // refresh found the image gone but kept its snapshots: build a new one, then delete()
            // of the old resource deletes what is left of it.
            say(`rebuild needed: image ${olds.imageId} was deregistered outside Pulumi; its snapshots ${(olds.snapshotIds ?? []).join(", ") || "none"} go after the new image exists`);
            return { changes: true, replaces: ["imageId"], deleteBeforeReplace: false };
        }
        if (news.fingerprint === undefined || containsUnknown(news.fingerprint)) {
            // Preview with values not known yet: only the fields themselves can tell.
            replaces = [...buildFieldsChanged];
        } else if (news.fingerprint !== olds.fingerprint) {
            const parts = changedParts(olds.fingerprintParts, news.fingerprintParts);
            replaces = [...new Set([...parts.map(partProperty), ...buildFieldsChanged, "fingerprint"])];
            say(`rebuild needed: changed ${parts.length > 0 ? parts.join(", ") : "fingerprint"}`);
        }
        if (replaces.length > 0) return { changes: true, replaces: [...new Set(replaces)].sort(), deleteBeforeReplace: false };
        const others = Object.keys({ ...o, ...n }).filter((k) => !COMPUTED_FIELDS.includes(k) && !NO_CHANGE_FIELDS.includes(k) && differs(k));
        if (others.length === 0) return { changes: false };
        say(`update without rebuild: changed ${others.join(", ")}`);
        return { changes: true, replaces: [], deleteBeforeReplace: false };
    }

    /**
     * Adopts or builds the image. Transactional: on failure nothing this call made is left. Inside
     * the provider host the call is an operation the engine watchdog waits for (engine.ts).
     */
    async create(inputs: Inputs): Promise<pulumi.dynamic.CreateResult<Outputs>> {
        const engine = watchEngine();
        return engine ? engine.track(() => createImage(inputs, engine)) : createImage(inputs, undefined);
    }

    /**
     * The image as EC2 sees it now. Gone with nothing left → empty id, so `refresh` drops it from
     * state. Deregistered out of band while snapshots of it remain (EC2 keeps them, and bills them)
     * → kept in state with `deregistered` and the remaining snapshot ids, so the next `up` rebuilds
     * (diff) and `delete` removes those snapshots; refresh itself deletes nothing (docs/provider.md).
     */
    async read(id: string, props?: Outputs): Promise<pulumi.dynamic.ReadResult<Outputs>> {
        if (!props) return { id };
        const ec2 = await ec2Client(props.region, props.ec2Endpoint);
        const img = await describeImage(ec2, props.imageId || id, { log: say });
        if (!img) {
            const left = (await listSnapshots(ec2, { ids: props.snapshotIds ?? [] }, { log: say })).map((x) => x.id);
            if (left.length === 0) {
                say(`image ${props.imageId || id} no longer exists in ${props.region}, nor do its snapshots`);
                return { id: "" };
            }
            say(`image ${props.imageId || id} was deregistered outside Pulumi; its snapshots ${left.join(", ")} remain: kept in state until the next up or destroy deletes them`);
            return { id, props: { ...props, snapshotIds: left, deregistered: true } };
        }
        const snapshotIds = img.snapshotIds.length > 0 ? img.snapshotIds : props.snapshotIds;
        return { id, props: { ...props, snapshotIds, tags: Object.keys(img.tags).length > 0 ? img.tags : props.tags } };
    }

    /** Applies changes that need no rebuild: tags, build-time settings, provider version. */
    async update(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.UpdateResult<Outputs>> {
        const n = applyDefaults(news as unknown as Record<string, unknown>);
        const outs: Outputs = { ...olds };
        const o = applyDefaults(olds as unknown as Record<string, unknown>) as unknown as Record<string, unknown>;
        const target = outs as unknown as Record<string, unknown>;
        const fixed = buildFields(n.couchbasePackageSource);
        for (const [k, v] of Object.entries(n)) if (!fixed.includes(k as keyof ResolvedImageInputs)) target[k] = v;
        if (TAG_FIELDS.some((k) => canonicalJson(o[k] ?? null) !== canonicalJson((n as unknown as Record<string, unknown>)[k] ?? null))) {
            const created = new Date(olds.createdAt || Date.now());
            const tags = imageTags(n, olds.imageName, olds.fingerprint, created);
            const { CreateTagsCommand, DeleteTagsCommand } = load<typeof import("@aws-sdk/client-ec2")>("@aws-sdk/client-ec2");
            const ec2 = await ec2Client(olds.region, n.ec2Endpoint);
            const resources = [olds.imageId, ...(olds.snapshotIds ?? [])];
            await withRetry(() => ec2.send(new CreateTagsCommand({ Resources: resources, Tags: tagList(tags) })), { what: "tag image", log: say });
            const removed = Object.keys(olds.tags ?? {}).filter((k) => !(k in tags));
            if (removed.length > 0)
                await withRetry(() => ec2.send(new DeleteTagsCommand({ Resources: resources, Tags: removed.map((Key) => ({ Key })) })), { what: "untag image", log: say });
            outs.tags = tags;
            say(`re-tagged ${olds.imageId}`);
        }
        return { outs };
    }

    /** Deregisters the image and deletes its snapshots; already gone counts as done. */
    async delete(id: string, props: Outputs): Promise<void> {
        const imageId = props.imageId || id;
        if (!imageId) return;
        const ec2 = await ec2Client(props.region, props.ec2Endpoint);
        const r = await deleteImageAndSnapshots(ec2, imageId, { snapshotIds: props.snapshotIds ?? [], log: say });
        say(`deleted ${imageId}${r.deregistered ? "" : " (was already gone)"}; snapshots deleted: ${r.deletedSnapshots.join(", ") || "none"}`);
    }
}

/**
 * The one provider object every PackerImage passes to the engine. Its serialized text is
 * remembered on disk per provider source (providers/providerText.ts): the closure is large
 * (~90 KB: ~250 ms to serialize warm, ~600 ms in a fresh process), and the SDK would pay that
 * once per process. It holds no state.
 */
export const PROVIDER = new PackerImageProvider();

