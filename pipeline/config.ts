/**
 * Stack configuration → one typed, validated object. Pure: no I/O, no Pulumi runtime.
 *
 * The raw input is what `pulumi.Config` holds: every value a string (arrays and objects as JSON,
 * numbers and booleans as text) — or, in tests, already-typed values. Every key is declared once,
 * with its type, default and description, in pipeline/inputs.ts (Pulumi.yaml is generated from it);
 * an empty string means "unset". All problems are collected and thrown
 * together, each naming the fully qualified key and the fix, e.g.
 * `couchbase-images:copyRegions: "us-east-1" is the build region; remove it`.
 */
import { COUCHBASE_RELEASE_URL, DEFAULTS as IMAGE_DEFAULTS, type ResolvedImageInputs } from "../providers/packer/types";
import { packageSha256Url, stackPin, type PackagePins } from "../providers/packer/couchbasePackages";
import {
    EDITIONS,
    ENVIRONMENTS,
    UNKNOWN,
    kmsKeyProblem,
    normalizeKeyFingerprint,
    normalizeSha256,
    relativePathProblem,
    validateInputs,
} from "../providers/packer/validate";
import { buildKmsKeyRegionProblem, copyKmsKeyProblem } from "./kmsKeys";
import { CONFIG_KEYS, IMAGE_PROPERTY_KEYS, INPUTS, type ConfigKey, type ConfigValues, type InputSpec } from "./inputs";
import {
    ARCHES,
    ARCHITECTURE_TAG,
    PER_ARCH_KEYS,
    archKey,
    imageNamePrefix,
    instanceTypeArch,
    type Arch,
    type PerArchKey,
} from "./architectures";

/** `prod` never expires and keeps its versions file on destroy. */
export type Environment = (typeof ENVIRONMENTS)[number];
export type CouchbaseEdition = (typeof EDITIONS)[number];

export { ARCHES };
export type AgentArch = Arch;

/** How the agent reaches the image: built by the command resource, or prebuilt by an earlier step. */
export type AgentSource = { kind: "build"; arch: AgentArch } | { kind: "prebuilt"; arch: AgentArch; artifact: string; sha256File: string };

/** What one architecture's image is built from (its config keys: pipeline/architectures.ts). */
export interface ArchitectureConfig {
    arch: AgentArch;
    /** Builder (and boot test) instance type: `instanceType` (amd64) or `arm64InstanceType`. */
    instanceType: string;
    /** Explicit base image: `baseImageId` (amd64) or `arm64BaseImageId`; wins over the filter. */
    baseImageId?: string;
    /** Base image name filter: `baseImageNameFilter` (amd64) or `arm64BaseImageNameFilter`. */
    baseImageNameFilter: string;
    /** The agent built for this architecture, or its prebuilt artifact (`agentArtifact` / `arm64AgentArtifact`). */
    agent: AgentSource;
}

/**
 * Keys parseConfig reads itself, because parsing shapes them: a fallback default, a
 * normalization, per architecture, optional, narrowed, or not in PipelineConfig at all. Every
 * other key is plain ({@link PlainKey}): parsed from its row in pipeline/inputs.ts as its type
 * says and passed on under its own name, so it needs nothing here.
 */
const SHAPED_KEYS = [
    "copyRegions",
    "architectures",
    "instanceType",
    "arm64InstanceType",
    "couchbaseEdition",
    "couchbasePackageSource",
    "couchbasePackageSha256",
    "couchbaseReleaseUrl",
    "couchbaseReleaseSha256",
    "couchbaseKeyFingerprints",
    "baseImageId",
    "baseImageNameFilter",
    "arm64BaseImageId",
    "arm64BaseImageNameFilter",
    "release",
    "environment",
    "owner",
    "extraTags",
    "kmsKeyIds",
    "subnetId",
    "vpcId",
    "ec2Endpoint",
    "sshHost",
    "agentArtifact",
    "agentSha256File",
    "arm64AgentArtifact",
    "arm64AgentSha256File",
    "agentArch",
    "templateDir",
    "versionsDir",
    "bootTest",
] as const satisfies readonly ConfigKey[];

/** A key whose parsed value is its config value coerced to the table's type (pipeline/inputs.ts documents each). */
export type PlainKey = Exclude<ConfigKey, (typeof SHAPED_KEYS)[number]>;

/** The plain keys, in the table's order. */
export const PLAIN_KEYS: readonly PlainKey[] = CONFIG_KEYS.filter((k): k is PlainKey => !(SHAPED_KEYS as readonly string[]).includes(k));

/** Plain keys that feed the image input of their own name (`image: "<the key>"` in the table). */
type SameNameImageKey = { [K in PlainKey]: (typeof INPUTS)[K] extends { image: K } ? K : never }[PlainKey];
const SAME_NAME_IMAGE_KEYS = PLAIN_KEYS.filter((k): k is SameNameImageKey => (INPUTS[k] as InputSpec).image === k);

/** Shaped keys whose parsed value still has the table's type. */
type ShapedAsTyped =
    | "couchbasePackageSource"
    | "couchbaseReleaseUrl"
    | "couchbaseReleaseSha256"
    | "couchbaseKeyFingerprints"
    | "owner"
    | "versionsDir"
    | "templateDir"
    | "bootTest";

/** The validated configuration of one stack. Paths are relative to the project root. */
export interface PipelineConfig extends Pick<ConfigValues, PlainKey | ShapedAsTyped> {
    project: string;
    stack: string;
    /** Sorted, without the build region, no duplicates. */
    copyRegions: string[];
    /**
     * The architectures to build, in the order of the `architectures` key (default amd64 alone),
     * each with its own settings. Every one gets its own image, boot test and copies.
     */
    architectures: ArchitectureConfig[];
    /** The first architecture's instance type (architectures[0]). */
    instanceType: string;
    couchbaseEdition: CouchbaseEdition;
    /**
     * The stack's pins of downloaded packages: version → architecture → sha256 (lowercase), for
     * versions the project's table (providers/packer/couchbasePackages.ts) lacks. Only the entry of
     * couchbaseVersion and the image's architecture is used.
     */
    couchbasePackageSha256: PackagePins;
    /** The first architecture (architectures[0].arch). */
    architecture: AgentArch;
    /** The first architecture's base image id and filter (architectures[0]); owners are shared. */
    baseImageId?: string;
    baseImageNameFilter: string;
    release?: string;
    environment: Environment;
    extraTags: Record<string, string>;
    /** Region → KMS key; only build and copy regions. */
    kmsKeyIds: Record<string, string>;
    subnetId?: string;
    vpcId?: string;
    ec2Endpoint?: string;
    sshHost?: string;
    /** The first architecture's agent (architectures[0].agent). */
    agent: AgentSource;
}

/** Context the pure parser needs from outside. */
export interface ConfigContext {
    stack: string;
    project: string;
    /** OS user, the default owner. */
    user?: string;
    /**
     * Regions newer than the project's list that count as known (providers/packer/awsRegions.ts).
     * Default: the environment variable COUCHBASE_IMAGES_EXTRA_REGIONS, which the image
     * provider's `check` reads too.
     */
    extraRegions?: readonly string[];
}

/** Every key the program reads (and `Pulumi.yaml` declares): pipeline/inputs.ts. Anything else in the namespace is a typo. */
export { CONFIG_KEYS, type ConfigKey };

/** Defaults, from pipeline/inputs.ts (Pulumi.yaml is generated from the same table). Used when a key is absent. */
export const DEFAULTS: Readonly<Record<ConfigKey, unknown>> = Object.fromEntries(CONFIG_KEYS.map((k) => [k, INPUTS[k].default])) as Record<
    ConfigKey,
    unknown
>;

// ---- rules ------------------------------------------------------------------------------------
// The image's input rules live once, in providers/packer/validate.ts (the provider's `check` runs
// them too); this module adds only the rules about stack-level keys the image never sees.

/** Image input property (as validate.ts names it) → config key (pipeline/inputs.ts `image`). Index/map suffixes are kept. */
const PROPERTY_TO_KEY: Readonly<Record<string, ConfigKey>> = IMAGE_PROPERTY_KEYS;

/** How to set a missing repository pin in the stack (appended to the validator's fix). */
const PIN_COMMANDS: Record<string, (ns: string) => string> = {
    couchbaseReleaseSha256: (ns) => `pulumi config set ${ns}:couchbaseReleaseSha256 <sha256>`,
    couchbaseKeyFingerprints: (ns) => `pulumi config set --path '${ns}:couchbaseKeyFingerprints[0]' <fingerprint>` + " (one index per key)",
};

/**
 * Maps a validate.ts property path (`copyRegions[1]`, `baseImage.owners[0]`, `extraTags.Stack`) to
 * the config key path (`copyRegions[1]`, `baseImageOwners[0]`, `extraTags.Stack`).
 */
export function configKeyOf(property: string): string {
    for (let cut = property.length; cut > 0; cut--) {
        const head = property.slice(0, cut);
        const rest = property.slice(cut);
        if (PROPERTY_TO_KEY[head] && (rest === "" || rest.startsWith(".") || rest.startsWith("["))) {
            return `${PROPERTY_TO_KEY[head]}${rest}`;
        }
    }
    return property;
}

// ---- coercion ---------------------------------------------------------------------------------

class Problems {
    readonly list: string[] = [];
    /** Keys (top level) with a problem already, e.g. a value of the wrong type. */
    readonly keys = new Set<string>();
    constructor(readonly ns: string) {}
    add(key: string, msg: string): void {
        // One rule broken by every architecture's image (a shared key) is reported once.
        const line = `${this.ns}:${key}: ${msg}`;
        if (this.list.includes(line)) return;
        this.list.push(line);
        this.keys.add(key.split(/[.[]/)[0]);
    }
}

function asString(raw: unknown, key: string, p: Problems): string {
    if (raw === undefined || raw === null) return "";
    if (typeof raw === "string") return raw.trim();
    if (typeof raw === "number" || typeof raw === "boolean") return String(raw);
    p.add(key, `expected a string, got ${JSON.stringify(raw)}`);
    return "";
}

function parseJson(raw: unknown): unknown {
    if (typeof raw !== "string") return raw;
    const t = raw.trim();
    if (t === "") return undefined;
    try {
        return JSON.parse(t);
    } catch {
        return raw;
    }
}

function asStringArray(raw: unknown, key: string, p: Problems): string[] {
    const v = parseJson(raw);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
        p.add(
            key,
            `expected a list of strings, got ${JSON.stringify(raw)}; set it with ` + `\`pulumi config set --path '${key}[0]' <value>\``,
        );
        return [];
    }
    return v.map((x) => x.trim());
}

function asStringMap(raw: unknown, key: string, p: Problems): Record<string, string> {
    const v = parseJson(raw);
    if (v === undefined || v === null) return {};
    if (typeof v !== "object" || Array.isArray(v) || !Object.values(v).every((x) => typeof x === "string")) {
        p.add(
            key,
            `expected a map of strings, got ${JSON.stringify(raw)}; set it with ` + `\`pulumi config set --path '${key}.<name>' <value>\``,
        );
        return {};
    }
    return { ...(v as Record<string, string>) };
}

/**
 * The download pins: version → architecture → sha256, e.g. `{"8.0.3": {"amd64": "<64 hex>"}}`.
 * Each bad entry is reported under its own path (`couchbasePackageSha256["8.0.3"].amd64`).
 */
function asPackagePins(raw: unknown, key: string, p: Problems): PackagePins {
    const v = parseJson(raw);
    if (v === undefined || v === null) return {};
    const how = `set one with \`pulumi config set --path '${p.ns}:${key}["<version>"].<arch>' <sha256>\``;
    if (typeof v !== "object" || Array.isArray(v)) {
        p.add(key, `expected a map of Couchbase Server version to a map of architecture to sha256, got ${JSON.stringify(raw)}; ${how}`);
        return {};
    }
    const out: PackagePins = {};
    for (const [version, arches] of Object.entries(v as Record<string, unknown>)) {
        const at = `${key}["${version}"]`;
        if (!/^\d+\.\d+\.\d+$/.test(version)) {
            p.add(at, `"${version}" is not a Couchbase Server version: key each pin by its version X.Y.Z (e.g. 8.0.3)`);
            continue;
        }
        if (arches === null || typeof arches !== "object" || Array.isArray(arches)) {
            p.add(at, `expected a map of architecture (${ARCHES.join(", ")}) to sha256, got ${JSON.stringify(arches)}; ${how}`);
            continue;
        }
        out[version] = {};
        for (const [arch, sha] of Object.entries(arches as Record<string, unknown>)) {
            const published = packageSha256Url(version, "<edition>", arch);
            if (!(ARCHES as readonly string[]).includes(arch))
                p.add(`${at}.${arch}`, `"${arch}" is not an architecture: use ${ARCHES.join(" or ")}`);
            else if (typeof sha !== "string" || !/^[0-9a-f]{64}$/.test(sha.trim().toLowerCase()))
                p.add(
                    `${at}.${arch}`,
                    `${JSON.stringify(sha)} is not a sha256: give the 64 hex digits Couchbase publishes at ${published}`,
                );
            else out[version][arch] = sha.trim().toLowerCase();
        }
    }
    return out;
}

function asInteger(raw: unknown, key: string, p: Problems, unit: string): number {
    const text = typeof raw === "string" ? raw.trim() : raw;
    const n = typeof text === "number" ? text : typeof text === "string" && /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n)) {
        p.add(key, `expected a whole number of ${unit}, got ${JSON.stringify(raw)}`);
        return 0;
    }
    return n;
}

function asBoolean(raw: unknown, key: string, p: Problems): boolean {
    if (typeof raw === "boolean") return raw;
    if (raw === "true") return true;
    if (raw === "false" || raw === "" || raw === undefined || raw === null) return false;
    p.add(key, `expected true or false, got ${JSON.stringify(raw)}`);
    return false;
}

/** A plain key's value, coerced as its row's type says (each type error names the key). */
function asDeclared<K extends PlainKey>(key: K, raw: unknown, p: Problems): ConfigValues[K] {
    const spec: InputSpec = INPUTS[key];
    switch (spec.type) {
        case "string":
            return asString(raw, key, p) as ConfigValues[K];
        case "integer":
            return asInteger(raw, key, p, spec.unit) as ConfigValues[K];
        case "boolean":
            return asBoolean(raw, key, p) as ConfigValues[K];
        case "array":
            return asStringArray(raw, key, p) as ConfigValues[K];
        case "object":
            return asStringMap(raw, key, p) as ConfigValues[K];
    }
}

/** Every plain key's value, from its config value or the table's default. */
function plainValues(get: (k: ConfigKey) => unknown, p: Problems): Pick<ConfigValues, PlainKey> {
    return Object.fromEntries(PLAIN_KEYS.map((k) => [k, asDeclared(k, get(k), p)])) as Pick<ConfigValues, PlainKey>;
}

function pick<T, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
    return Object.fromEntries(keys.map((k) => [k, o[k]])) as Pick<T, K>;
}

/**
 * The `architectures` list: each of amd64/arm64 at most once, at least one. Unset (`""`) is the
 * default, amd64 alone. Bad entries are reported under their own index; what is usable is kept
 * (amd64 alone when nothing is), so the image rules still run.
 */
function asArchitectures(raw: unknown, p: Problems): AgentArch[] {
    const key = "architectures";
    if (raw === "" || raw === undefined || raw === null) return ["amd64"];
    const list = asStringArray(raw, key, p);
    const out: AgentArch[] = [];
    list.forEach((a, n) => {
        if (!(ARCHES as readonly string[]).includes(a))
            p.add(`${key}[${n}]`, `"${a}" is not an architecture: use ${ARCHES.join(" or ")} (Debian's names)`);
        else if (out.includes(a as AgentArch)) p.add(`${key}[${n}]`, `"${a}" is listed twice: remove one`);
        else out.push(a as AgentArch);
    });
    if (list.length === 0 && !p.keys.has(key))
        p.add(key, `is an empty list: list at least one of ${ARCHES.join(", ")} (\`pulumi config set --path '${p.ns}:${key}[0]' amd64\`)`);
    return out.length > 0 ? out : ["amd64"];
}

/** The config key of an image rule's key for `arch`: per-architecture keys get arm64's name. */
function archConfigKey(key: string, arch: AgentArch): string {
    const head = key.split(/[.[]/)[0];
    return (PER_ARCH_KEYS as readonly string[]).includes(head) ? `${archKey(head as PerArchKey, arch)}${key.slice(head.length)}` : key;
}

/** Levenshtein distance, for "did you mean" on unknown keys. */
function distance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        }
    }
    return d[a.length][b.length];
}

/** The first line of a {@link ConfigError}'s message (the stack driver's summary recognises it). */
export const CONFIG_ERROR_HEAD = "Invalid stack configuration:";

/** Thrown with every problem at once; `problems` holds one line per problem. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`${CONFIG_ERROR_HEAD}\n${problems.map((x) => `  - ${x}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/**
 * Reads and validates the stack configuration.
 *
 * @param raw keys of the project namespace, bare (`copyRegions`) or qualified
 *   (`couchbase-images:copyRegions`); absent keys take {@link DEFAULTS}.
 * @throws {ConfigError} naming each bad key and its fix.
 */
export function parseConfig(raw: Record<string, unknown>, ctx: ConfigContext): PipelineConfig {
    const ns = ctx.project;
    const p = new Problems(ns);

    // Normalize key names; report keys we do not know (typos would otherwise be silently ignored).
    const values: Partial<Record<ConfigKey, unknown>> = {};
    for (const [k, v] of Object.entries(raw)) {
        const bare = k.startsWith(`${ns}:`) ? k.slice(ns.length + 1) : k.includes(":") ? undefined : k;
        if (bare === undefined) continue; // other namespaces (aws:region, ...) are not ours
        if ((CONFIG_KEYS as readonly string[]).includes(bare)) {
            values[bare as ConfigKey] = v;
        } else {
            const near = CONFIG_KEYS.map((c) => [c, distance(c.toLowerCase(), bare.toLowerCase())] as const).sort((a, b) => a[1] - b[1])[0];
            const hint = near[1] <= 3 ? `did you mean ${ns}:${near[0]}?` : `see Pulumi.yaml for the keys`;
            p.add(bare, `unknown configuration key; ${hint} (remove it with \`pulumi config rm ${ns}:${bare}\`)`);
        }
    }
    const get = (k: ConfigKey): unknown => (values[k] === undefined ? DEFAULTS[k] : values[k]);

    // Coerce every key to its type (each reports its own key); the rules come after. Plain keys
    // come from the table alone; the shaped ones (SHAPED_KEYS) are read here.
    const plain = plainValues(get, p);
    const { buildRegion, couchbaseVersion, baseImageOwners, namePrefix, emulator, copyTimeoutMinutes } = plain;
    const str = (k: ConfigKey): string => asString(get(k), k, p);
    const list = (k: ConfigKey): string[] => asStringArray(get(k), k, p);
    const map = (k: ConfigKey): Record<string, string> => asStringMap(get(k), k, p);
    const bool = (k: ConfigKey): boolean => asBoolean(get(k), k, p);
    const copyRegions = list("copyRegions");
    const couchbaseEdition = str("couchbaseEdition");
    const couchbasePackageSource = str("couchbasePackageSource") || IMAGE_DEFAULTS.couchbasePackageSource;
    const couchbasePackageSha256 = asPackagePins(get("couchbasePackageSha256"), "couchbasePackageSha256", p);
    const couchbaseReleaseUrl = str("couchbaseReleaseUrl") || COUCHBASE_RELEASE_URL;
    const couchbaseReleaseSha256 = normalizeSha256(str("couchbaseReleaseSha256"));
    const couchbaseKeyFingerprints = list("couchbaseKeyFingerprints").map(normalizeKeyFingerprint);
    const release = str("release");
    const environment = str("environment");
    const owner = str("owner") || (ctx.user ?? "");
    const extraTags = map("extraTags");
    const kmsKeyIds = map("kmsKeyIds");
    const subnetId = str("subnetId");
    const vpcId = str("vpcId");
    const ec2Endpoint = str("ec2Endpoint");
    const sshHost = str("sshHost");
    const arch = str("agentArch");
    const arches = asArchitectures(get("architectures"), p);
    // One architecture's value of a per-architecture key (instanceType / arm64InstanceType, ...).
    const perArch = (key: PerArchKey, a: AgentArch): string => str(archKey(key, a) as ConfigKey);
    const versionsDir = str("versionsDir");
    const templateDir = str("templateDir");
    // Empty means unset, as for every key: the default (on).
    const bootTest = get("bootTest") === "" ? true : bool("bootTest");

    // The image's own rules (providers/packer/validate.ts), on exactly what the program will pass,
    // once per architecture (its instance type, base image, agent, package and name prefix).
    // The agent sha256 is not known yet here (built later, or verified against its file): UNKNOWN
    // makes the validator skip it, as it does during a preview.
    const typeErrors = new Set(p.keys);
    for (const a of arches) {
        const baseId = perArch("baseImageId", a);
        const imageInputs: ResolvedImageInputs = {
            // Plain keys that are the image input of their name (rootVolumeSize, sshPort, ...).
            ...pick(plain, SAME_NAME_IMAGE_KEYS),
            templateDir: templateDir.replace(/\/+$/, ""),
            region: buildRegion,
            copyRegions,
            instanceType: perArch("instanceType", a),
            couchbaseEdition,
            couchbasePackageSource,
            // The pin of exactly this version and architecture.
            couchbasePackageSha256: stackPin(couchbasePackageSha256, couchbaseVersion, a),
            architecture: a,
            couchbaseReleaseUrl,
            couchbaseReleaseSha256,
            couchbaseKeyFingerprints,
            baseImage: baseId ? { id: baseId } : { nameFilter: perArch("baseImageNameFilter", a), owners: baseImageOwners },
            agentArtifact: perArch("agentArtifact", a) || UNKNOWN,
            agentSha256: UNKNOWN,
            agentVersion: "",
            agentUnit: "agent/dp-agent.service",
            namePrefix: imageNamePrefix(namePrefix, a, arches),
            stack: ctx.stack,
            release,
            environment,
            owner,
            // The program adds the Architecture tag; a stack's own is refused below.
            extraTags: { ...extraTags, [ARCHITECTURE_TAG]: a },
            kmsKeyId: kmsKeyIds[buildRegion] ?? "",
            subnetId,
            vpcId,
            ec2Endpoint,
            sshHost,
            providerVersion: "",
        };
        const failures = validateInputs(imageInputs, { extraRegions: ctx.extraRegions });
        // A key whose value could not even be read (wrong type) was reported already; its empty
        // stand-in value would only add a confusing second problem.
        for (const f of failures) {
            const key = archConfigKey(configKeyOf(f.property), a);
            if (typeErrors.has(key.split(/[.[]/)[0])) continue;
            if (f.property === "stack") {
                p.add("(stack name)", `${f.reason}; create a stack with such a name (\`pulumi stack init dev-<you>\`)`);
            } else if (f.property === "couchbasePackageSha256") {
                const pinKey = `couchbasePackageSha256["${couchbaseVersion}"].${a}`;
                const fix = f.reason.startsWith("the pinned sha256")
                    ? `remove it with \`pulumi config rm --path '${ns}:${pinKey}'\``
                    : `set it with \`pulumi config set --path '${ns}:${pinKey}' <sha256>\``;
                p.add(pinKey, `${f.reason}; ${fix} (README, "Couchbase packages")`);
            } else if (f.property === "kmsKeyId") {
                p.add(`kmsKeyIds.${buildRegion}`, f.reason);
            } else if (PIN_COMMANDS[f.property] && f.reason.startsWith("is empty")) {
                p.add(f.property, `${f.reason}; then \`${PIN_COMMANDS[f.property](ns)}\` (docs/image.md, "Couchbase package sources")`);
            } else {
                p.add(key, f.reason);
            }
        }
    }

    // Rules about stack-level keys the image resource never sees.
    for (const [region, key] of Object.entries(kmsKeyIds)) {
        if (region !== buildRegion && !copyRegions.includes(region)) {
            p.add(
                `kmsKeyIds.${region}`,
                `"${region}" is neither the build region nor a copy region: remove it, or add the region to copyRegions`,
            );
        } else if (region !== buildRegion) {
            // AmiCopy takes only an ARN of a key in the copy region (pipeline/kmsKeys.ts).
            const problem = copyKmsKeyProblem(key, region);
            if (problem) p.add(`kmsKeyIds.${region}`, problem);
        } else if (!kmsKeyProblem(key)) {
            // The form is validate.ts's rule (reported above); an ARN must also be of this region.
            const problem = buildKmsKeyRegionProblem(key, region);
            if (problem) p.add(`kmsKeyIds.${region}`, problem);
        }
    }
    if (emulator && !ec2Endpoint) p.add("emulator", "is true but ec2Endpoint is empty: set ec2Endpoint to the emulator's URL");
    // agentArch, the one-architecture key of before, may only agree with architectures.
    if (!(ARCHES as readonly string[]).includes(arch)) p.add("agentArch", `"${arch}" is not an architecture: use ${ARCHES.join(" or ")}`);
    else if (arch !== "amd64" && !(arches.length === 1 && arches[0] === arch))
        p.add(
            "agentArch",
            `"${arch}" is replaced by the architectures key (the agent is built for every architecture listed there): ` +
                `remove agentArch and list the architectures, e.g. \`pulumi config set --path '${ns}:architectures[0]' ${arch}\``,
        );
    if (Object.prototype.hasOwnProperty.call(extraTags, ARCHITECTURE_TAG))
        p.add(
            `extraTags.${ARCHITECTURE_TAG}`,
            `is set by the program on each architecture's image (amd64, arm64): remove it from extraTags`,
        );
    // A per-architecture key of an architecture the stack does not build would be silently unused.
    for (const a of ARCHES) {
        if (arches.includes(a)) continue;
        for (const key of PER_ARCH_KEYS) {
            const k = archKey(key, a) as ConfigKey;
            if (get(k) !== "" && get(k) !== undefined && get(k) !== DEFAULTS[k] && !p.keys.has(k)) {
                const other = ARCHES.filter((x) => x !== a && arches.includes(x)).map((x) => archKey(key, x));
                p.add(
                    k,
                    `is ${a}'s, but architectures (${arches.join(", ")}) does not list ${a}: add ${a} to architectures` +
                        (other.length ? `, or move the value to ${other.join(", ")}` : "") +
                        `, or remove ${k}`,
                );
            }
        }
    }
    const architectures: ArchitectureConfig[] = [];
    for (const a of arches) {
        const instanceType = perArch("instanceType", a);
        const typeKey = archKey("instanceType", a);
        if (/^[a-z][a-z0-9-]*\.[a-z0-9]+$/.test(instanceType) && instanceTypeArch(instanceType) !== a && !p.keys.has(typeKey)) {
            const example =
                a === "arm64" ? "a Graviton type such as t4g.large or m7g.large" : "an x86_64 type such as t3.large or m7i.large";
            p.add(
                typeKey,
                `"${instanceType}" is an ${instanceTypeArch(instanceType)} instance type, but it builds the ${a} image: give ${example}`,
            );
        }
        const artifactKey = archKey("agentArtifact", a);
        const shaFileKey = archKey("agentSha256File", a);
        const artifact = perArch("agentArtifact", a);
        const shaFile = perArch("agentSha256File", a);
        let agent: AgentSource = { kind: "build", arch: a };
        if (artifact) {
            const sha256File = shaFile || `${artifact}.sha256`;
            const sp = relativePathProblem(sha256File);
            if (sp && shaFile) p.add(shaFileKey, sp);
            agent = { kind: "prebuilt", arch: a, artifact, sha256File };
        } else if (shaFile) {
            p.add(shaFileKey, `is set but ${artifactKey} is empty: set ${artifactKey} too, or remove ${shaFileKey}`);
        }
        const baseId = perArch("baseImageId", a);
        architectures.push({
            arch: a,
            instanceType,
            baseImageId: baseId || undefined,
            baseImageNameFilter: perArch("baseImageNameFilter", a),
            agent,
        });
    }
    if (copyTimeoutMinutes < 1 || copyTimeoutMinutes > 24 * 60) {
        p.add("copyTimeoutMinutes", `${copyTimeoutMinutes} is not a usable timeout: give minutes between 1 and 1440`);
    }
    const vp = relativePathProblem(versionsDir);
    if (vp) p.add("versionsDir", vp);
    const tp = relativePathProblem(templateDir);
    if (tp) p.add("templateDir", tp);

    if (p.list.length > 0) throw new ConfigError(p.list);

    return {
        ...plain,
        project: ctx.project,
        stack: ctx.stack,
        copyRegions: [...copyRegions].sort(),
        architectures,
        instanceType: architectures[0].instanceType,
        couchbaseEdition: couchbaseEdition as CouchbaseEdition,
        couchbasePackageSource,
        couchbasePackageSha256,
        architecture: architectures[0].arch,
        couchbaseReleaseUrl,
        couchbaseReleaseSha256,
        couchbaseKeyFingerprints,
        baseImageId: architectures[0].baseImageId,
        baseImageNameFilter: architectures[0].baseImageNameFilter,
        release: release || undefined,
        environment: environment as Environment,
        owner,
        extraTags,
        kmsKeyIds,
        subnetId: subnetId || undefined,
        vpcId: vpcId || undefined,
        ec2Endpoint: ec2Endpoint || undefined,
        sshHost: sshHost || undefined,
        agent: architectures[0].agent,
        versionsDir: versionsDir.replace(/\/+$/, ""),
        templateDir: templateDir.replace(/\/+$/, ""),
        bootTest,
    };
}
