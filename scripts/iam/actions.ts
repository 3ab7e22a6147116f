/**
 * The one list of AWS actions this project needs, per role, each with why. The policy files in
 * docs/iam/ are generated from it (scripts/iam/policies.ts, written by scripts/iam/write.ts), and
 * test/unit/iam.test.ts fails when the code, the template or the copies need an action missing here.
 *
 * Roles (docs/iam/README.md):
 * - `build`: whoever runs preview/up/destroy: Packer in the build region, the image resource's
 *   provider (read, adopt, re-tag, delete) and the preflight's read-only checks.
 * - `copies`: the same principal in each copy region: the AmiCopy resources, created and destroyed,
 *   and the CopySnapshotTags resources (providers/copySnapshotTagsProvider.ts) that tag their snapshots.
 * - `janitor`: the sweeper (janitor/cli.ts); dry runs need only its Describe actions.
 */

/** Who needs an action. */
export type Role = "build" | "copies" | "janitor";

/**
 * Extra limits on a statement:
 * - `viaEc2`: KMS use that EC2 makes on the caller's behalf (encrypted volumes, snapshots, copies),
 *   allowed only through EC2 (`kms:ViaService`).
 * - `projectTag`: only on objects tagged `Project=couchbase-images` (destructive janitor actions).
 */
export type Scope = "any" | "viaEc2" | "projectTag";

/** One action one role needs. */
export interface ActionUse {
    /** `service:Action`, exactly as IAM spells it (no wildcards). */
    action: string;
    /** The role whose policy gets it. */
    role: Role;
    /** Which part of the project calls it, and for what. */
    why: string;
    /** Default `any`. */
    scope?: Scope;
}

const KMS_VIA_EC2 = [
    "kms:CreateGrant",
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
];

export const ACTIONS: readonly ActionUse[] = [
    // ---- build: Packer (docs/iam/packer-plugin-amazon-1.8.2.json), the image provider, the preflight
    {
        role: "build",
        action: "ec2:DescribeRegions",
        why: "Packer checks the build region exists (skip_region_validation false); the preflight checks the stack's regions are enabled",
    },
    {
        role: "build",
        action: "ec2:DescribeImages",
        why: "Packer: image name check, base image filter, waits; the provider: read, adopt by tags, delete; the preflight: the base image",
    },
    {
        role: "build",
        action: "ec2:DescribeVpcs",
        why: "Packer refuses a non-default vpcId without subnetId; the preflight looks for the default VPC",
    },
    {
        role: "build",
        action: "ec2:DescribeSubnets",
        why: "Packer reads the subnet's zone and VPC; the preflight checks it maps public IPs",
    },
    {
        role: "build",
        action: "ec2:DescribeInstanceTypeOfferings",
        why: "Packer, with associatePublicIpAddress and no subnetId: picks a default-VPC zone that offers the instance type",
    },
    { role: "build", action: "ec2:CreateKeyPair", why: "Packer's temporary SSH key pair" },
    { role: "build", action: "ec2:DeleteKeyPair", why: "Packer removes its temporary key pair" },
    { role: "build", action: "ec2:CreateSecurityGroup", why: "Packer's temporary security group" },
    { role: "build", action: "ec2:DescribeSecurityGroups", why: "Packer waits for its temporary security group" },
    { role: "build", action: "ec2:AuthorizeSecurityGroupIngress", why: "Packer admits SSH from sshCidrs" },
    { role: "build", action: "ec2:DeleteSecurityGroup", why: "Packer removes its temporary security group" },
    { role: "build", action: "ec2:RunInstances", why: "Packer starts the builder instance" },
    { role: "build", action: "ec2:DescribeInstances", why: "Packer waits for the builder and reads its address" },
    { role: "build", action: "ec2:StopInstances", why: "Packer stops the builder before CreateImage" },
    { role: "build", action: "ec2:TerminateInstances", why: "Packer terminates the builder" },
    { role: "build", action: "ec2:DescribeVolumes", why: "Packer looks for launch volumes left at cleanup" },
    { role: "build", action: "ec2:DeleteVolume", why: "Packer deletes such volumes" },
    { role: "build", action: "ec2:CreateImage", why: "Packer makes the image" },
    { role: "build", action: "ec2:ModifyImageAttribute", why: "Packer sets the description and ImdsSupport v2.0 on the image" },
    {
        role: "build",
        action: "ec2:CreateTags",
        why: "Packer tags the builder, key pair, security group, volumes, image and snapshots (also at creation); the provider re-tags on update",
    },
    { role: "build", action: "ec2:DeleteTags", why: "the provider removes tags on update (providers/packer/provider.ts)" },
    {
        role: "build",
        action: "ec2:DeregisterImage",
        why: "Packer removes its temporary or half-made image; the provider deletes the image (destroy, failed build)",
    },
    { role: "build", action: "ec2:DeleteSnapshot", why: "Packer and the provider delete the image's snapshots" },
    {
        role: "build",
        action: "ec2:DescribeSnapshots",
        why: "the provider lists the image's snapshots (refresh after an out-of-band deregistration) and a dead build's leftovers",
    },
    {
        role: "build",
        action: "ec2:DescribeKeyPairs",
        why: "the provider finds Packer's temporary key pair when it removes a killed build's leftovers itself",
    },
    ...KMS_VIA_EC2.map((action): ActionUse => ({
        role: "build",
        action,
        scope: "viaEc2",
        why: "EBS encryption with the build region's kmsKeyIds key: the builder volume, the image's snapshots",
    })),
    {
        role: "build",
        action: "kms:DescribeKey",
        why: "the preflight checks each kmsKeyIds key exists in its region and is enabled (scripts/preflight.ts)",
    },
    {
        role: "build",
        action: "iam:SimulatePrincipalPolicy",
        why: "the preflight simulates these policies' actions for the caller (read-only; optional: without it the preflight warns and goes on; narrow Resource to your own user or role ARN)",
    },

    // ---- copies: AmiCopy in each copy region (docs/iam/pulumi-aws-amicopy.json)
    { role: "copies", action: "ec2:CopyImage", why: "AmiCopy create; also authorized against the source image in the build region" },
    { role: "copies", action: "ec2:DescribeImages", why: "AmiCopy waits, read and refresh; CopySnapshotTags finds the copy's snapshots" },
    { role: "copies", action: "ec2:CreateTags", why: "AmiCopy tags the copy; CopySnapshotTags tags its snapshots the same" },
    { role: "copies", action: "ec2:DeleteTags", why: "AmiCopy tag updates" },
    { role: "copies", action: "ec2:ModifyImageAttribute", why: "AmiCopy description updates" },
    { role: "copies", action: "ec2:DeregisterImage", why: "AmiCopy delete" },
    { role: "copies", action: "ec2:DeleteSnapshot", why: "AmiCopy delete removes the copy's snapshots" },
    ...KMS_VIA_EC2.map((action): ActionUse => ({
        role: "copies",
        action,
        scope: "viaEc2",
        why: "the encrypted copy: the copy region's kmsKeyIds key, and the source image's key",
    })),

    // ---- janitor: janitor/cli.ts
    { role: "janitor", action: "ec2:DescribeRegions", why: "--all-regions lists the enabled regions" },
    { role: "janitor", action: "ec2:DescribeImages", why: "finds the project's images" },
    { role: "janitor", action: "ec2:DescribeSnapshots", why: "finds tagged and mapped snapshots" },
    { role: "janitor", action: "ec2:DescribeInstances", why: "finds builders left running; waits for termination" },
    { role: "janitor", action: "ec2:DescribeKeyPairs", why: "finds Packer's temporary key pairs" },
    { role: "janitor", action: "ec2:DescribeSecurityGroups", why: "finds Packer's temporary security groups" },
    { role: "janitor", action: "ec2:TerminateInstances", scope: "projectTag", why: "--delete: builders left running" },
    { role: "janitor", action: "ec2:DeregisterImage", scope: "projectTag", why: "--delete: expired images" },
    { role: "janitor", action: "ec2:DeleteSecurityGroup", scope: "projectTag", why: "--delete: temporary security groups" },
    {
        role: "janitor",
        action: "ec2:DeleteSnapshot",
        why: "--delete: snapshots of deleted images and orphans (unconditioned: a snapshot reached through an image's mapping may carry no tags)",
    },
    { role: "janitor", action: "ec2:DeleteKeyPair", why: "--delete: Packer's packer_… key pairs, which may carry no tags" },
];

/** Actions of one role (sorted, unique), whatever their scope. */
export function actionsOf(role: Role, list: readonly ActionUse[] = ACTIONS): string[] {
    return [...new Set(list.filter((a) => a.role === role).map((a) => a.action))].sort();
}
