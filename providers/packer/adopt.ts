/**
 * Which existing image `create` may adopt as its own result (after an interrupted `up`). Pure.
 *
 * Found by the adopt tags (Project, Stack, Fingerprint), an image is adopted only when it is
 * available, has exactly the name this build would give it, and every EBS volume of it is
 * encrypted. Tags alone are not enough: with `encrypt_boot` (the template before it encrypted through
 * its launch mapping) Packer made a temporary unencrypted image with a random 7-character name and
 * the same run tags, and a build killed during the encryption copy left it behind.
 */
import type { ImageSummary } from "../ec2/images";

/**
 * Why `img` is not this build's result, or undefined when it may be adopted.
 *
 * @param expectedName the name this build gives its image (providers/packer/naming.ts).
 * @param requireEncrypted false against the local emulator, which reports no encryption on images.
 */
export function adoptProblem(
    img: Pick<ImageSummary, "name" | "state" | "encrypted">,
    expectedName: string,
    requireEncrypted: boolean,
): string | undefined {
    if (img.state !== "available") return `it is ${img.state}, not available`;
    if (img.name !== expectedName)
        return `its name is ${JSON.stringify(img.name)}, not ${JSON.stringify(expectedName)} (an interrupted build's temporary image, not its result)`;
    if (requireEncrypted) {
        const enc = img.encrypted ?? [];
        if (enc.length === 0 || enc.some((e) => e !== true)) return "not every volume of it is encrypted";
    }
    return undefined;
}
