/**
 * The project's tag scheme and name scheme: the one place that says what "ours" means.
 *
 * Used by the image provider (tags it asks Packer to put on the image, its snapshots, the builder
 * instance and volumes), the program (tags on every AmiCopy), the janitor (what it may sweep) and
 * the tests' inventory (what must be gone after destroy). Pure: no I/O.
 */

/** The value of the {@link TAG.project} tag on everything this project creates. */
export const PROJECT = "couchbase-images";

/** Tag keys. Values are strings; absent tags mean "not ours" (the janitor never touches those). */
export const TAG = {
    /** Always {@link PROJECT}. The janitor's first filter. */
    project: "Project",
    /** The Pulumi stack that made the object (e.g. `dev`, `local-alice`). */
    stack: "Stack",
    /** Who asked for it (config `owner`, defaults to the OS user). */
    owner: "Owner",
    /** `dev`, `stage`, `prod` or `local`. The janitor never touches `prod`. */
    environment: "Environment",
    /** Full sha256 fingerprint of the image's input set. */
    fingerprint: "Fingerprint",
    /** Deterministic id of one build (stack + fingerprint): lets a retry or the janitor adopt or clean. */
    buildId: "BuildId",
    /** ISO-8601 time after which the janitor may delete the object, or `never`. */
    expiresAt: "ExpiresAt",
    /** Release name for production images (e.g. `couchbase-cloud-server-v0.1.17`), else empty. */
    release: "Release",
    /** Region the object was copied from, on AmiCopy images. */
    sourceRegion: "SourceRegion",
    /** Image id the object was copied from, on AmiCopy images. */
    sourceImage: "SourceImage",
    /** Always `pulumi`. */
    managedBy: "ManagedBy",
} as const;

export type Tags = Record<string, string>;

/** True when the tags mark an object as this project's. */
export function isOurs(tags: Tags | undefined): boolean {
    return tags?.[TAG.project] === PROJECT;
}

/** True when the tags mark an object as belonging to a production environment. */
export function isProduction(tags: Tags | undefined): boolean {
    return tags?.[TAG.environment] === "prod";
}

/** Converts the EC2 API's `[{Key, Value}]` list into a plain map. */
export function tagMap(list: ReadonlyArray<{ Key?: string; Value?: string }> | undefined): Tags {
    const out: Tags = {};
    for (const t of list ?? []) {
        if (t.Key !== undefined) out[t.Key] = t.Value ?? "";
    }
    return out;
}

/** Converts a plain map into the EC2 API's `[{Key, Value}]` list, sorted by key (stable output). */
export function tagList(tags: Tags): { Key: string; Value: string }[] {
    return Object.keys(tags)
        .sort()
        .map((Key) => ({ Key, Value: tags[Key] }));
}

/** EC2 `tag:<key>` filters for every tag in `tags`, sorted by key. */
export function tagFilters(tags: Tags | undefined): { Name: string; Values: string[] }[] {
    return Object.keys(tags ?? {})
        .sort()
        .map((k) => ({ Name: `tag:${k}`, Values: [(tags as Tags)[k]] }));
}

/** True when `have` carries every tag in `want` with the same value. */
export function hasTags(have: Tags, want: Tags | undefined): boolean {
    return Object.keys(want ?? {}).every((k) => have[k] === (want as Tags)[k]);
}
