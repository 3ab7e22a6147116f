/**
 * Reads the image id from Packer's manifest post-processor output. Pure: takes the file's text.
 *
 * Format: `{"builds":[{"artifact_id":"us-east-1:ami-…","packer_run_uuid":"…","build_time":…}],
 * "last_run_uuid":"…"}`. The file is fresh per build, yet the parser still insists that the last
 * build belongs to the last run, carries exactly one `region:ami-…` pair, for the expected region.
 */

export interface ManifestImage {
    region: string;
    imageId: string;
    runUuid: string;
    /** Unix seconds, as Packer wrote it (0 when absent). */
    buildTime: number;
}

export interface ManifestExpectations {
    /** The build region. */
    region: string;
    /** Unix seconds the build started: an entry older than this is stale. */
    notBefore?: number;
}

/** Parses a manifest; throws an Error saying what is wrong (the caller adds the file path). */
export function parseManifest(text: string | undefined, expect: ManifestExpectations): ManifestImage {
    if (text === undefined)
        throw new Error(
            "Packer wrote no manifest (the build produced no image, or the template lacks the manifest post-processor writing to var.manifest_path)",
        );
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new Error(`the manifest is not JSON (${(e as Error).message})`, { cause: e });
    }
    if (doc === null || typeof doc !== "object" || !Array.isArray((doc as { builds?: unknown }).builds))
        throw new Error("the manifest has no builds list");
    const { builds, last_run_uuid } = doc as { builds: unknown[]; last_run_uuid?: unknown };
    if (builds.length === 0) throw new Error("the manifest lists no builds");
    const last = builds[builds.length - 1] as { artifact_id?: unknown; packer_run_uuid?: unknown; build_time?: unknown };
    if (typeof last !== "object" || last === null) throw new Error("the manifest's last build is not an object");
    const runUuid = typeof last.packer_run_uuid === "string" ? last.packer_run_uuid : "";
    if (typeof last_run_uuid === "string" && last_run_uuid !== "" && runUuid !== last_run_uuid)
        throw new Error(`the manifest's last build (run ${runUuid || "?"}) is not from the last run (${last_run_uuid}): stale entry`);
    const buildTime = typeof last.build_time === "number" ? last.build_time : 0;
    if (expect.notBefore !== undefined && buildTime !== 0 && buildTime < expect.notBefore)
        throw new Error(
            `the manifest's last build is from ${new Date(buildTime * 1000).toISOString()}, before this build started: stale entry`,
        );
    if (typeof last.artifact_id !== "string" || last.artifact_id === "") throw new Error("the manifest's last build has no artifact_id");
    const pairs = last.artifact_id.split(",").filter((p) => p !== "");
    if (pairs.length !== 1)
        throw new Error(
            `the manifest's artifact_id "${last.artifact_id}" names ${pairs.length} images: the template must build in one region only (copies are AmiCopy resources)`,
        );
    const m = /^([a-z0-9-]+):(ami-[0-9a-f]+)$/.exec(pairs[0]);
    if (!m) throw new Error(`the manifest's artifact_id "${pairs[0]}" is not region:ami-…`);
    if (m[1] !== expect.region) throw new Error(`the manifest's image ${m[2]} is in ${m[1]}, not the build region ${expect.region}`);
    return { region: m[1], imageId: m[2], runUuid, buildTime };
}
