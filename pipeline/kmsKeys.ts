/**
 * Which KMS key forms each region of a stack takes. Pure.
 *
 * - **Build region** (Packer's `kms_key_id`): a key id, `mrk-…` id, `alias/…`, key ARN or alias
 *   ARN: packer-plugin-amazon 1.8.2 accepts all five (`ValidateKmsKey` in builder/common/ami_config.go)
 *   and EC2 resolves them (providers/packer/validate.ts's rule). An ARN must name the build region.
 * - **Copy regions** (`aws.ec2.AmiCopy.kmsKeyId`): only an ARN, of a key or alias in that copy
 *   region. The provider validates the field as an ARN (terraform-provider-aws `aws_ami_copy`,
 *   `verify.ValidARN`), and CopyImage needs a key of the destination region; AWS checks it only
 *   after the copy has started, so a wrong region fails minutes later.
 */

/** `arn:<partition>:kms:<region>:<account>:key/<id>` or `…:alias/<name>`. */
const KMS_ARN = /^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):(key|alias)\/([A-Za-z0-9/_-]+)$/;

/** The parts of a KMS key or alias ARN, or undefined when `key` is no such ARN. */
export function parseKmsArn(
    key: string,
): { partition: string; region: string; account: string; kind: "key" | "alias"; name: string } | undefined {
    const m = KMS_ARN.exec(key);
    if (!m) return undefined;
    return { partition: m[1], region: m[2], account: m[3], kind: m[4] as "key" | "alias", name: m[5] };
}

/** The command that prints a key's ARN, for messages. */
function describeKeyCommand(region: string, key: string): string {
    return `aws kms describe-key --region ${region} --key-id ${key} --query KeyMetadata.Arn --output text`;
}

/**
 * What is wrong with the key of a copy region, or undefined. `""` (the region's default EBS key)
 * is fine. Messages name the region and the fix.
 */
export function copyKmsKeyProblem(key: string, region: string): string | undefined {
    if (key === "") return undefined;
    const arn = parseKmsArn(key);
    if (!arn) {
        return (
            `"${key}" is not a key ARN: a copy region's key must be the full ARN of a key (or alias) in ${region} ` +
            `(arn:aws:kms:${region}:<account>:key/<key id>), because the copy (AmiCopy) takes only ARNs; ` +
            `\`${describeKeyCommand(region, key)}\` prints it`
        );
    }
    if (arn.region !== region) {
        return (
            `"${key}" is a key in ${arn.region}, but this copy is made in ${region}: CopyImage needs a key of the ` +
            `destination region; give the ARN of a key in ${region} (a multi-Region key's replica there has its own ARN)`
        );
    }
    return undefined;
}

/**
 * What is wrong with the build region's key beyond its form (which providers/packer/validate.ts
 * checks), or undefined: an ARN must be of a key in the build region.
 */
export function buildKmsKeyRegionProblem(key: string, region: string): string | undefined {
    const arn = parseKmsArn(key);
    if (!arn || arn.region === region) return undefined;
    return `"${key}" is a key in ${arn.region}, but the image is built in ${region}: give a key of ${region} (its id, alias/… or ARN)`;
}
