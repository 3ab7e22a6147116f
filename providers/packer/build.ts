/**
 * The image provider's build transaction: the body of `create` (adopt an image with the same
 * fingerprint, else `packer build`, then read the manifest and wait for the image; delete what
 * this call made if anything fails after it exists), and the disk reads the fingerprint needs
 * (shared with `check`). Serialized with the provider (providers/packer/provider.ts): modules are
 * loaded inside functions (host.ts `load`), helpers are pure modules.
 */
import * as pulumi from "@pulumi/pulumi";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { ec2Client } from "../ec2/client";
import { deleteImageAndSnapshots, describeImage, findImagesByTags, type ImageSummary } from "../ec2/images";
import { inventory } from "../ec2/inventory";
import { deleteKeyPair, deleteSecurityGroup, terminateInstances } from "../ec2/leftovers";
import { TAG } from "../ec2/tags";
import { buildArgv, declaredVariables, packerEnv, packerVariables } from "./argv";
import { graceFor, packerLines } from "./lines";
import { computeFingerprint, readTree, type FileEntry, type FingerprintSources } from "./fingerprint";
import { IMAGE_IGNORE_FILE, imageFileFilter } from "./imageFiles";
import { parseManifest } from "./manifest";
import { progressFor } from "./progress";
import { adoptTags, buildId, fileStamp, imageName, imageTags } from "./naming";
import { adoptProblem } from "./adopt";
import { splitSecretVariables } from "./secretVariables";
import { createRedactor } from "./redact";
import type { EngineWatchdog } from "./engine";
import { runPacker } from "./run";
import type { ImageProviderInputs as Inputs, ImageProviderOutputs as Outputs, ResolvedImageInputs } from "./types";
import { applyDefaults } from "./validate";
import { toolVersions } from "./caches";
import { envSecrets, load, say } from "./host";

/**
 * Everything the fingerprint needs from disk and from Packer itself. Of the template folder, only
 * the files that go into the image: its `.imageignore` (absent: every file counts) leaves out the
 * folder's CI script, README and test fixtures.
 */
export async function fingerprintSources(i: ResolvedImageInputs, tools: { packer: string; plugin: string }): Promise<FingerprintSources> {
    const fs = load<typeof import("node:fs")>("node:fs");
    const packageFiles =
        i.couchbasePackageSource === "repository" || i.couchbasePackageSource === "download"
            ? []
            : readTree(fs, i.couchbasePackageSource).filter((f) => f.path.endsWith(".deb"));
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

/** The declared variables of the template folder's top-level `*.pkr.hcl` files, as read for the fingerprint. */
export function templateVariables(templateFiles: readonly FileEntry[]): string[] {
    return declaredVariables(
        templateFiles.filter((f) => !f.path.includes("/") && f.path.endsWith(".pkr.hcl")).map((f) => f.content.toString()),
    );
}

/**
 * Image ids a Packer output line says the build made: `AMI: ami-…` (CreateImage's result, printed
 * before the wait for it) and `Modifying attributes on AMI (ami-…)` / `Adding tags to AMI (ami-…)`
 * (the encrypted copy), in Packer's own `-machine-readable` `ui,say` lines (not a provisioner's
 * output). Never the base image (`Found Image ID: ami-…`). Pure.
 */
export function madeImageIds(line: string): string[] {
    const out: string[] = [];
    for (const re of [
        /,ui,say,==> [\w.-]+: AMI: (ami-[0-9a-f]{8,17})$/,
        /,ui,say,==> [\w.-]+: (?:Modifying attributes on|Adding tags to) AMI \((ami-[0-9a-f]{8,17})\)/,
    ]) {
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
async function removeBuilder(
    ec2: EC2Client,
    buildTags: Record<string, string>,
    keyPairName: unknown,
    note: (m: string) => void,
): Promise<void> {
    try {
        const left = await inventory(
            ec2,
            { tags: buildTags, ids: typeof keyPairName === "string" && keyPairName ? [keyPairName] : [] },
            { log: note },
        );
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
export async function createImage(inputs: Inputs, engine: EngineWatchdog | undefined): Promise<pulumi.dynamic.CreateResult<Outputs>> {
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
    const base = {
        ...i,
        fingerprint: fp.fingerprint,
        fingerprintParts: fp.parts,
        packerVersion: tools.packer,
        pluginVersion: tools.plugin,
    };

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
    const ts = fileStamp(started);
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
    // Variables holding a value set as secret (tags) go to Packer's environment, never to a file
    // (a build killed with SIGKILL never reaches the finally below); the file is the owner's only.
    const split = splitSecretVariables(vars, envSecrets(inputs.secretValues));
    fs.writeFileSync(varFile, JSON.stringify(split.file, null, 2) + "\n", { mode: 0o600 });
    const log = fs.openSync(logPath, "a");
    const watched = engine?.config.ancestor
        ? `engine process ${engine.config.ancestor.pid}`
        : engine?.config.address
          ? `engine at ${engine.config.address}`
          : undefined;
    fs.writeSync(
        log,
        `packer-image: ${watched ? `watching ${watched}: the build stops if it goes away` : "not inside a provider host: no engine watch"}\n`,
    );
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
    let artifactId: string | undefined;
    // Images Packer said it made (the intermediate one while pending, the encrypted copy): on the
    // emulator they carry no tags until the wait ends, so a cleanup by tags alone would miss them.
    const madeImages = new Set<string>();
    const { onLine, tail } = packerLines({
        log: (l) => fs.writeSync(log, `${l}\n`),
        show: (l) => progress.line(l),
        redactRaw,
        redact,
        inspect: (raw, parsed) => {
            if (parsed?.type === "artifact" && parsed.data[1] === "id" && parsed.data[2]) artifactId = parsed.data[2];
            for (const id of madeImageIds(raw)) madeImages.add(id);
        },
    });
    note(`building ${name} in ${i.region} (fingerprint ${fp12}); log: ${logPath}`);
    const timeoutMs = i.buildTimeoutMinutes * 60_000;
    const graceMs = graceFor(timeoutMs);
    let imageId: string | undefined;
    const artifactImage = () => (artifactId ? /ami-[0-9a-f]+/.exec(artifactId)?.[0] : undefined);
    const cleanup = async (why: string): Promise<string | undefined> => {
        const id = imageId ?? artifactImage();
        const leftovers = (
            await findImagesByTags(ec2, { ...adoptTags(i.stack, fp.fingerprint), [TAG.buildId]: tags[TAG.buildId] }, { log: note }).catch(
                () => [],
            )
        ).map((x) => x.id);
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
        const res = await runPacker({
            cp,
            argv: buildArgv(varFile, i.templateDir),
            env: { ...env, ...split.env },
            timeoutMs,
            graceMs,
            engineGraceMs: 3000,
            onLine,
            engine: engine ?? false,
        });
        if (res.engineGone)
            fs.writeSync(
                log,
                `packer-image: Packer exited (${res.code ?? res.signal}${res.killed ? ", killed after the grace period" : ""})\n`,
            );
        if (res.killed)
            await removeBuilder(
                ec2,
                { [TAG.project]: tags[TAG.project], [TAG.stack]: i.stack, [TAG.buildId]: tags[TAG.buildId] },
                vars.temporary_key_pair_name,
                note,
            );
        if (res.engineGone)
            note(
                `the engine is gone (${res.engineGone}): Packer was interrupted${res.killed ? ", then killed; its builder removed by the provider" : " and cleaned up"}`,
            );
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
            throw new Error(`cannot read the image id from ${manifestPath}: ${(e as Error).message}`, { cause: e });
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
                    err.properties = {
                        ...base,
                        imageId: id,
                        imageName: name,
                        snapshotIds: [],
                        createdAt: started.toISOString(),
                        tags,
                        buildLog: logPath,
                        __provider: inputs.__provider,
                    };
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
