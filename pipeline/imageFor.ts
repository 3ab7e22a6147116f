/**
 * How cluster provisioning picks the image for a region and architecture from a versions file
 * (`versions/<stack>.json`), of either schema version. Pure, no dependencies: copy it or import it.
 *
 * - schemaVersion 2: `architectures[<arch>].images[<region>].imageId`.
 * - schemaVersion 1 (written before architectures existed): the one image is amd64's,
 *   `images[<region>].imageId`; such a file has no arm64 image.
 */

/** The image of `arch` in `region`, or undefined when the stack built no such image there. */
export function imageFor(doc: unknown, region: string, arch: "amd64" | "arm64"): string | undefined {
    if (doc === null || typeof doc !== "object") throw new Error("versions file: not a JSON object");
    const d = doc as { schemaVersion?: unknown; images?: unknown; architectures?: unknown };
    let images: unknown;
    if (d.schemaVersion === 2) {
        const byArch = d.architectures as Record<string, { images?: unknown } | undefined> | undefined;
        images = own(byArch, arch)?.images;
    } else if (d.schemaVersion === 1) {
        images = arch === "amd64" ? d.images : undefined;
    } else {
        throw new Error(
            `versions file: schemaVersion ${JSON.stringify(d.schemaVersion)} is not one this reader knows (1 or 2); update the reader (versions/README.md)`,
        );
    }
    const id = own(images as Record<string, { imageId?: unknown } | undefined> | undefined, region)?.imageId;
    return typeof id === "string" ? id : undefined;
}

/** `o[key]` when `o` is an object holding `key` itself (never a prototype's property such as `constructor`). */
function own<T>(o: Record<string, T> | undefined, key: string): T | undefined {
    return o !== null && typeof o === "object" && Object.prototype.hasOwnProperty.call(o, key) ? o[key] : undefined;
}
