/**
 * The AWS regions this project knows, so that a misspelt or invented region (`us-east-9`) fails at
 * preview naming its config key, instead of later in the aws plugin or Packer without one. Pure
 * data and pure functions: the image provider's `check` runs them in its own process (its code is
 * serialized into state), and the program's config validation runs the same ones.
 *
 * Source: the endpoint partition metadata of the AWS SDK for JavaScript, as installed by
 * package-lock.json (`@aws-sdk/client-ec2` 3.1169.0 → `@aws-sdk/core` 3.981.1, file
 * `dist-es/submodules/client/util-endpoints/lib/aws/partitions.js`, format version 1.1), every
 * partition's `regions` without the `*-global` pseudo-regions; copied 2026-12-01.
 * test/unit/packer/awsRegions.test.ts compares this list with the installed SDK's, so an SDK
 * upgrade that brings new regions says which to add here.
 *
 * Why pinned rather than read from the SDK at run time: that metadata is no public API (the
 * package's `exports` do not expose the file, and `partitionsInfo` is not exported; it has moved
 * before, from `@aws-sdk/util-endpoints`' `partitions.json` into `@aws-sdk/core`), and the
 * provider's serialized code must not depend on which SDK a machine has installed.
 *
 * A region newer than this list: name it in the environment variable
 * {@link EXTRA_REGIONS_ENV} (comma- or space-separated) for the CLI that runs preview/up (the
 * program and the image provider both read it), and add it here in the same change that starts
 * using it for good.
 */

/** Environment variable with regions newer than {@link AWS_REGIONS}, comma- or space-separated. */
export const EXTRA_REGIONS_ENV = "COUCHBASE_IMAGES_EXTRA_REGIONS";

/** Where the list comes from, as the messages cite it. */
export const AWS_REGIONS_SOURCE = "the AWS SDK's region list of 2026-12-01, providers/packer/awsRegions.ts";

/** Partition → its regions. */
export const AWS_PARTITION_REGIONS: Readonly<Record<string, readonly string[]>> = {
    aws: [
        "af-south-1", // Africa (Cape Town)
        "ap-east-1", // Asia Pacific (Hong Kong)
        "ap-east-2", // Asia Pacific (Taipei)
        "ap-northeast-1", // Asia Pacific (Tokyo)
        "ap-northeast-2", // Asia Pacific (Seoul)
        "ap-northeast-3", // Asia Pacific (Osaka)
        "ap-south-1", // Asia Pacific (Mumbai)
        "ap-south-2", // Asia Pacific (Hyderabad)
        "ap-southeast-1", // Asia Pacific (Singapore)
        "ap-southeast-2", // Asia Pacific (Sydney)
        "ap-southeast-3", // Asia Pacific (Jakarta)
        "ap-southeast-4", // Asia Pacific (Melbourne)
        "ap-southeast-5", // Asia Pacific (Malaysia)
        "ap-southeast-6", // Asia Pacific (New Zealand)
        "ap-southeast-7", // Asia Pacific (Thailand)
        "ca-central-1", // Canada (Central)
        "ca-west-1", // Canada West (Calgary)
        "eu-central-1", // Europe (Frankfurt)
        "eu-central-2", // Europe (Zurich)
        "eu-north-1", // Europe (Stockholm)
        "eu-south-1", // Europe (Milan)
        "eu-south-2", // Europe (Spain)
        "eu-west-1", // Europe (Ireland)
        "eu-west-2", // Europe (London)
        "eu-west-3", // Europe (Paris)
        "il-central-1", // Israel (Tel Aviv)
        "me-central-1", // Middle East (UAE)
        "me-south-1", // Middle East (Bahrain)
        "me-west-1", // Middle East (Saudi Arabia)
        "mx-central-1", // Mexico (Central)
        "sa-east-1", // South America (Sao Paulo)
        "sa-west-1", // South America (Chile)
        "us-east-1", // US East (N. Virginia)
        "us-east-2", // US East (Ohio)
        "us-west-1", // US West (N. California)
        "us-west-2", // US West (Oregon)
    ],
    "aws-cn": [
        "cn-north-1", // China (Beijing)
        "cn-northwest-1", // China (Ningxia)
    ],
    "aws-eusc": [
        "eusc-de-east-1", // AWS European Sovereign Cloud (Germany)
    ],
    "aws-iso": ["us-iso-east-1", "us-iso-west-1"],
    "aws-iso-b": ["us-isob-east-1", "us-isob-west-1"],
    "aws-iso-e": ["eu-isoe-west-1"],
    "aws-iso-f": ["us-isof-east-1", "us-isof-south-1"],
    "aws-us-gov": [
        "us-gov-east-1", // AWS GovCloud (US-East)
        "us-gov-west-1", // AWS GovCloud (US-West)
    ],
};

/** Every region of every partition, sorted. */
export const AWS_REGIONS: readonly string[] = Object.values(AWS_PARTITION_REGIONS).flat().sort();

/** The regions named in {@link EXTRA_REGIONS_ENV} of `env` (trimmed, empty entries dropped). */
export function extraRegions(env: Readonly<Record<string, string | undefined>>): string[] {
    return (env[EXTRA_REGIONS_ENV] ?? "").split(/[\s,]+/).filter((r) => r !== "");
}

/** Levenshtein distance, for the "did you mean" of a region that is not known. */
function distance(a: string, b: string): number {
    let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const cur = [i];
        for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
    }
    return prev[b.length];
}

/**
 * Why the well-formed region name `value` is not a region this project knows (neither in
 * {@link AWS_REGIONS} nor in `extra`), or undefined when it is one.
 */
export function unknownRegionProblem(value: string, extra: readonly string[]): string | undefined {
    if (AWS_REGIONS.includes(value) || extra.includes(value)) return undefined;
    const near = AWS_REGIONS.filter((r) => distance(r, value) <= 1);
    const hint = near.length > 0 ? `did you mean ${near.join(" or ")}? ` : "";
    return (
        `"${value}" is not an AWS region this project knows (${AWS_REGIONS_SOURCE}): ${hint}fix the name, or if it is a ` +
        `region newer than the list add it to the environment variable ${EXTRA_REGIONS_ENV} (comma-separated) of the CLI that runs preview and up`
    );
}
