/**
 * Input validation for the image resource: one set of rules, used by the provider's `check` and by
 * the program's config loader. Pure. Each failure names the property and says how to fix it.
 */
import { DEFAULTS, PACKAGE_SOURCE_MODES, UNKNOWN_VALUE, type ResolvedImageInputs } from "./types";
import { PACKAGE_ARCHES, expectedSha256, packageSha256Url } from "./couchbasePackages";
import { SSH_INTERFACES } from "./types";
import { TAG } from "../ec2/tags";
import { extraRegions, unknownRegionProblem } from "./awsRegions";
import { RULES } from "../../pipeline/inputs";

/** A failed rule: the input property and what is wrong with it, including the fix. */
export interface Failure {
    property: string;
    reason: string;
}

/** The placeholder the Pulumi engine sends for values not known during preview. */
export const UNKNOWN = UNKNOWN_VALUE;

/** True when `v` is, or contains, a value not known yet (preview of a dependent output). */
export function containsUnknown(v: unknown): boolean {
    if (v === UNKNOWN) return true;
    if (Array.isArray(v)) return v.some(containsUnknown);
    if (v !== null && typeof v === "object") return Object.values(v).some(containsUnknown);
    return false;
}

// Two to four letters first: `eusc-de-east-1` (European Sovereign Cloud) has four.
const REGION = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;
// The declared rules of pipeline/inputs.ts (taken one by one: the provider's text holds these, not the table).
const INSTANCE_TYPE = RULES.instanceType.pattern;
const COUCHBASE_VERSION = RULES.couchbaseVersion.pattern;
const ROOT_VOLUME_SIZE = RULES.rootVolumeSize;
const ROOT_DEVICE_NAME = RULES.rootDeviceName;
const SHA256 = /^[0-9a-f]{64}$/;
const KEY_FINGERPRINT = /^[0-9A-F]{40}$/;
const HTTPS_URL = /^https:\/\/[^\s/]+\/\S+$/;
const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const OWNER_ID = /^(\d{12}|amazon|self|aws-marketplace)$/;
const SUBNET_ID = /^subnet-[0-9a-f]{8,17}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;
const KMS_KEY =
    /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/[A-Za-z0-9/_-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias\/[A-Za-z0-9/_-]+)$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$|^\[?[0-9a-fA-F:]+\]?$/;

/** Environments; the janitor never touches `prod`. */
export const ENVIRONMENTS = RULES.environment.values;
/** Couchbase editions. */
export const EDITIONS = RULES.couchbaseEdition.values;

/**
 * A value as a message quotes it: JSON-quoted, and cut after 40 characters (a message about a
 * 300-character value must stay readable).
 */
function shown(value: string): string {
    return value.length > 40 ? `${JSON.stringify(value.slice(0, 40)).slice(0, -1)}…"` : JSON.stringify(value);
}

/** How a name's rule reads: its length, its characters, its first and last character. */
interface NameRule {
    /** What the name is, as messages say it: "name prefix", "stack name". */
    what: string;
    example: string;
    min?: number;
    max: number;
    /** One allowed character, and how the message says the set. */
    char: RegExp;
    chars: string;
    first?: RegExp;
    firstRule?: string;
    last?: RegExp;
    lastRule?: string;
}

/**
 * What exactly is wrong with `value` as a name under `rule` (not a string, empty, too short, too
 * long, characters outside the set, the first or last character), or undefined when it is fine.
 */
function nameProblem(value: unknown, rule: NameRule): string | undefined {
    if (typeof value !== "string") return `must be a string: give a ${rule.what} such as ${rule.example} (got ${JSON.stringify(value)})`;
    if (value === "") return `is empty: give a ${rule.what} such as ${rule.example}`;
    const bad = `${shown(value)} is not a usable ${rule.what}:`;
    if (value.length > rule.max) return `${bad} it is ${value.length} characters long, at most ${rule.max}`;
    if (rule.min !== undefined && value.length < rule.min) return `${bad} it is ${value.length} characters long, at least ${rule.min}`;
    const others = [...new Set([...value].filter((c) => !rule.char.test(c)))];
    if (others.length > 0) return `${bad} it contains ${others.map((c) => JSON.stringify(c)).join(", ")}; use ${rule.chars}`;
    if (rule.first && !rule.first.test(value[0])) return `${bad} it starts with ${JSON.stringify(value[0])}; ${rule.firstRule}`;
    if (rule.last && !rule.last.test(value[value.length - 1]))
        return `${bad} it ends with ${JSON.stringify(value[value.length - 1])}; ${rule.lastRule}`;
    return undefined;
}

const NAME_PREFIX_RULE: NameRule = {
    what: "name prefix",
    example: "couchbase-cloud-server",
    min: 3,
    max: 64,
    char: /[a-z0-9-]/,
    chars: "lowercase letters, digits and hyphens",
    first: /[a-z]/,
    firstRule: "start with a lowercase letter",
    last: /[a-z0-9]/,
    lastRule: "end with a letter or digit",
};
const STACK_NAME_RULE: NameRule = {
    what: "stack name",
    example: "dev-alice",
    max: 64,
    char: /[A-Za-z0-9._-]/,
    chars: "letters, digits, '.', '_' and '-'",
    first: /[A-Za-z0-9]/,
    firstRule: "start with a letter or digit",
};
const RELEASE_RULE: NameRule = { ...STACK_NAME_RULE, what: "release name", example: "v0.1.17" };
const UNIX_USER_RULE: NameRule = {
    what: "Unix user name",
    example: "ubuntu",
    max: 32,
    char: /[a-z0-9_-]/,
    chars: "lowercase letters, digits, '_' and '-'",
    first: /[a-z_]/,
    firstRule: "start with a lowercase letter or '_'",
};

/**
 * Why `value` is not an AWS region this project knows, or undefined when it is one: the form
 * first (`eu-west-1`), then the pinned list of regions (providers/packer/awsRegions.ts) or one
 * of `extra` (the override for regions newer than the list).
 */
export function regionProblem(value: unknown, extra: readonly string[] = []): string | undefined {
    if (typeof value !== "string") return `must be a string: set an AWS region such as eu-west-1 (got ${JSON.stringify(value)})`;
    if (value === "") return "is empty: set an AWS region such as eu-west-1";
    if (!REGION.test(value)) return `${shown(value)} is not an AWS region name: use the form eu-west-1, us-east-2`;
    return unknownRegionProblem(value, extra);
}

/** Why `value` is not a project-relative path, or undefined when it is one. */
export function relativePathProblem(value: unknown): string | undefined {
    if (typeof value !== "string") return `must be a string: give a path relative to the project root (got ${JSON.stringify(value)})`;
    if (value === "") return "is empty: give a path relative to the project root";
    if (value.startsWith("/") || /^[A-Za-z]:[\\/]/.test(value) || value.startsWith("~"))
        return `"${value}" is absolute: give a path relative to the project root (inputs are stored in state and must not depend on the machine)`;
    if (value.includes("\\")) return `"${value}" contains a backslash: use forward slashes`;
    if (value.split("/").includes("..")) return `"${value}" leaves the project: give a path inside the project root`;
    return undefined;
}

/** Parses an IPv4 or IPv6 CIDR; undefined when malformed. */
export function parseCidr(value: string): { family: 4 | 6; prefix: number } | undefined {
    const m = /^([^/]+)\/(\d{1,3})$/.exec(value);
    if (!m) return undefined;
    const prefix = Number(m[2]);
    const addr = m[1];
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) {
        if (addr.split(".").some((o) => Number(o) > 255 || (o.length > 1 && o.startsWith("0")))) return undefined;
        return prefix <= 32 ? { family: 4, prefix } : undefined;
    }
    if (/^[0-9a-fA-F:]+$/.test(addr) && addr.includes(":")) {
        const doubles = addr.split("::").length - 1;
        if (doubles > 1) return undefined;
        const groups = addr.split(":").filter((g) => g !== "");
        if (groups.some((g) => g.length > 4)) return undefined;
        if (doubles === 0 ? groups.length !== 8 : groups.length > 7) return undefined;
        return prefix <= 128 ? { family: 6, prefix } : undefined;
    }
    return undefined;
}

/** Why `value` is not an acceptable SSH source CIDR, or undefined when it is. */
export function cidrProblem(value: unknown): string | undefined {
    if (typeof value !== "string") return `must be a string: give a CIDR such as 203.0.113.4/32 (got ${JSON.stringify(value)})`;
    if (value === "") return "is empty: give a CIDR such as 203.0.113.4/32";
    const c = parseCidr(value);
    if (!c) return `"${value}" is not a CIDR: use the form 203.0.113.4/32 or 2001:db8::/64`;
    if (c.prefix === 0)
        return `"${value}" opens the builder's SSH port to the whole internet: give your own address range (e.g. your office's /32), never 0.0.0.0/0 or ::/0`;
    return undefined;
}

/** A pinned sha256 as the template wants it: trimmed, lowercase. Anything but a string is returned as is. */
export function normalizeSha256<T>(value: T): T | string {
    return typeof value === "string" && value !== UNKNOWN ? value.trim().toLowerCase() : value;
}

/**
 * A key fingerprint as the template wants it: `gpg` prints `ABCD 1234 …` in groups, so whitespace
 * is stripped and letters are uppercased. Anything but a string is returned as is.
 */
export function normalizeKeyFingerprint<T>(value: T): T | string {
    return typeof value === "string" && value !== UNKNOWN ? value.replace(/\s+/g, "").toUpperCase() : value;
}

/** Where the repository pins come from, for the fixes the messages name (docs/image.md has the steps). */
const PIN_SHA256_HOWTO =
    "download the couchbase-release .deb (couchbaseReleaseUrl) from a trusted network, check it, and pin the 64 hex digits `sha256sum couchbase-release-1.0-noarch.deb` prints";
const PIN_KEYS_HOWTO =
    "unpack the verified couchbase-release .deb (`dpkg-deb -x couchbase-release-1.0-noarch.deb x`) and pin the primary-key fingerprint (40 hex digits) of every key `gpg --show-keys` lists for the key files it ships";

function isStringArray(v: unknown): v is string[] {
    return Array.isArray(v) && v.every((x) => typeof x === "string");
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

/**
 * Inputs without a default (required, or set by the PackerImage class): what stands in for one that
 * is missing until the rules report it. With {@link DEFAULTS} they name every input exactly once
 * (checked at compile time below), so a new input is one line in DEFAULTS or here.
 */
const NO_DEFAULT = {
    region: "",
    couchbaseVersion: "",
    agentArtifact: "",
    agentSha256: "",
    stack: "",
    environment: "",
    owner: "",
    sshCidrs: [] as string[],
    providerVersion: "",
    resourceUrn: "",
};
// Every input has exactly one stand-in: a default, or a required input's empty value.
const EVERY_INPUT: Record<keyof ResolvedImageInputs, unknown> = { ...NO_DEFAULT, ...DEFAULTS };

/** Applies the documented defaults to raw inputs (missing, null or undefined → default). */
export function applyDefaults(raw: Record<string, unknown>): ResolvedImageInputs {
    const out: Record<string, unknown> = {};
    // A fresh copy of a default array or object, so no caller can change DEFAULTS.
    for (const [k, d] of Object.entries(EVERY_INPUT))
        out[k] =
            raw[k] === undefined || raw[k] === null ? (typeof d === "object" && d !== null ? JSON.parse(JSON.stringify(d)) : d) : raw[k];
    const i = out as unknown as ResolvedImageInputs;
    i.couchbasePackageSha256 = normalizeSha256(i.couchbasePackageSha256);
    i.couchbaseReleaseSha256 = normalizeSha256(i.couchbaseReleaseSha256);
    if (Array.isArray(i.couchbaseKeyFingerprints))
        i.couchbaseKeyFingerprints = i.couchbaseKeyFingerprints.map((f) => normalizeKeyFingerprint<string>(f));
    return i;
}

/**
 * The inputs with the download's sha256 taken from the project's table when the stack pinned none
 * (download mode, with version, edition and architecture known); otherwise as they are. `check`
 * calls it after validation, so the fingerprint, Packer's variables and the state hold the value
 * the build checks.
 */
export function resolvePackageSha256<T extends ResolvedImageInputs>(i: T): T {
    if (
        i.couchbasePackageSource !== "download" ||
        containsUnknown([i.couchbaseVersion, i.couchbaseEdition, i.architecture, i.couchbasePackageSha256])
    )
        return i;
    const e = expectedSha256(i.couchbaseVersion, i.couchbaseEdition, i.architecture, normalizeSha256<string>(i.couchbasePackageSha256));
    return "sha256" in e ? { ...i, couchbasePackageSha256: e.sha256 } : i;
}

/** What is wrong with a KMS key setting ("" = the account's default key), or undefined. Also used for the copy regions' keys. */
export function kmsKeyProblem(key: unknown): string | undefined {
    if (key === "" || (typeof key === "string" && KMS_KEY.test(key))) return undefined;
    return `"${String(key)}" is not a KMS key: give a key id, key ARN or alias/…`;
}

/** What the rules take besides the inputs. */
export interface ValidateOptions {
    /**
     * Regions newer than the pinned list (providers/packer/awsRegions.ts) that count as known.
     * Default: those named in the environment variable COUCHBASE_IMAGES_EXTRA_REGIONS of this
     * process, which is how the image provider's `check` (its own process, started by the engine)
     * and the program's config validation read the same override.
     */
    extraRegions?: readonly string[];
}

/**
 * Validates resolved inputs. Values not known yet (preview) are skipped. Returns every failure,
 * in property order; an empty list means valid.
 */
export function validateInputs(i: ResolvedImageInputs, opts: ValidateOptions = {}): Failure[] {
    const extra = opts.extraRegions ?? extraRegions(process.env);
    const out: Failure[] = [];
    const fail = (property: string, reason: string | undefined) => {
        if (reason !== undefined) out.push({ property, reason });
    };
    const known = (v: unknown) => !containsUnknown(v);

    if (known(i.templateDir)) fail("templateDir", relativePathProblem(i.templateDir));
    if (known(i.region)) fail("region", regionProblem(i.region, extra));
    if (known(i.copyRegions)) {
        if (!isStringArray(i.copyRegions)) fail("copyRegions", "must be a list of region names");
        else {
            const seen = new Set<string>();
            i.copyRegions.forEach((r, n) => {
                const p = regionProblem(r, extra);
                if (p) fail(`copyRegions[${n}]`, p);
                else if (r === i.region)
                    fail(
                        `copyRegions[${n}]`,
                        `"${r}" is the build region: the image is built there already; remove it from the copy regions`,
                    );
                else if (seen.has(r)) fail(`copyRegions[${n}]`, `"${r}" is listed twice: list each copy region once`);
                seen.add(r);
            });
        }
    }
    if (known(i.instanceType)) {
        if (typeof i.instanceType !== "string")
            fail("instanceType", `must be a string: give an EC2 instance type such as t3.large (got ${JSON.stringify(i.instanceType)})`);
        else if (i.instanceType === "") fail("instanceType", "is empty: give an EC2 instance type such as t3.large");
        else if (!INSTANCE_TYPE.test(i.instanceType))
            fail("instanceType", `${shown(i.instanceType)} is not an EC2 instance type: use the form t3.large or m7i.xlarge`);
    }
    if (known(i.couchbaseEdition) && !(EDITIONS as readonly unknown[]).includes(i.couchbaseEdition))
        fail("couchbaseEdition", `"${String(i.couchbaseEdition)}" is not an edition: use "enterprise" or "community"`);
    if (known(i.couchbaseVersion)) {
        if (typeof i.couchbaseVersion !== "string")
            fail(
                "couchbaseVersion",
                `must be a string: set the Couchbase Server version, e.g. 7.6.4 (got ${JSON.stringify(i.couchbaseVersion)})`,
            );
        else if (i.couchbaseVersion === "") fail("couchbaseVersion", "is empty: set the Couchbase Server version, e.g. 7.6.4");
        else if (!COUCHBASE_VERSION.test(i.couchbaseVersion))
            fail("couchbaseVersion", `"${i.couchbaseVersion}" is not a Couchbase Server version: use X.Y.Z (e.g. 7.6.4)`);
    }
    if (known(i.rootVolumeSize) && i.rootVolumeSize !== ROOT_VOLUME_SIZE.unset) {
        const v = i.rootVolumeSize;
        if (typeof v !== "number" || !Number.isInteger(v) || v < ROOT_VOLUME_SIZE.min || v > ROOT_VOLUME_SIZE.max)
            fail(
                "rootVolumeSize",
                `${JSON.stringify(v)} is not a root volume size: give whole ${ROOT_VOLUME_SIZE.unit} from ${ROOT_VOLUME_SIZE.min} to ${ROOT_VOLUME_SIZE.max}, or ${ROOT_VOLUME_SIZE.unset} for the template's default`,
            );
    }
    if (known(i.rootDeviceName) && i.rootDeviceName !== "") {
        if (typeof i.rootDeviceName !== "string" || !ROOT_DEVICE_NAME.pattern.test(i.rootDeviceName))
            fail(
                "rootDeviceName",
                `${JSON.stringify(i.rootDeviceName)} is not a device name: use ${ROOT_DEVICE_NAME.form}, e.g. ${ROOT_DEVICE_NAME.example} (the base image's root device), or "" for the template's default`,
            );
    }
    if (known(i.couchbasePackageSource) && !(PACKAGE_SOURCE_MODES as readonly unknown[]).includes(i.couchbasePackageSource)) {
        const p = relativePathProblem(i.couchbasePackageSource);
        if (p)
            fail(
                "couchbasePackageSource",
                `${p}; or use "download" (Couchbase's release package, checked by sha256) or "repository" (Couchbase's apt repository)`,
            );
    }
    if (known(i.architecture) && !(PACKAGE_ARCHES as readonly unknown[]).includes(i.architecture))
        fail("architecture", `"${String(i.architecture)}" is not an architecture: use ${PACKAGE_ARCHES.join(" or ")}`);
    // The download's sha256: a pin's format always; in download mode, that there is a value to
    // check the download against (the pin, or the project's table), known at preview.
    if (known(i.couchbasePackageSha256)) {
        const sha = normalizeSha256(i.couchbasePackageSha256);
        const download = known(i.couchbasePackageSource) && i.couchbasePackageSource === "download";
        const sound =
            known(i.couchbaseVersion) &&
            typeof i.couchbaseVersion === "string" &&
            COUCHBASE_VERSION.test(i.couchbaseVersion) &&
            known(i.couchbaseEdition) &&
            (EDITIONS as readonly unknown[]).includes(i.couchbaseEdition) &&
            known(i.architecture) &&
            (PACKAGE_ARCHES as readonly unknown[]).includes(i.architecture);
        const where = sound ? packageSha256Url(i.couchbaseVersion, i.couchbaseEdition, i.architecture) : "<package URL>.sha256";
        if (typeof sha !== "string")
            fail("couchbasePackageSha256", `must be a string of 64 hex digits (the sha256 Couchbase publishes at ${where})`);
        else if (sha !== "" && !SHA256.test(sha))
            fail("couchbasePackageSha256", `"${sha}" is not a sha256: give the 64 hex digits Couchbase publishes at ${where}`);
        else if (download && sound) {
            const e = expectedSha256(i.couchbaseVersion, i.couchbaseEdition, i.architecture, sha);
            if ("problem" in e) fail("couchbasePackageSha256", e.problem);
        }
    }
    // The repository pins: format always (a malformed pin is a mistake in any mode); presence when
    // the package comes from Couchbase's repository, where install-couchbase.sh fails closed without them.
    const repository = known(i.couchbasePackageSource) && i.couchbasePackageSource === "repository";
    if (known(i.couchbaseReleaseUrl) && (typeof i.couchbaseReleaseUrl !== "string" || !HTTPS_URL.test(i.couchbaseReleaseUrl)))
        fail(
            "couchbaseReleaseUrl",
            `"${String(i.couchbaseReleaseUrl)}" is not an https URL: give the https URL of Couchbase's couchbase-release .deb (default ${DEFAULTS.couchbaseReleaseUrl})`,
        );
    if (known(i.couchbaseReleaseSha256)) {
        const sha = normalizeSha256(i.couchbaseReleaseSha256);
        if (typeof sha !== "string") fail("couchbaseReleaseSha256", "must be a string of 64 hex digits");
        else if (sha === "") {
            if (repository)
                fail(
                    "couchbaseReleaseSha256",
                    `is empty, but couchbasePackageSource is "repository", which needs it (the install fails closed without it): ${PIN_SHA256_HOWTO}; or use a local package folder`,
                );
        } else if (!SHA256.test(sha)) fail("couchbaseReleaseSha256", `"${sha}" is not a sha256: ${PIN_SHA256_HOWTO}`);
    }
    if (known(i.couchbaseKeyFingerprints)) {
        const fps = i.couchbaseKeyFingerprints;
        if (!isStringArray(fps)) fail("couchbaseKeyFingerprints", "must be a list of key fingerprints (40 hex digits each)");
        else if (fps.length === 0) {
            if (repository)
                fail(
                    "couchbaseKeyFingerprints",
                    `is empty, but couchbasePackageSource is "repository", which needs it (the install fails closed without it): ${PIN_KEYS_HOWTO}; or use a local package folder`,
                );
        } else {
            const seen = new Set<string>();
            fps.forEach((f, n) => {
                const fp = normalizeKeyFingerprint(f);
                if (!KEY_FINGERPRINT.test(fp))
                    fail(
                        `couchbaseKeyFingerprints[${n}]`,
                        `"${f}" is not an OpenPGP key fingerprint: give 40 hex digits (spaces are ignored); ${PIN_KEYS_HOWTO}`,
                    );
                else if (seen.has(fp)) fail(`couchbaseKeyFingerprints[${n}]`, `"${f}" is listed twice: list each key once`);
                seen.add(fp);
            });
        }
    }
    if (known(i.baseImage)) {
        const b = i.baseImage;
        if (!isPlainObject(b)) fail("baseImage", "must be an object {id} or {nameFilter, owners}");
        else if (b.id !== undefined && b.id !== "") {
            if (typeof b.id !== "string" || !AMI_ID.test(b.id))
                fail("baseImage.id", `${JSON.stringify(b.id)} is not an image id: use the form ami-0123456789abcdef0`);
        } else if (typeof b.nameFilter !== "string" || b.nameFilter === "") {
            fail("baseImage", "names no image: set baseImage.id, or baseImage.nameFilter with baseImage.owners");
        } else if (b.owners !== undefined && b.owners !== null && !isStringArray(b.owners)) {
            fail(
                "baseImage.owners",
                `must be a list of owner account ids (e.g. ["099720109477"] for Canonical), got ${JSON.stringify(b.owners)}`,
            );
        } else if (!b.owners || b.owners.length === 0) {
            fail(
                "baseImage.owners",
                "is empty: a name filter needs the owner account ids (e.g. 099720109477 for Canonical), else anyone's image could match",
            );
        } else {
            b.owners.forEach((o, n) => {
                if (!OWNER_ID.test(o))
                    fail(`baseImage.owners[${n}]`, `"${o}" is not an owner: use a 12-digit account id, amazon, self or aws-marketplace`);
            });
        }
    }
    if (known(i.agentArtifact)) {
        const p = relativePathProblem(i.agentArtifact);
        if (p) fail("agentArtifact", p);
        else if (!i.agentArtifact.endsWith(".gz"))
            fail("agentArtifact", `"${i.agentArtifact}" is not a .gz file: point at the dp-agent.gz that agent/build.sh writes`);
    }
    if (known(i.agentSha256)) {
        if (typeof i.agentSha256 !== "string")
            fail("agentSha256", `must be a string: give the artifact's sha256 (got ${JSON.stringify(i.agentSha256)})`);
        else if (i.agentSha256 === "")
            fail("agentSha256", "is empty: give the artifact's sha256 (the last line agent/build.sh prints, or its .sha256 file)");
        else if (!SHA256.test(i.agentSha256)) fail("agentSha256", `"${i.agentSha256}" is not a sha256: give 64 lowercase hex digits`);
    }
    if (known(i.agentVersion) && typeof i.agentVersion !== "string") fail("agentVersion", "must be a string");
    if (known(i.agentUnit)) fail("agentUnit", relativePathProblem(i.agentUnit));
    if (known(i.namePrefix)) fail("namePrefix", nameProblem(i.namePrefix, NAME_PREFIX_RULE));
    if (known(i.stack)) fail("stack", nameProblem(i.stack, STACK_NAME_RULE));
    if (known(i.release) && i.release !== "") fail("release", nameProblem(i.release, RELEASE_RULE));
    if (known(i.environment)) {
        if (!(ENVIRONMENTS as readonly unknown[]).includes(i.environment))
            fail("environment", `"${String(i.environment)}" is not an environment: use one of ${ENVIRONMENTS.join(", ")}`);
        else if (i.environment === "prod" && known(i.release) && !i.release)
            fail("release", "is empty for a prod image: production images carry a release name (e.g. v0.1.17)");
    }
    if (known(i.owner)) {
        if (typeof i.owner !== "string")
            fail("owner", `must be a string: set who owns this stack's images, e.g. your user name (got ${JSON.stringify(i.owner)})`);
        else if (i.owner.trim() === "") fail("owner", "is empty: set who owns this stack's images (e.g. your user name)");
        else if (i.owner.length > 256)
            fail(
                "owner",
                `${shown(i.owner)} is ${i.owner.length} characters long: it becomes the Owner tag, whose value takes at most 256; give a shorter owner (e.g. your user name)`,
            );
    }
    if (known(i.ttlHours)) {
        if (typeof i.ttlHours !== "number" || !Number.isFinite(i.ttlHours))
            fail("ttlHours", `"${String(i.ttlHours)}" is not a number of hours`);
        else if (i.ttlHours < 0)
            fail("ttlHours", `${i.ttlHours} is negative: give the hours until the janitor may delete dev images (0 = never)`);
    }
    if (known(i.extraTags)) {
        if (!isPlainObject(i.extraTags)) fail("extraTags", "must be a map of tag key to string value");
        else {
            const reserved = new Set<string>([...Object.values(TAG), "Name"]);
            for (const [k, v] of Object.entries(i.extraTags)) {
                if (reserved.has(k)) fail(`extraTags.${k}`, `"${k}" is set by the project itself: choose another tag key`);
                else if (k.toLowerCase().startsWith("aws:"))
                    fail(`extraTags.${k}`, `"${k}" uses the reserved aws: prefix: choose another tag key`);
                else if (k === "") fail("extraTags.", "has a tag with an empty key: give every tag a key of 1-128 characters");
                else if (k.length > 128)
                    fail(`extraTags.${k}`, `the tag key ${shown(k)} is ${k.length} characters long: tag keys take at most 128`);
                else if (typeof v !== "string")
                    fail(
                        `extraTags.${k}`,
                        `the value of tag ${shown(k)} is not a string (got ${JSON.stringify(v)}): tag values are strings`,
                    );
                else if (v.length > 256)
                    fail(`extraTags.${k}`, `the value of tag ${shown(k)} is ${v.length} characters long: tag values take at most 256`);
            }
        }
    }
    if (known(i.kmsKeyId)) {
        const problem = kmsKeyProblem(i.kmsKeyId);
        if (problem) fail("kmsKeyId", problem);
    }
    if (known(i.subnetId) && i.subnetId !== "" && (typeof i.subnetId !== "string" || !SUBNET_ID.test(i.subnetId)))
        fail("subnetId", `"${String(i.subnetId)}" is not a subnet id: use the form subnet-0123456789abcdef0`);
    if (known(i.vpcId) && i.vpcId !== "" && (typeof i.vpcId !== "string" || !VPC_ID.test(i.vpcId)))
        fail("vpcId", `"${String(i.vpcId)}" is not a VPC id: use the form vpc-0123456789abcdef0`);
    else if (known(i.vpcId) && known(i.subnetId) && i.vpcId !== "" && i.subnetId === "")
        // Packer picks no subnet in a VPC that is not the account's default: it refuses this only at
        // build time (builder/common/step_pre_validate.go), and in the default VPC vpcId adds nothing.
        fail(
            "vpcId",
            "is set without subnetId: Packer cannot choose a subnet in a VPC that is not the default one and fails at build time; set subnetId to a subnet of that VPC (the subnet implies its VPC), or remove vpcId to use the default VPC",
        );
    if (known(i.associatePublicIpAddress) && typeof i.associatePublicIpAddress !== "boolean")
        fail("associatePublicIpAddress", `must be true or false (got ${JSON.stringify(i.associatePublicIpAddress)})`);
    if (known(i.sshInterface) && i.sshInterface !== "" && !(SSH_INTERFACES as readonly unknown[]).includes(i.sshInterface))
        fail(
            "sshInterface",
            `${JSON.stringify(i.sshInterface)} is not an SSH interface: use ${SSH_INTERFACES.join(", ")}, or "" for Packer's default (public IP, else private)`,
        );
    if (known(i.sshCidrs)) {
        if (!isStringArray(i.sshCidrs))
            fail(
                "sshCidrs",
                `must be a list of CIDRs allowed to reach the builder over SSH (e.g. ["203.0.113.4/32"]), got ${JSON.stringify(i.sshCidrs)}`,
            );
        else if (i.sshCidrs.length === 0)
            fail("sshCidrs", "is empty: list the CIDRs allowed to reach the builder over SSH (e.g. your address/32)");
        else i.sshCidrs.forEach((c, n) => fail(`sshCidrs[${n}]`, cidrProblem(c)));
    }
    if (
        known(i.ec2Endpoint) &&
        i.ec2Endpoint !== "" &&
        (typeof i.ec2Endpoint !== "string" || !/^https?:\/\/[^\s/]+(\/.*)?$/.test(i.ec2Endpoint))
    )
        fail("ec2Endpoint", `"${String(i.ec2Endpoint)}" is not an http(s) URL: use e.g. http://127.0.0.1:5000, or leave it empty for AWS`);
    if (known(i.emulator) && typeof i.emulator !== "boolean") fail("emulator", "must be true or false");
    if (known(i.sshHost) && i.sshHost !== "") {
        if (typeof i.sshHost !== "string") fail("sshHost", `must be a string: a host name or address (got ${JSON.stringify(i.sshHost)})`);
        else if (i.sshHost.length > 253)
            fail("sshHost", `${shown(i.sshHost)} is ${i.sshHost.length} characters long: a host name has at most 253`);
        else if (!HOSTNAME.test(i.sshHost)) fail("sshHost", `${shown(i.sshHost)} is not a host name or address`);
    }
    if (known(i.sshPort) && (typeof i.sshPort !== "number" || !Number.isInteger(i.sshPort) || i.sshPort < 0 || i.sshPort > 65535))
        fail("sshPort", `"${String(i.sshPort)}" is not a TCP port: use 1-65535, or 0 for the default`);
    if (known(i.sshUsername)) fail("sshUsername", nameProblem(i.sshUsername, UNIX_USER_RULE));
    if (
        known(i.buildTimeoutMinutes) &&
        (typeof i.buildTimeoutMinutes !== "number" || !(i.buildTimeoutMinutes > 0) || i.buildTimeoutMinutes > 24 * 60)
    )
        fail("buildTimeoutMinutes", `"${String(i.buildTimeoutMinutes)}" is not a usable deadline: give minutes between 1 and 1440`);
    return out;
}
