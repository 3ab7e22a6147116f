/**
 * Image names and tags. Pure.
 *
 * Name: `<prefix>-<release or stack>-<fingerprint[0:12]>`: unique per stack (or release) and input
 * set, so two developers' stacks never collide and a replacement never needs the old name.
 */
import { PROJECT, TAG, type Tags } from "../ec2/tags";
import { sha256Hex } from "./fingerprint";

/** Characters EC2 allows in an image name. */
const AMI_NAME_CHARS = /[^A-Za-z0-9()[\] ./'@_-]/g;

/** Builds the image name; any character EC2 rejects becomes `-`; at most 128 characters. */
export function imageName(prefix: string, stackOrRelease: string, fingerprint: string): string {
    const fp = fingerprint.slice(0, 12);
    const middle = stackOrRelease.replace(AMI_NAME_CHARS, "-");
    const room = 128 - prefix.length - fp.length - 2;
    return `${prefix}-${middle.slice(0, Math.max(1, room))}-${fp}`;
}

/** Deterministic id of one build: the same stack and fingerprint always give the same id. */
export function buildId(stack: string, fingerprint: string): string {
    return sha256Hex(`${stack}\n${fingerprint}`).slice(0, 16);
}

/**
 * `ExpiresAt` tag value: `never` for prod or release images or a TTL of 0, else `created + ttl`
 * as ISO-8601 without milliseconds.
 */
export function expiresAt(created: Date, ttlHours: number, environment: string, release: string): string {
    if (environment === "prod" || release !== "" || ttlHours <= 0) return "never";
    return new Date(created.getTime() + ttlHours * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export interface TagInputs {
    stack: string;
    owner: string;
    environment: string;
    release: string;
    ttlHours: number;
    extraTags: Record<string, string>;
    couchbaseVersion: string;
    agentSha256: string;
}

/**
 * The tags on the image, its snapshots and the builder. Project tags win over `extraTags` (the
 * validator rejects collisions anyway).
 */
export function imageTags(i: TagInputs, name: string, fingerprint: string, created: Date): Tags {
    const tags: Tags = { ...i.extraTags };
    tags.Name = name;
    tags[TAG.project] = PROJECT;
    tags[TAG.stack] = i.stack;
    tags[TAG.owner] = i.owner;
    tags[TAG.environment] = i.environment;
    tags[TAG.fingerprint] = fingerprint;
    tags[TAG.buildId] = buildId(i.stack, fingerprint);
    tags[TAG.expiresAt] = expiresAt(created, i.ttlHours, i.environment, i.release);
    tags[TAG.managedBy] = "pulumi";
    if (i.release) tags[TAG.release] = i.release;
    tags.CouchbaseVersion = i.couchbaseVersion;
    tags.AgentSha256 = i.agentSha256;
    return tags;
}

/** The tags `create` looks for to adopt an existing image instead of building again. */
export function adoptTags(stack: string, fingerprint: string): Tags {
    return { [TAG.project]: PROJECT, [TAG.stack]: stack, [TAG.fingerprint]: fingerprint };
}

/** `2026-11-25T12:00:00Z` → `20261125T120000Z` (for file names). */
export function fileStamp(d: Date): string {
    return d
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}Z$/, "Z");
}
