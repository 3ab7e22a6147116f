/**
 * The image resource's provider: the methods the engine calls, around `packer build`. The public
 * resource class is providers/packer/index.ts; this module is loaded only to serialize these methods
 * (once per provider source: providers/providerText.ts) and by the tests.
 *
 * Verbs → actions:
 * - `check`  validates every input (validate.ts), checks the template, the agent
 *            artifact and its sha256 on disk, computes the input fingerprint and runs
 *            `packer validate` with the resolved variables, so a broken template fails at preview.
 * - `diff`   compares fingerprints: equal → `changes: false`; different → replace, naming the parts
 *            that changed; provider code/version only → an update that rebuilds nothing.
 * - `create` adopts an available image with the same Fingerprint and Stack tags, this build's exact
 *            name and every volume encrypted (adopt.ts), else runs
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
 *
 * Files: this one holds the verbs; build.ts the build transaction (`create`'s body); caches.ts
 * the tool-version cache; host.ts `load` and `say`.
 */
import * as pulumi from "@pulumi/pulumi";
import { ec2Client } from "../ec2/client";
import { deleteImageAndSnapshots, describeImage } from "../ec2/images";
import { listSnapshots } from "../ec2/inventory";
import { withRetry } from "../ec2/retry";
import { tagList } from "../ec2/tags";
import { packerEnv, packerVariables, validateArgv } from "./argv";
import { canonicalJson, changedParts, computeFingerprint, partProperty, sha256Hex } from "./fingerprint";
import { buildId, imageName, imageTags } from "./naming";
import { redactText } from "./redact";
import { watchEngine } from "./engine";
import { capturePacker } from "./run";
import { splitSecretVariables } from "./secretVariables";
import { buildFields, type ImageProviderInputs as Inputs, type ImageProviderOutputs as Outputs, type ResolvedImageInputs } from "./types";
import { applyDefaults, containsUnknown, resolvePackageSha256, validateInputs, type Failure } from "./validate";
import { createImage, fingerprintSources, templateVariables } from "./build";
import { toolVersions } from "./caches";
import { envSecrets, load, say } from "./host";

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
        const failed = (p: string) =>
            failures.some((f) => f.property === p || f.property.startsWith(`${p}.`) || f.property.startsWith(`${p}[`));
        const known = (p: keyof ResolvedImageInputs) => !containsUnknown(i[p]) && !failed(p);

        if (known("templateDir")) {
            if (!fs.existsSync(i.templateDir) || !fs.statSync(i.templateDir).isDirectory())
                failures.push({
                    property: "templateDir",
                    reason: `"${i.templateDir}" is not a folder under the project root: point at the folder holding the *.pkr.hcl template`,
                });
            else if (!fs.readdirSync(i.templateDir).some((f) => f.endsWith(".pkr.hcl")))
                failures.push({ property: "templateDir", reason: `"${i.templateDir}" holds no *.pkr.hcl template` });
        }
        if (known("agentUnit") && !fs.existsSync(i.agentUnit))
            failures.push({
                property: "agentUnit",
                reason: `"${i.agentUnit}" does not exist: point at the agent's systemd unit (agent/dp-agent.service)`,
            });
        if (known("couchbasePackageSource") && i.couchbasePackageSource !== "repository" && i.couchbasePackageSource !== "download") {
            const dir = i.couchbasePackageSource;
            if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory() || !fs.readdirSync(dir).some((f) => f.endsWith(".deb")))
                failures.push({
                    property: "couchbasePackageSource",
                    reason: `"${dir}" is not a folder holding a couchbase-server .deb: build one (scripts/local/standin-couchbase.sh --out ${dir}) or use "download"`,
                });
        }
        // An unknown sha256 means the artifact is made by a step that has not run yet (the agent's
        // command resource at preview, or on a checkout where it will rebuild): the file cannot
        // exist yet, so only a known sha256 makes its absence an error.
        if (known("agentArtifact") && known("agentSha256")) {
            if (!fs.existsSync(i.agentArtifact) || !fs.statSync(i.agentArtifact).isFile())
                failures.push({
                    property: "agentArtifact",
                    reason: `"${i.agentArtifact}" does not exist: build it with agent/build.sh --out <dir>`,
                });
            else {
                const actual = sha256Hex(fs.readFileSync(i.agentArtifact));
                if (actual !== i.agentSha256)
                    failures.push({
                        property: "agentSha256",
                        reason: `does not match "${i.agentArtifact}" (its sha256 is ${actual}): rebuild the artifact or update the sha256 (the .sha256 file next to it)`,
                    });
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
        // As the build's: variables holding a value set as secret (tags) go to Packer's
        // environment, never to a file; the file is the owner's only, and lives only while
        // `packer validate` reads it.
        const split = splitSecretVariables(vars, envSecrets(i.secretValues));
        fs.writeFileSync(varFile, JSON.stringify(split.file, null, 2) + "\n", { mode: 0o600 });
        const cp = load<typeof import("node:child_process")>("node:child_process");
        let v: { code: number | null; stdout: string; stderr: string };
        try {
            v = await capturePacker(cp, validateArgv(varFile, i.templateDir), { ...env, ...split.env });
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
            say(
                `rebuild needed: image ${olds.imageId} was deregistered outside Pulumi; its snapshots ${(olds.snapshotIds ?? []).join(", ") || "none"} go after the new image exists`,
            );
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
        const others = Object.keys({ ...o, ...n }).filter(
            (k) => !COMPUTED_FIELDS.includes(k) && !NO_CHANGE_FIELDS.includes(k) && differs(k),
        );
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
            say(
                `image ${props.imageId || id} was deregistered outside Pulumi; its snapshots ${left.join(", ")} remain: kept in state until the next up or destroy deletes them`,
            );
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
            await withRetry(() => ec2.send(new CreateTagsCommand({ Resources: resources, Tags: tagList(tags) })), {
                what: "tag image",
                log: say,
            });
            const removed = Object.keys(olds.tags ?? {}).filter((k) => !(k in tags));
            if (removed.length > 0)
                await withRetry(() => ec2.send(new DeleteTagsCommand({ Resources: resources, Tags: removed.map((Key) => ({ Key })) })), {
                    what: "untag image",
                    log: say,
                });
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
        say(
            `deleted ${imageId}${r.deregistered ? "" : " (was already gone)"}; snapshots deleted: ${r.deletedSnapshots.join(", ") || "none"}`,
        );
    }
}

/**
 * The one provider object every PackerImage passes to the engine. Its serialized text is
 * remembered on disk per provider source (providers/providerText.ts): the closure is large
 * (~90 KB: ~250 ms to serialize warm, ~600 ms in a fresh process), and the SDK would pay that
 * once per process. It holds no state.
 */
export const PROVIDER = new PackerImageProvider();
