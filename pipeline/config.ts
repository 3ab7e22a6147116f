/**
 * Stack configuration → one typed, validated object. Pure: no I/O, no Pulumi runtime.
 *
 * The raw input is what `pulumi.Config` holds: every value a string (arrays and objects as JSON,
 * numbers and booleans as text) — or, in tests, already-typed values. Every key is declared with a
 * default in `Pulumi.yaml`; an empty string means "unset". All problems are collected and thrown
 * together, each naming the fully qualified key and the fix, e.g.
 * `couchbase-images:copyRegions: "us-east-1" is the build region; remove it`.
 */
import { TAG } from "../providers/ec2/tags";

/** Closed set of environments. `prod` never expires and keeps its versions file on destroy. */
export const ENVIRONMENTS = ["dev", "stage", "prod", "local"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

export const EDITIONS = ["enterprise", "community"] as const;
export type CouchbaseEdition = (typeof EDITIONS)[number];

export const ARCHES = ["amd64", "arm64"] as const;
export type AgentArch = (typeof ARCHES)[number];

/** How the agent reaches the image: built by the command resource, or prebuilt by an earlier step. */
export type AgentSource =
    | { kind: "build"; arch: AgentArch }
    | { kind: "prebuilt"; arch: AgentArch; artifact: string; sha256File: string };

/** The validated configuration of one stack. Paths are relative to the project root. */
export interface PipelineConfig {
    project: string;
    stack: string;
    buildRegion: string;
    /** Sorted, without the build region, no duplicates. */
    copyRegions: string[];
    instanceType: string;
    couchbaseEdition: CouchbaseEdition;
    couchbaseVersion: string;
    /** `repository` or a relative folder holding the `.deb`. */
    couchbasePackageSource: string;
    baseImageId?: string;
    baseImageNameFilter: string;
    baseImageOwners: string[];
    namePrefix: string;
    release?: string;
    environment: Environment;
    owner: string;
    extraTags: Record<string, string>;
    /** Region → KMS key; only build and copy regions. */
    kmsKeyIds: Record<string, string>;
    ttlHours: number;
    ec2Endpoint?: string;
    emulator: boolean;
    sshHost?: string;
    sshPort: number;
    sshUsername: string;
    sshCidrs: string[];
    agent: AgentSource;
    buildTimeoutMinutes: number;
    copyTimeoutMinutes: number;
    versionsDir: string;
}

/** Context the pure parser needs from outside. */
export interface ConfigContext {
    stack: string;
    project: string;
    /** OS user, the default owner. */
    user?: string;
}

/** Every key the program reads (and `Pulumi.yaml` declares). Anything else in the namespace is a typo. */
export const CONFIG_KEYS = [
    "buildRegion",
    "copyRegions",
    "instanceType",
    "couchbaseEdition",
    "couchbaseVersion",
    "couchbasePackageSource",
    "baseImageId",
    "baseImageNameFilter",
    "baseImageOwners",
    "namePrefix",
    "release",
    "environment",
    "owner",
    "extraTags",
    "kmsKeyIds",
    "ttlHours",
    "ec2Endpoint",
    "emulator",
    "sshHost",
    "sshPort",
    "sshUsername",
    "sshCidrs",
    "agentArtifact",
    "agentSha256File",
    "agentArch",
    "buildTimeoutMinutes",
    "copyTimeoutMinutes",
    "versionsDir",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Defaults, identical to `Pulumi.yaml` (a test keeps them in step). Used when a key is absent. */
export const DEFAULTS: Record<ConfigKey, unknown> = {
    buildRegion: "us-east-1",
    copyRegions: [],
    instanceType: "t3.large",
    couchbaseEdition: "enterprise",
    couchbaseVersion: "7.6.3",
    couchbasePackageSource: "repository",
    baseImageId: "",
    baseImageNameFilter: "debian-12-amd64-*",
    baseImageOwners: ["136693071363"],
    namePrefix: "couchbase-server",
    release: "",
    environment: "dev",
    owner: "",
    extraTags: {},
    kmsKeyIds: {},
    ttlHours: 72,
    ec2Endpoint: "",
    emulator: false,
    sshHost: "",
    sshPort: 22,
    sshUsername: "admin",
    sshCidrs: [],
    agentArtifact: "",
    agentSha256File: "",
    agentArch: "amd64",
    buildTimeoutMinutes: 90,
    copyTimeoutMinutes: 60,
    versionsDir: "versions",
};

// ---- rules (pure predicates) ----------------------------------------------------------------

const REGION_RE = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
const INSTANCE_TYPE_RE = /^[a-z][a-z0-9-]*\.[a-z0-9-]+$/;
const VERSION_RE = /^\d+\.\d+\.\d+(-\d+)?$/;
const AMI_RE = /^ami-[0-9a-f]{8,17}$/;
const NAME_PREFIX_RE = /^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$/;
const RELEASE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;
const CIDR4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Problem text for a region, or undefined when fine. */
export function regionProblem(v: string): string | undefined {
    return REGION_RE.test(v) ? undefined : `${JSON.stringify(v)} is not an AWS region (like eu-west-1)`;
}

/** Problem text for an IPv4/IPv6 CIDR used for SSH ingress, or undefined when fine. */
export function cidrProblem(v: string): string | undefined {
    if (v === "0.0.0.0/0" || v === "::/0") {
        return `${JSON.stringify(v)} opens SSH to the whole internet; use your own address (e.g. 203.0.113.7/32)`;
    }
    const m = CIDR4_RE.exec(v);
    if (m) {
        const octetsOk = m.slice(1, 5).every((o) => Number(o) <= 255);
        if (octetsOk && Number(m[5]) <= 32) return undefined;
    } else if (/^[0-9a-fA-F:]+\/\d{1,3}$/.test(v) && v.includes(":") && Number(v.split("/")[1]) <= 128) {
        return undefined;
    }
    return `${JSON.stringify(v)} is not a CIDR (like 203.0.113.7/32)`;
}

/** True for a relative path that stays inside the project (no `..`, not absolute). */
function isProjectRelative(p: string): boolean {
    if (p.startsWith("/") || p.startsWith("~") || /^[A-Za-z]:[\\/]/.test(p)) return false;
    return !p.split(/[\\/]/).includes("..");
}

// ---- coercion ---------------------------------------------------------------------------------

class Problems {
    readonly list: string[] = [];
    constructor(private readonly ns: string) {}
    add(key: string, msg: string): void {
        this.list.push(`${this.ns}:${key}: ${msg}`);
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
            `expected a list of strings, got ${JSON.stringify(raw)}; set it with ` +
                `\`pulumi config set --path '${key}[0]' <value>\``,
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
            `expected a map of strings, got ${JSON.stringify(raw)}; set it with ` +
                `\`pulumi config set --path '${key}.<name>' <value>\``,
        );
        return {};
    }
    return { ...(v as Record<string, string>) };
}

function asInteger(raw: unknown, key: string, p: Problems, min: number, max: number, unit: string): number {
    const text = typeof raw === "string" ? raw.trim() : raw;
    const n = typeof text === "number" ? text : typeof text === "string" && /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isInteger(n)) {
        p.add(key, `expected a whole number of ${unit}, got ${JSON.stringify(raw)}`);
        return min;
    }
    if (n < min || n > max) {
        p.add(key, `${n} is out of range; use ${min}..${max} ${unit}`);
        return Math.min(Math.max(n, min), max);
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

function asEnum<T extends string>(raw: unknown, key: string, p: Problems, allowed: readonly T[]): T {
    const v = asString(raw, key, p);
    if ((allowed as readonly string[]).includes(v)) return v as T;
    p.add(key, `${JSON.stringify(v)} is not one of ${allowed.join(", ")}`);
    return allowed[0];
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

/** Thrown with every problem at once; `problems` holds one line per problem. */
export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration:\n${problems.map((x) => `  - ${x}`).join("\n")}`);
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
            const near = CONFIG_KEYS.map((c) => [c, distance(c.toLowerCase(), bare.toLowerCase())] as const)
                .sort((a, b) => a[1] - b[1])[0];
            const hint = near[1] <= 3 ? `did you mean ${ns}:${near[0]}?` : `see Pulumi.yaml for the keys`;
            p.add(bare, `unknown configuration key; ${hint} (remove it with \`pulumi config rm ${ns}:${bare}\`)`);
        }
    }
    const get = (k: ConfigKey): unknown => (values[k] === undefined ? DEFAULTS[k] : values[k]);

    // Regions.
    const buildRegion = asString(get("buildRegion"), "buildRegion", p);
    const br = regionProblem(buildRegion);
    if (br) p.add("buildRegion", br);
    const copyRegions = asStringArray(get("copyRegions"), "copyRegions", p);
    const seen = new Set<string>();
    for (const r of copyRegions) {
        const rp = regionProblem(r);
        if (rp) p.add("copyRegions", rp);
        else if (r === buildRegion) p.add("copyRegions", `${JSON.stringify(r)} is the build region; remove it`);
        else if (seen.has(r)) p.add("copyRegions", `${JSON.stringify(r)} is listed twice; remove one`);
        seen.add(r);
    }

    // Build settings.
    const instanceType = asString(get("instanceType"), "instanceType", p);
    if (!INSTANCE_TYPE_RE.test(instanceType)) {
        p.add("instanceType", `${JSON.stringify(instanceType)} is not an EC2 instance type (like t3.large)`);
    }
    const couchbaseEdition = asEnum(get("couchbaseEdition"), "couchbaseEdition", p, EDITIONS);
    const couchbaseVersion = asString(get("couchbaseVersion"), "couchbaseVersion", p);
    if (!VERSION_RE.test(couchbaseVersion)) {
        p.add("couchbaseVersion", `${JSON.stringify(couchbaseVersion)} is not a Couchbase version (like 7.6.3)`);
    }
    const couchbasePackageSource = asString(get("couchbasePackageSource"), "couchbasePackageSource", p) || "repository";
    if (couchbasePackageSource !== "repository" && !isProjectRelative(couchbasePackageSource)) {
        p.add(
            "couchbasePackageSource",
            `${JSON.stringify(couchbasePackageSource)} must be "repository" or a folder relative to the project root`,
        );
    }
    const baseImageId = asString(get("baseImageId"), "baseImageId", p);
    if (baseImageId && !AMI_RE.test(baseImageId)) {
        p.add("baseImageId", `${JSON.stringify(baseImageId)} is not an image id (like ami-0123456789abcdef0); or leave it empty to use baseImageNameFilter`);
    }
    const baseImageNameFilter = asString(get("baseImageNameFilter"), "baseImageNameFilter", p);
    const baseImageOwners = asStringArray(get("baseImageOwners"), "baseImageOwners", p);
    if (!baseImageId && !baseImageNameFilter) {
        p.add("baseImageNameFilter", "is empty and so is baseImageId; set one of them");
    }
    if (!baseImageId && baseImageOwners.length === 0) {
        p.add("baseImageOwners", "is empty; name the account(s) that own the base image (Debian: 136693071363)");
    }

    // Naming and ownership.
    const namePrefix = asString(get("namePrefix"), "namePrefix", p);
    if (!NAME_PREFIX_RE.test(namePrefix)) {
        p.add("namePrefix", `${JSON.stringify(namePrefix)} must be 2-64 lowercase letters, digits or dashes, not starting or ending with a dash`);
    }
    const release = asString(get("release"), "release", p);
    if (release && !RELEASE_RE.test(release)) {
        p.add("release", `${JSON.stringify(release)} must be letters, digits, dots, dashes or underscores (like v0.1.17)`);
    }
    const environment = asEnum(get("environment"), "environment", p, ENVIRONMENTS);
    if (environment === "prod" && !release) {
        p.add("release", `is required when environment is prod; set it (like v0.1.17)`);
    }
    const owner = asString(get("owner"), "owner", p) || (ctx.user ?? "");
    if (!owner) p.add("owner", "is empty and the OS user is unknown; set it to your name");

    const reserved = new Set<string>(Object.values(TAG));
    const extraTags = asStringMap(get("extraTags"), "extraTags", p);
    for (const [k, v] of Object.entries(extraTags)) {
        if (reserved.has(k)) p.add("extraTags", `tag ${JSON.stringify(k)} is set by the pipeline; remove it`);
        else if (k.toLowerCase().startsWith("aws:")) p.add("extraTags", `tag ${JSON.stringify(k)} uses the reserved aws: prefix; rename it`);
        else if (k.length === 0 || k.length > 128) p.add("extraTags", `tag key ${JSON.stringify(k)} must be 1-128 characters`);
        if (v.length > 256) p.add("extraTags", `tag ${JSON.stringify(k)} has a value longer than 256 characters; shorten it`);
    }
    const kmsKeyIds = asStringMap(get("kmsKeyIds"), "kmsKeyIds", p);
    for (const [region, key] of Object.entries(kmsKeyIds)) {
        if (region !== buildRegion && !copyRegions.includes(region)) {
            p.add("kmsKeyIds", `${JSON.stringify(region)} is neither the build region nor a copy region; remove it or add it to copyRegions`);
        }
        if (!key.trim()) p.add("kmsKeyIds", `the key for ${JSON.stringify(region)} is empty; set a key id, ARN or alias/...`);
    }
    const ttlHours = asInteger(get("ttlHours"), "ttlHours", p, 0, 24 * 365, "hours (0 = never expires)");

    // Endpoint and SSH.
    const ec2Endpoint = asString(get("ec2Endpoint"), "ec2Endpoint", p);
    if (ec2Endpoint && !/^https?:\/\/[^\s/]+(:\d+)?\/?$/.test(ec2Endpoint)) {
        p.add("ec2Endpoint", `${JSON.stringify(ec2Endpoint)} is not an http(s) URL (like http://127.0.0.1:5000)`);
    }
    const emulator = asBoolean(get("emulator"), "emulator", p);
    if (emulator && !ec2Endpoint) p.add("emulator", "is true but ec2Endpoint is empty; set ec2Endpoint to the emulator's URL");
    const sshHost = asString(get("sshHost"), "sshHost", p);
    const sshPort = asInteger(get("sshPort"), "sshPort", p, 1, 65535, "(a TCP port)");
    const sshUsername = asString(get("sshUsername"), "sshUsername", p);
    if (!USER_RE.test(sshUsername)) p.add("sshUsername", `${JSON.stringify(sshUsername)} is not a user name (like admin)`);
    const sshCidrs = asStringArray(get("sshCidrs"), "sshCidrs", p);
    for (const c of sshCidrs) {
        const cp = cidrProblem(c);
        if (cp) p.add("sshCidrs", cp);
    }

    // Agent.
    const arch = asEnum(get("agentArch"), "agentArch", p, ARCHES);
    const artifact = asString(get("agentArtifact"), "agentArtifact", p);
    const shaFile = asString(get("agentSha256File"), "agentSha256File", p);
    let agent: AgentSource = { kind: "build", arch };
    if (artifact) {
        if (!isProjectRelative(artifact)) {
            p.add("agentArtifact", `${JSON.stringify(artifact)} must be relative to the project root (like .build/agent/dp-agent.gz)`);
        }
        const sha256File = shaFile || `${artifact}.sha256`;
        if (!isProjectRelative(sha256File)) {
            p.add("agentSha256File", `${JSON.stringify(sha256File)} must be relative to the project root`);
        }
        agent = { kind: "prebuilt", arch, artifact, sha256File };
    } else if (shaFile) {
        p.add("agentSha256File", "is set but agentArtifact is empty; set agentArtifact too, or remove agentSha256File");
    }

    const buildTimeoutMinutes = asInteger(get("buildTimeoutMinutes"), "buildTimeoutMinutes", p, 1, 24 * 60, "minutes");
    const copyTimeoutMinutes = asInteger(get("copyTimeoutMinutes"), "copyTimeoutMinutes", p, 1, 24 * 60, "minutes");
    const versionsDir = asString(get("versionsDir"), "versionsDir", p);
    if (!versionsDir || !isProjectRelative(versionsDir)) {
        p.add("versionsDir", `${JSON.stringify(versionsDir)} must be a folder relative to the project root (like versions)`);
    }

    if (p.list.length > 0) throw new ConfigError(p.list);

    return {
        project: ctx.project,
        stack: ctx.stack,
        buildRegion,
        copyRegions: [...copyRegions].sort(),
        instanceType,
        couchbaseEdition,
        couchbaseVersion,
        couchbasePackageSource,
        baseImageId: baseImageId || undefined,
        baseImageNameFilter,
        baseImageOwners,
        namePrefix,
        release: release || undefined,
        environment,
        owner,
        extraTags,
        kmsKeyIds,
        ttlHours,
        ec2Endpoint: ec2Endpoint || undefined,
        emulator,
        sshHost: sshHost || undefined,
        sshPort,
        sshUsername,
        sshCidrs,
        agent,
        buildTimeoutMinutes,
        copyTimeoutMinutes,
        versionsDir: versionsDir.replace(/\/+$/, ""),
    };
}
