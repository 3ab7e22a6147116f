/**
 * The versions document (`versions/<stack>.json`, schemaVersion 2): built from the pipeline's
 * resolved outputs, one entry per architecture, checked against the rules of
 * `versions/schema.json`, serialized canonically. Pure. Readers: pipeline/imageFor.ts.
 *
 * The JSON schema in the repository is the published contract for cluster provisioning; this
 * module's checker mirrors it so the program needs no schema library at run time, and a unit test
 * validates every document it builds against the schema itself with ajv, keeping the two in step.
 */
import { RULES } from "./inputs";

/** The architectures a document can name (pipeline/architectures.ts). */
export type VersionsArch = "amd64" | "arm64";

/** One architecture's image: its name, fingerprint, per-region ids, agent, build and boot test. */
export interface ArchImages {
    imageName: string;
    fingerprint: string;
    images: Record<string, { imageId: string; sourceRegion: string }>;
    agent: { version: string; sha256: string };
    packerVersion: string;
    createdAt: string;
    bootTest: BootTestRecord;
}

/**
 * Shape of the document (schemaVersion 2); see versions/schema.json for the field meanings.
 * `architectures` holds every architecture's image; the fields of a version 1 document
 * (`imageName` … `bootTest`) repeat the amd64 image's, present exactly when the stack builds amd64,
 * so a reader of version 1 files still finds the amd64 image where it did.
 */
export interface VersionsDoc {
    schemaVersion: 2;
    project: string;
    stack: string;
    environment: string;
    release: string;
    imageName?: string;
    fingerprint?: string;
    buildRegion: string;
    images?: ArchImages["images"];
    couchbase: { edition: string; version: string };
    agent?: ArchImages["agent"];
    packerVersion?: string;
    createdAt?: string;
    bootTest?: BootTestRecord;
    architectures: Partial<Record<VersionsArch, ArchImages>>;
}

/** A version 1 document (one image, amd64; written before architectures existed). */
export interface VersionsDocV1 {
    schemaVersion: 1;
    project: string;
    stack: string;
    environment: string;
    release: string;
    imageName: string;
    fingerprint: string;
    buildRegion: string;
    images: ArchImages["images"];
    couchbase: { edition: string; version: string };
    agent: ArchImages["agent"];
    packerVersion: string;
    createdAt: string;
    /** The boot test of the build-region image (absent in files written before the boot test existed). */
    bootTest?: BootTestRecord;
}

/** One check of the boot test, as its report gives it. */
export interface BootTestCheck {
    name: string;
    status: "passed" | "failed" | "skipped";
    saw: string;
}

/**
 * The versions file's `bootTest` entry: the passed test of the image it names (the file is only
 * written once the test passed), or `{enabled: false}` for a stack with `bootTest: false`.
 */
export type BootTestRecord = { enabled: true; passed: true; at: string; checks: BootTestCheck[] } | { enabled: false };

/** What one architecture's image contributes to the document. */
export interface ArchVersionsInput {
    imageName: string;
    fingerprint: string;
    buildImageId: string;
    /** Copy region → image id. */
    copies: Record<string, string>;
    agentVersion: string;
    agentSha256: string;
    packerVersion: string;
    createdAt: string;
    /** The boot test's record (see {@link BootTestRecord}). */
    bootTest: BootTestRecord;
}

export interface VersionsInput {
    project: string;
    stack: string;
    environment: string;
    release?: string;
    buildRegion: string;
    couchbaseEdition: string;
    couchbaseVersion: string;
    /** Architecture → its image (at least one). */
    architectures: Partial<Record<VersionsArch, ArchVersionsInput>>;
}

/** One architecture's entry; regions in sorted order so the text is stable. */
function archImages(buildRegion: string, a: ArchVersionsInput): ArchImages {
    const images: ArchImages["images"] = {};
    for (const r of [buildRegion, ...Object.keys(a.copies)].sort()) {
        images[r] = { imageId: r === buildRegion ? a.buildImageId : a.copies[r], sourceRegion: buildRegion };
    }
    return {
        imageName: a.imageName,
        fingerprint: a.fingerprint,
        images,
        agent: { version: a.agentVersion, sha256: a.agentSha256 },
        packerVersion: a.packerVersion,
        createdAt: a.createdAt,
        bootTest: a.bootTest,
    };
}

/** Builds the document; architectures and regions in sorted order so the text is stable. */
export function buildVersionsDoc(i: VersionsInput): VersionsDoc {
    const architectures: VersionsDoc["architectures"] = {};
    for (const arch of (Object.keys(i.architectures) as VersionsArch[]).sort()) {
        architectures[arch] = archImages(i.buildRegion, i.architectures[arch] as ArchVersionsInput);
    }
    const amd64 = architectures.amd64;
    return {
        schemaVersion: 2,
        project: i.project,
        stack: i.stack,
        environment: i.environment,
        release: i.release ?? "",
        ...(amd64 ? { imageName: amd64.imageName, fingerprint: amd64.fingerprint } : {}),
        buildRegion: i.buildRegion,
        ...(amd64 ? { images: amd64.images } : {}),
        couchbase: { edition: i.couchbaseEdition, version: i.couchbaseVersion },
        ...(amd64 ? { agent: amd64.agent, packerVersion: amd64.packerVersion, createdAt: amd64.createdAt, bootTest: amd64.bootTest } : {}),
        architectures,
    };
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const AMI = /^ami-[0-9a-f]{8,17}$/;
const SHA256 = /^[0-9a-f]{64}$/;
/** The one Couchbase Server version rule (pipeline/inputs.ts): X.Y.Z. */
const VERSION = RULES.couchbaseVersion.pattern;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Every way the document breaks versions/schema.json, as `path: problem` lines; empty when valid. */
export function versionsProblems(d: VersionsDoc): string[] {
    const out: string[] = [];
    const check = (ok: boolean, where: string, what: string): void => {
        if (!ok) out.push(`${where}: ${what}`);
    };
    check(d.schemaVersion === 2, "schemaVersion", "must be 2");
    check(d.project === "couchbase-images", "project", "must be couchbase-images");
    check(typeof d.stack === "string" && d.stack.length > 0, "stack", "must not be empty");
    check(["dev", "stage", "prod", "local"].includes(d.environment), "environment", `"${d.environment}" is not dev, stage, prod or local`);
    check(typeof d.release === "string", "release", "must be a string");
    check(REGION.test(d.buildRegion), "buildRegion", `"${d.buildRegion}" is not a region`);
    check(
        ["enterprise", "community"].includes(d.couchbase.edition),
        "couchbase.edition",
        `"${d.couchbase.edition}" is not enterprise or community`,
    );
    check(VERSION.test(d.couchbase.version), "couchbase.version", `"${d.couchbase.version}" is not X.Y.Z`);
    const arches = Object.keys(d.architectures ?? {});
    check(arches.length > 0, "architectures", "must name at least one architecture");
    for (const arch of arches) {
        if (arch !== "amd64" && arch !== "arm64") {
            check(false, `architectures.${arch}`, "key is not amd64 or arm64");
            continue;
        }
        archProblems(d.architectures[arch] as ArchImages, d.buildRegion, `architectures.${arch}.`, check);
    }
    // The version 1 fields: the amd64 image's, exactly when there is one.
    const v1Fields = ["imageName", "fingerprint", "images", "agent", "packerVersion", "createdAt", "bootTest"] as const;
    const amd64 = d.architectures?.amd64;
    for (const f of v1Fields) {
        if (amd64) check(JSON.stringify(d[f]) === JSON.stringify(amd64[f]), f, "must repeat architectures.amd64's");
        else check(d[f] === undefined, f, "is the amd64 image's, and the document has none: leave it out");
    }
    return out;
}

/** The rules of one architecture's entry, reported under `at` (`architectures.arm64.`). */
function archProblems(a: ArchImages, buildRegion: string, at: string, check: (ok: boolean, where: string, what: string) => void): void {
    check(
        typeof a.imageName === "string" && a.imageName.length >= 3 && a.imageName.length <= 128,
        `${at}imageName`,
        "must be 3-128 characters",
    );
    check(SHA256.test(a.fingerprint), `${at}fingerprint`, `"${a.fingerprint}" is not a sha256`);
    const regions = Object.keys(a.images ?? {});
    check(regions.length > 0, `${at}images`, "must name at least the build region");
    check(buildRegion in (a.images ?? {}), `${at}images`, `must contain the build region ${buildRegion}`);
    for (const r of regions) {
        check(REGION.test(r), `${at}images.${r}`, "key is not a region");
        check(AMI.test(a.images[r]?.imageId ?? ""), `${at}images.${r}.imageId`, `"${a.images[r]?.imageId}" is not an image id`);
        check(REGION.test(a.images[r]?.sourceRegion ?? ""), `${at}images.${r}.sourceRegion`, "is not a region");
    }
    check(typeof a.agent?.version === "string", `${at}agent.version`, "must be a string");
    check(SHA256.test(a.agent?.sha256 ?? ""), `${at}agent.sha256`, `"${a.agent?.sha256}" is not a sha256`);
    check(typeof a.packerVersion === "string" && a.packerVersion.length > 0, `${at}packerVersion`, "must not be empty");
    check(DATE_TIME.test(a.createdAt), `${at}createdAt`, `"${a.createdAt}" is not an ISO-8601 date-time`);
    const b = a.bootTest as Partial<{ enabled: unknown; passed: unknown; at: unknown; checks: unknown }> | undefined;
    if (b === undefined) {
        check(false, `${at}bootTest`, "is required: the passed test, or {enabled: false}");
    } else if (b.enabled === false) check(Object.keys(b).length === 1, `${at}bootTest`, "with enabled false holds nothing else");
    else {
        check(b.enabled === true, `${at}bootTest.enabled`, "must be true or false");
        check(b.passed === true, `${at}bootTest.passed`, "must be true: only a passed test is recorded");
        check(typeof b.at === "string" && DATE_TIME.test(b.at), `${at}bootTest.at`, `"${String(b.at)}" is not an ISO-8601 date-time`);
        const checks = Array.isArray(b.checks) ? (b.checks as Partial<BootTestCheck>[]) : undefined;
        check(checks !== undefined && checks.length > 0, `${at}bootTest.checks`, "must list at least one check");
        (checks ?? []).forEach((c, n) => {
            check(typeof c.name === "string" && c.name.length > 0, `${at}bootTest.checks[${n}].name`, "must not be empty");
            check(
                c.status === "passed" || c.status === "skipped",
                `${at}bootTest.checks[${n}].status`,
                `"${String(c.status)}" is not passed or skipped`,
            );
            check(typeof c.saw === "string", `${at}bootTest.checks[${n}].saw`, "must be a string");
        });
    }
}

/** The file's text: 2-space JSON with a trailing newline (key order is the builder's, fixed). */
export function versionsText(d: VersionsDoc): string {
    return `${JSON.stringify(d, null, 2)}\n`;
}

/** Project-relative path of a stack's versions file. */
export function versionsPath(dir: string, stack: string): string {
    return `${dir.replace(/\/+$/, "")}/${stack}.json`;
}
