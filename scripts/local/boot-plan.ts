/**
 * The pure half of hostd's booted instances (scripts/local/boot.ts does the effects): which build
 * an image was made from, the overlay layers of its root, the cgroup names, and the instance
 * metadata service (IMDSv2) the booted instance sees. No I/O.
 */
import * as crypto from "node:crypto";
import * as path from "node:path";

export type Tags = Readonly<Record<string, string>>;

/** What DescribeImages says about the image an instance was launched from. */
export interface ImageFacts {
    readonly imageId: string;
    /** The image's name (immutable in EC2; a copy keeps its source's). */
    readonly name?: string;
    /** Set by CreateImage (EC2 and moto): the instance the image was made from. */
    readonly sourceInstanceId?: string;
    readonly tags: Tags;
}

/** One build sandbox hostd served (read back from its `instance.json`). */
export interface BuildRecord {
    readonly instanceId: string;
    readonly slot: string;
    /** The instance's tags as hostd last saw them while it ran (Packer's run_tags). */
    readonly tags: Tags;
}

export type BuildMatch =
    | { readonly kind: "build"; readonly build: BuildRecord; readonly how: "source-instance" | "name" | "tags" }
    | { readonly kind: "ambiguous"; readonly slots: readonly string[] }
    | { readonly kind: "none"; readonly why: string };

function sameTags(a: Tags, b: Tags): boolean {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/**
 * The build sandbox an image was made from, by the image's own facts in the EC2 API, never by time:
 * 1. `SourceInstanceId` (CreateImage sets it) names an instance that had a build sandbox;
 * 2. else (a template with Packer's `encrypt_boot` makes the final image with CopyImage and
 *    deregisters the one CreateImage made, and moto's copy keeps no link to its source) among the
 *    builds whose instance this EC2 still knows (`known`: ids DescribeInstances lists, terminated ones included;
 *    a build of an earlier, restarted moto is not one): the one whose instance's `Name` tag is the
 *    image's name (the template names both alike; the name never changes, tags may be edited);
 *    several of those (a rebuild under the same name): the one whose tags equal the image's exactly.
 * Still several: ambiguous. No candidate: none.
 */
export function findBuildOfImage(image: ImageFacts, builds: readonly BuildRecord[], known?: ReadonlySet<string>): BuildMatch {
    if (image.sourceInstanceId) {
        const b = builds.find((x) => x.instanceId === image.sourceInstanceId);
        if (b) return { kind: "build", build: b, how: "source-instance" };
    }
    const candidates = known ? builds.filter((b) => known.has(b.instanceId)) : builds;
    const byName = image.name ? candidates.filter((b) => b.tags.Name === image.name) : [];
    if (byName.length === 1) return { kind: "build", build: byName[0], how: "name" };
    const pool = byName.length > 1 ? byName : candidates;
    const byTags = Object.keys(image.tags).length === 0 ? [] : pool.filter((b) => sameTags(b.tags, image.tags));
    if (byTags.length === 1) return { kind: "build", build: byTags[0], how: "tags" };
    if (byTags.length > 1) return { kind: "ambiguous", slots: byTags.map((b) => b.slot).sort() };
    if (byName.length > 1) return { kind: "ambiguous", slots: byName.map((b) => b.slot).sort() };
    if (image.sourceInstanceId) return { kind: "none", why: `made from ${image.sourceInstanceId}, which had no build sandbox here` };
    return { kind: "none", why: "no build sandbox's instance carried the image's name or tags" };
}

/**
 * overlayfs `lowerdir=` for a root made of `layers` (topmost first: the build's upper dir, then
 * the base root). Throws on a path overlayfs options cannot carry.
 */
export function lowerdirOption(layers: readonly string[]): string {
    if (layers.length === 0) throw new Error("a booted root needs at least one lower layer");
    for (const l of layers) {
        if (!path.isAbsolute(l)) throw new Error(`overlay layer ${l} is not an absolute path`);
        if (/[:,\\\s]/.test(l)) throw new Error(`overlay layer ${l} holds a character overlayfs options cannot carry (: , \\ or a space)`);
    }
    return layers.join(":");
}

/** Every cgroup hostd makes for a booted instance under `sandboxDir` starts with this. */
export function cgroupPrefix(sandboxDir: string): string {
    const h = crypto.createHash("sha256").update(path.resolve(sandboxDir)).digest("hex").slice(0, 10);
    return `cbimg-boot-${h}-`;
}

/** The cgroup of the booted instance in `slot` (one per instance, below each hierarchy's root). */
export function cgroupName(sandboxDir: string, slot: string): string {
    if (!/^[A-Za-z0-9-]+$/.test(slot)) throw new Error(`slot name ${slot} is not [A-Za-z0-9-]+`);
    return `${cgroupPrefix(sandboxDir)}${slot}`;
}

// --- the instance metadata service -------------------------------------------------------------

/** The link-local address EC2 serves metadata on; only ever bound inside a booted instance's own netns. */
export const IMDS_ADDRESS = "169.254.169.254";

/** What the metadata service answers for: the moto instance that was launched. */
export interface InstanceIdentity {
    readonly instanceId: string;
    readonly region: string;
    readonly availabilityZone: string;
    readonly instanceType: string;
    readonly imageId: string;
    readonly privateIp: string;
    readonly accountId: string;
    readonly architecture: string;
    /** ISO time of the launch. */
    readonly pendingTime: string;
    /** The launch key pair (name and OpenSSH public key), when the instance has one. */
    readonly key?: { readonly name: string; readonly publicKey: string };
}

/** `/latest/meta-data/...` path (without that prefix) → value; directories list their entries. */
export function metadataTree(id: InstanceIdentity): Map<string, string> {
    const leaves: [string, string][] = [
        ["ami-id", id.imageId],
        ["hostname", id.instanceId],
        ["instance-id", id.instanceId],
        ["instance-type", id.instanceType],
        ["local-hostname", id.instanceId],
        ["local-ipv4", id.privateIp],
        ["placement/availability-zone", id.availabilityZone],
        ["placement/region", id.region],
    ];
    if (id.key) {
        leaves.push(["public-keys/0/openssh-key", id.key.publicKey.trim()]);
    }
    const tree = new Map<string, string>(leaves);
    // Directory listings, as EC2 prints them: one entry a line, subdirectories with a slash.
    const dirs = new Map<string, Set<string>>();
    for (const [p] of leaves) {
        const parts = p.split("/");
        for (let i = 0; i < parts.length; i++) {
            const dir = parts.slice(0, i).join("/");
            const entry = i === parts.length - 1 ? parts[i] : `${parts[i]}/`;
            if (!dirs.has(dir)) dirs.set(dir, new Set());
            dirs.get(dir)!.add(entry);
        }
    }
    if (id.key) {
        // EC2 lists the keys as <index>=<name>, and <index>/ holds the formats.
        dirs.get("public-keys")!.clear();
        dirs.get("public-keys")!.add(`0=${id.key.name}`);
    }
    for (const [dir, entries] of dirs) tree.set(dir === "" ? "" : `${dir}/`, [...entries].sort().join("\n"));
    return tree;
}

/** `/latest/dynamic/instance-identity/document`, the JSON EC2 serves. */
export function identityDocument(id: InstanceIdentity): string {
    const doc = {
        accountId: id.accountId,
        architecture: id.architecture,
        availabilityZone: id.availabilityZone,
        billingProducts: null,
        devpayProductCodes: null,
        marketplaceProductCodes: null,
        imageId: id.imageId,
        instanceId: id.instanceId,
        instanceType: id.instanceType,
        kernelId: null,
        pendingTime: id.pendingTime,
        privateIp: id.privateIp,
        ramdiskId: null,
        region: id.region,
        version: "2017-09-30",
    };
    return JSON.stringify(doc, null, 2);
}

export const TOKEN_TTL_HEADER = "x-aws-ec2-metadata-token-ttl-seconds";
export const TOKEN_HEADER = "x-aws-ec2-metadata-token";

export interface ImdsRequest {
    readonly method: string;
    /** The request target, e.g. `/latest/meta-data/instance-id` (a query string is ignored). */
    readonly url: string;
    /** Header names in lower case (as Node's http module gives them). */
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface ImdsAnswer {
    readonly status: number;
    readonly body: string;
    readonly contentType: string;
}

/** Session tokens issued so far: token → expiry (ms since the epoch). The caller keeps it. */
export type TokenStore = Map<string, number>;

function header(r: ImdsRequest, name: string): string | undefined {
    const v = r.headers[name];
    return Array.isArray(v) ? v[0] : v;
}

const text = (status: number, body: string): ImdsAnswer => ({ status, body, contentType: "text/plain" });

/**
 * IMDSv2 as EC2 answers it with `http_tokens = required`: `PUT /latest/api/token` with a TTL of
 * 1-21600 s issues a token; every `GET` needs a live token (else 401); a request that carries
 * `X-Forwarded-For` is refused (403: EC2 rejects proxied token requests). Unknown paths are 404.
 * `newToken` makes a fresh random token; `now` is the current time in ms.
 */
export function imdsAnswer(r: ImdsRequest, id: InstanceIdentity, tokens: TokenStore, now: number, newToken: () => string): ImdsAnswer {
    const p = r.url.split("?")[0];
    if (header(r, "x-forwarded-for") !== undefined) return text(403, "Forbidden");
    for (const [t, exp] of tokens) if (exp <= now) tokens.delete(t);
    if (p === "/latest/api/token") {
        if (r.method !== "PUT") return text(405, "Method Not Allowed");
        const ttl = Number(header(r, TOKEN_TTL_HEADER));
        if (!Number.isInteger(ttl) || ttl < 1 || ttl > 21600) return text(400, "Bad Request");
        const t = newToken();
        tokens.set(t, now + ttl * 1000);
        return text(200, t);
    }
    if (r.method !== "GET" && r.method !== "HEAD") return text(405, "Method Not Allowed");
    const token = header(r, TOKEN_HEADER);
    if (!token || !tokens.has(token)) return text(401, "Unauthorized");
    if (p === "/latest/dynamic/instance-identity/document")
        return { status: 200, body: identityDocument(id), contentType: "application/json" };
    if (p === "/latest" || p === "/latest/") return text(200, "dynamic\nmeta-data");
    if (p === "/latest/dynamic/" || p === "/latest/dynamic") return text(200, "instance-identity/");
    if (p === "/latest/dynamic/instance-identity/" || p === "/latest/dynamic/instance-identity") return text(200, "document");
    const prefix = "/latest/meta-data";
    if (p !== prefix && !p.startsWith(`${prefix}/`)) return text(404, "Not Found");
    const rel = p.slice(prefix.length + 1);
    const tree = metadataTree(id);
    const v = tree.get(rel) ?? tree.get(`${rel}/`);
    return v === undefined ? text(404, "Not Found") : text(200, v);
}
