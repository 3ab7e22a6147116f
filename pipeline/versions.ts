/**
 * The versions document (`versions/<stack>.json`): built from the pipeline's resolved outputs,
 * checked against the rules of `versions/schema.json`, serialized canonically. Pure.
 *
 * The JSON schema in the repository is the published contract for cluster provisioning; this
 * module's checker mirrors it so the program needs no schema library at run time, and a unit test
 * validates every document it builds against the schema itself with ajv, keeping the two in step.
 */

/** Shape of the document; see versions/schema.json for the field meanings. */
export interface VersionsDoc {
    schemaVersion: 1;
    project: string;
    stack: string;
    environment: string;
    release: string;
    imageName: string;
    fingerprint: string;
    buildRegion: string;
    images: Record<string, { imageId: string; sourceRegion: string }>;
    couchbase: { edition: string; version: string };
    agent: { version: string; sha256: string };
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

export interface VersionsInput {
    project: string;
    stack: string;
    environment: string;
    release?: string;
    imageName: string;
    fingerprint: string;
    buildRegion: string;
    buildImageId: string;
    /** Copy region → image id. */
    copies: Record<string, string>;
    couchbaseEdition: string;
    couchbaseVersion: string;
    agentVersion: string;
    agentSha256: string;
    packerVersion: string;
    createdAt: string;
    /** The boot test's record (see {@link BootTestRecord}). */
    bootTest: BootTestRecord;
}

/** Builds the document; regions in sorted order so the text is stable. */
export function buildVersionsDoc(i: VersionsInput): VersionsDoc {
    const images: VersionsDoc["images"] = {};
    const regions = [i.buildRegion, ...Object.keys(i.copies)].sort();
    for (const r of regions) {
        images[r] = r === i.buildRegion
            ? { imageId: i.buildImageId, sourceRegion: i.buildRegion }
            : { imageId: i.copies[r], sourceRegion: i.buildRegion };
    }
    return {
        schemaVersion: 1,
        project: i.project,
        stack: i.stack,
        environment: i.environment,
        release: i.release ?? "",
        imageName: i.imageName,
        fingerprint: i.fingerprint,
        buildRegion: i.buildRegion,
        images,
        couchbase: { edition: i.couchbaseEdition, version: i.couchbaseVersion },
        agent: { version: i.agentVersion, sha256: i.agentSha256 },
        packerVersion: i.packerVersion,
        createdAt: i.createdAt,
        bootTest: i.bootTest,
    };
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const AMI = /^ami-[0-9a-f]{8,17}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const VERSION = /^\d+\.\d+\.\d+(-\d+)?$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Every way the document breaks versions/schema.json, as `path: problem` lines; empty when valid. */
export function versionsProblems(d: VersionsDoc): string[] {
    const out: string[] = [];
    const check = (ok: boolean, where: string, what: string): void => {
        if (!ok) out.push(`${where}: ${what}`);
    };
    check(d.schemaVersion === 1, "schemaVersion", "must be 1");
    check(d.project === "couchbase-images", "project", "must be couchbase-images");
    check(typeof d.stack === "string" && d.stack.length > 0, "stack", "must not be empty");
    check(["dev", "stage", "prod", "local"].includes(d.environment), "environment", `"${d.environment}" is not dev, stage, prod or local`);
    check(typeof d.release === "string", "release", "must be a string");
    check(typeof d.imageName === "string" && d.imageName.length >= 3 && d.imageName.length <= 128, "imageName", "must be 3-128 characters");
    check(SHA256.test(d.fingerprint), "fingerprint", `"${d.fingerprint}" is not a sha256`);
    check(REGION.test(d.buildRegion), "buildRegion", `"${d.buildRegion}" is not a region`);
    const regions = Object.keys(d.images);
    check(regions.length > 0, "images", "must name at least the build region");
    check(d.buildRegion in d.images, "images", `must contain the build region ${d.buildRegion}`);
    for (const r of regions) {
        check(REGION.test(r), `images.${r}`, "key is not a region");
        check(AMI.test(d.images[r]?.imageId ?? ""), `images.${r}.imageId`, `"${d.images[r]?.imageId}" is not an image id`);
        check(REGION.test(d.images[r]?.sourceRegion ?? ""), `images.${r}.sourceRegion`, "is not a region");
    }
    check(["enterprise", "community"].includes(d.couchbase.edition), "couchbase.edition", `"${d.couchbase.edition}" is not enterprise or community`);
    check(VERSION.test(d.couchbase.version), "couchbase.version", `"${d.couchbase.version}" is not X.Y.Z`);
    check(typeof d.agent.version === "string", "agent.version", "must be a string");
    check(SHA256.test(d.agent.sha256), "agent.sha256", `"${d.agent.sha256}" is not a sha256`);
    check(typeof d.packerVersion === "string" && d.packerVersion.length > 0, "packerVersion", "must not be empty");
    check(DATE_TIME.test(d.createdAt), "createdAt", `"${d.createdAt}" is not an ISO-8601 date-time`);
    if (d.bootTest !== undefined) {
        const b = d.bootTest as Partial<{ enabled: unknown; passed: unknown; at: unknown; checks: unknown }>;
        if (b.enabled === false) check(Object.keys(b).length === 1, "bootTest", "with enabled false holds nothing else");
        else {
            check(b.enabled === true, "bootTest.enabled", "must be true or false");
            check(b.passed === true, "bootTest.passed", "must be true: only a passed test is recorded");
            check(typeof b.at === "string" && DATE_TIME.test(b.at), "bootTest.at", `"${String(b.at)}" is not an ISO-8601 date-time`);
            const checks = Array.isArray(b.checks) ? (b.checks as Partial<BootTestCheck>[]) : undefined;
            check(checks !== undefined && checks.length > 0, "bootTest.checks", "must list at least one check");
            (checks ?? []).forEach((c, n) => {
                check(typeof c.name === "string" && c.name.length > 0, `bootTest.checks[${n}].name`, "must not be empty");
                check(c.status === "passed" || c.status === "skipped", `bootTest.checks[${n}].status`, `"${String(c.status)}" is not passed or skipped`);
                check(typeof c.saw === "string", `bootTest.checks[${n}].saw`, "must be a string");
            });
        }
    }
    return out;
}

/** The file's text: 2-space JSON with a trailing newline (key order is the builder's, fixed). */
export function versionsText(d: VersionsDoc): string {
    return `${JSON.stringify(d, null, 2)}\n`;
}

/** Project-relative path of a stack's versions file. */
export function versionsPath(dir: string, stack: string): string {
    return `${dir.replace(/\/+$/, "")}/${stack}.json`;
}
