/**
 * The pipeline as one component: agent → image → boot test → copies → versions file.
 *
 * Children (names derived from the component's name, all `parent: this`):
 * - `<name>-agent`          command:local:Command running agent/build.sh (absent with a prebuilt artifact)
 * - `<name>-image`          pulumi-nodejs:dynamic/packer:Image (providers/packerImage.ts)
 * - `<name>-boot-test`      pulumi-nodejs:dynamic/packer:BootTest (providers/bootTest.ts): the new image
 *                           booted and checked; the copies and the versions file depend on it (absent
 *                           with `bootTest: false`)
 * - `<name>-aws`            pulumi:providers:aws, build region (only with copy regions)
 * - `<name>-copy-<region>`  aws:ec2/amiCopy:AmiCopy, one per copy region, all in parallel
 * - `<name>-versions`       pulumi-nodejs:dynamic/versions:File, versions/<stack>.json
 *
 * With no copy regions the component registers no aws resource and calls no aws function, and with
 * a prebuilt agent no command resource, so such a stack runs without either provider plugin.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

import { stackPin } from "../providers/packer/couchbasePackages";
import { TAG } from "../providers/ec2/tags";
import { PackerImage } from "../providers/packerImage";
import { BootTest } from "../providers/bootTest";
import { lastSha256Line } from "./agentSources";
import { buildVersionsDoc, versionsPath, versionsProblems, versionsText, type BootTestRecord } from "./versions";
import { VersionsFile } from "./versionsFile";

/** Where the command resource's build puts the agent (project-relative, git-ignored). */
export const AGENT_OUT_DIR = ".build/agent";

/**
 * The agent command's script: constant text, the values reach it as environment variables (no
 * interpolation). Its last stdout line is the artifact's sha256 (agent/build.sh).
 */
export const AGENT_BUILD_SCRIPT = 'exec bash agent/build.sh --out "$DP_AGENT_OUT" --arch "$DP_AGENT_ARCH" --provider aws';

/** The environment {@link AGENT_BUILD_SCRIPT} runs with. */
export function agentBuildEnvironment(arch: "amd64" | "arm64"): Record<string, string> {
    return { DP_AGENT_OUT: AGENT_OUT_DIR, DP_AGENT_ARCH: arch };
}

/** How the agent reaches the image. */
export type AgentInput =
    | {
          /** Build with agent/build.sh in a command resource. */
          kind: "build";
          /** Target architecture. */
          arch: "amd64" | "arm64";
          /** Replace (rebuild) when any element changes; see pipeline/agentSources.ts `agentTriggers`. */
          triggers: string[];
      }
    | {
          /** Use an artifact an earlier step built; no command resource. */
          kind: "prebuilt";
          /** Project-relative path of `dp-agent.gz`. */
          artifact: string;
          /** Its sha256, already verified against the file (pipeline/agentFiles.ts). */
          sha256: string;
      };

/**
 * Arguments of {@link ImagePipeline}. Plain values where they decide which resources exist (copy
 * regions, agent source); everything else may be an Input. "Rebuild" means a new image (and
 * new copies); "tags only" means an in-place update.
 */
export interface ImagePipelineArgs {
    /** Pulumi stack name; part of the image name and the `Stack` tag. Rebuild. */
    stack: string;
    /** Region where Packer builds the image. Rebuild. */
    buildRegion: string;
    /** Regions to copy the image to: one encrypted AmiCopy each. Empty = no copies, no aws plugin needed. */
    copyRegions: string[];
    /** Agent: built by a command resource, or a prebuilt verified artifact. */
    agent: AgentInput;
    /** Agent version label (agent/VERSION) for the versions file and outputs. No rebuild. */
    agentVersion: string;
    /** Builder instance type. Rebuild. */
    instanceType: pulumi.Input<string>;
    /** `enterprise` or `community`. Rebuild. */
    couchbaseEdition: string;
    /** Couchbase Server version, X.Y.Z. Rebuild. */
    couchbaseVersion: string;
    /** `download`, `repository` or a project-relative folder holding the `.deb`. Rebuild. */
    couchbasePackageSource: pulumi.Input<string>;
    /**
     * The stack's pins of downloaded packages, version → architecture → sha256, for versions the
     * project's table lacks; the image gets the one of couchbaseVersion and `architecture`.
     * Rebuild in download mode when that one changes; unused otherwise.
     */
    couchbasePackageSha256: Record<string, Record<string, string>>;
    /** CPU architecture of the image, `amd64` or `arm64` (picks the downloaded package). Rebuild in download mode. */
    architecture: "amd64" | "arm64";
    /** URL of Couchbase's couchbase-release .deb. Rebuild in repository mode; unused otherwise. */
    couchbaseReleaseUrl: pulumi.Input<string>;
    /** Pinned sha256 of that .deb; required in repository mode. Rebuild in repository mode. */
    couchbaseReleaseSha256: pulumi.Input<string>;
    /** Pinned fingerprints of the signing keys it ships; required in repository mode. Rebuild in repository mode. */
    couchbaseKeyFingerprints: pulumi.Input<string>[];
    /** Explicit base image id; wins over the name filter. Rebuild. */
    baseImageId?: string;
    /** Base image name filter (when no id). Rebuild. */
    baseImageNameFilter: string;
    /** Owners of acceptable base images (when no id). Rebuild. */
    baseImageOwners: string[];
    /** Image name prefix. Rebuild. */
    namePrefix: pulumi.Input<string>;
    /** Release name for production images; replaces the stack in the image name. Rebuild. */
    release?: string;
    /** `dev`, `stage`, `prod` or `local`. Tags only; `prod` keeps the versions file on destroy. */
    environment: string;
    /** Owner tag. Tags only. */
    owner: pulumi.Input<string>;
    /** Hours until non-production images expire (0 = never). Tags only. */
    ttlHours: pulumi.Input<number>;
    /** Extra tags on the image, snapshots and copies. Tags only. */
    extraTags: Record<string, string>;
    /** Region → KMS key for that region's encrypted image. Rebuild (build region) / new copy (copy region). */
    kmsKeyIds: Record<string, string>;
    /** Builder subnet; default VPC's when unset. No rebuild. */
    subnetId?: pulumi.Input<string>;
    /** Builder VPC; default VPC when unset. No rebuild. */
    vpcId?: pulumi.Input<string>;
    /** Public IP on the builder even where the subnet maps none; default false (the subnet decides). No rebuild. */
    associatePublicIpAddress?: pulumi.Input<boolean>;
    /** Builder address SSH goes to (`private_ip` etc.; default "" = public IP, else private). No rebuild. */
    sshInterface?: pulumi.Input<string>;
    /** CIDRs allowed to SSH to the builder. No rebuild. */
    sshCidrs: pulumi.Input<string>[];
    /** EC2 endpoint override (local emulator); also used by the copies' aws provider. No rebuild. */
    ec2Endpoint?: string;
    /** Emulator mode (skip credential/region/metadata validation). No rebuild. */
    emulator: boolean;
    /** SSH host override for the builder. No rebuild. */
    sshHost?: pulumi.Input<string>;
    /** SSH port (0 = default). No rebuild. */
    sshPort: pulumi.Input<number>;
    /** SSH user on the base image. Rebuild. */
    sshUsername: pulumi.Input<string>;
    /** The image provider's own deadline for `packer build`, minutes. No rebuild. */
    buildTimeoutMinutes: pulumi.Input<number>;
    /** Create/update timeout of each AmiCopy, minutes; delete gets twice as long. No change to images. */
    copyTimeoutMinutes: number;
    /** Project-relative folder of the versions file. */
    versionsDir: string;
    /**
     * Folder (relative to the project root) holding the Packer template and its scripts.
     * Default `images/aws`. Its content is part of the fingerprint: an edit forces a rebuild.
     */
    templateDir: string;
    /** Project name (recorded in the versions file). */
    project: string;
    /**
     * Boot test every new image (a BootTest resource) before any copy is made or the versions file
     * names it. false: no test resource, and the versions file records `bootTest: {enabled: false}`.
     */
    bootTest: boolean;
}

/** Couchbase Server images for one stack: the agent, the image, its copies and the versions file. */
export class ImagePipeline extends pulumi.ComponentResource {
    /** Region → image id, build region included. */
    readonly amiIds: pulumi.Output<Record<string, string>>;
    /** Image name (the same in every region). */
    readonly imageName: pulumi.Output<string>;
    /** sha256 fingerprint of the image's input set. */
    readonly fingerprint: pulumi.Output<string>;
    /** sha256 of the agent artifact baked into the image. */
    readonly agentSha256: pulumi.Output<string>;
    /** Project-relative path of the versions file. */
    readonly versionsFile: pulumi.Output<string>;
    /** The image resource (for dependents that need its outputs). */
    readonly image: PackerImage;
    /** The boot test of the image (undefined with `bootTest: false`). */
    readonly bootTest?: BootTest;
    /** What the versions file records of the boot test: the passed checks, or `{enabled: false}`. */
    readonly bootTestResult: pulumi.Output<BootTestRecord>;

    constructor(name: string, args: ImagePipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("couchbase-images:index:ImagePipeline", name, {}, opts);

        // 1. The agent: built here by the agent's own build script, or verified earlier.
        let agentSha256: pulumi.Output<string>;
        let agentArtifact: string;
        const agentDeps: pulumi.Resource[] = [];
        if (args.agent.kind === "build") {
            // Its outputs are unknown at preview (and wherever its triggers changed, such as a
            // checkout without the artifact): the image's check then skips the file, which this
            // command makes before the image is checked again at up.
            const build = new command.local.Command(
                `${name}-agent`,
                { create: AGENT_BUILD_SCRIPT, environment: agentBuildEnvironment(args.agent.arch), triggers: args.agent.triggers },
                { parent: this },
            );
            agentSha256 = build.stdout.apply(lastSha256Line);
            agentArtifact = `${AGENT_OUT_DIR}/dp-agent.gz`;
            agentDeps.push(build);
        } else {
            agentSha256 = pulumi.output(args.agent.sha256);
            agentArtifact = args.agent.artifact;
        }

        // 2. The image, built by Packer in the build region.
        const image = new PackerImage(
            `${name}-image`,
            {
                templateDir: args.templateDir,
                region: args.buildRegion,
                copyRegions: args.copyRegions,
                instanceType: args.instanceType,
                couchbaseEdition: args.couchbaseEdition,
                couchbaseVersion: args.couchbaseVersion,
                couchbasePackageSource: args.couchbasePackageSource,
                couchbasePackageSha256: stackPin(args.couchbasePackageSha256, args.couchbaseVersion, args.architecture),
                architecture: args.architecture,
                couchbaseReleaseUrl: args.couchbaseReleaseUrl,
                couchbaseReleaseSha256: args.couchbaseReleaseSha256,
                couchbaseKeyFingerprints: args.couchbaseKeyFingerprints,
                baseImage: args.baseImageId
                    ? { id: args.baseImageId }
                    : { nameFilter: args.baseImageNameFilter, owners: args.baseImageOwners },
                agentArtifact,
                agentSha256,
                agentVersion: args.agentVersion,
                namePrefix: args.namePrefix,
                stack: args.stack,
                release: args.release,
                environment: args.environment,
                owner: args.owner,
                ttlHours: args.ttlHours,
                extraTags: args.extraTags,
                kmsKeyId: args.kmsKeyIds[args.buildRegion],
                subnetId: args.subnetId,
                vpcId: args.vpcId,
                associatePublicIpAddress: args.associatePublicIpAddress,
                sshInterface: args.sshInterface,
                sshCidrs: args.sshCidrs,
                ec2Endpoint: args.ec2Endpoint,
                emulator: args.emulator,
                sshHost: args.sshHost,
                sshPort: args.sshPort,
                sshUsername: args.sshUsername,
                buildTimeoutMinutes: args.buildTimeoutMinutes,
            },
            { parent: this, dependsOn: agentDeps },
        );

        // 3. The boot test: an instance launched from exactly this image, checked once booted, then
        //    terminated. It fails `up` on any failed check, so nothing below exists for an image that
        //    did not pass; a change of the checks (images/aws/boot-test/, not part of the image's
        //    fingerprint) re-tests the same image.
        let bootTest: BootTest | undefined;
        let bootTestResult: pulumi.Output<BootTestRecord>;
        if (args.bootTest) {
            bootTest = new BootTest(
                `${name}-boot-test`,
                {
                    templateDir: `${args.templateDir}/boot-test`,
                    imageId: image.imageId,
                    imageName: image.imageName,
                    region: args.buildRegion,
                    instanceType: args.instanceType,
                    stack: args.stack,
                    owner: args.owner,
                    environment: args.environment,
                    release: args.release,
                    extraTags: args.extraTags,
                    subnetId: args.subnetId,
                    vpcId: args.vpcId,
                    associatePublicIpAddress: args.associatePublicIpAddress,
                    sshInterface: args.sshInterface,
                    sshCidrs: args.sshCidrs,
                    ec2Endpoint: args.ec2Endpoint,
                    emulator: args.emulator,
                    sshHost: args.sshHost,
                    sshPort: args.sshPort,
                    sshUsername: args.sshUsername,
                },
                { parent: this },
            );
            bootTestResult = pulumi
                .all([bootTest.testedAt, bootTest.checks])
                .apply(([at, checks]): BootTestRecord => ({ enabled: true, passed: true, at, checks: checks.map((c) => ({ name: c.name, status: c.status, saw: c.saw })) }));
        } else {
            bootTestResult = pulumi.output<BootTestRecord>({ enabled: false });
        }
        const tested: pulumi.Resource[] = bootTest ? [bootTest] : [];

        // 4. Copies, one per region, in parallel. The aws SDK is loaded only when needed, so a stack
        //    without copy regions never touches the aws plugin.
        const copyIds: Record<string, pulumi.Output<string>> = {};
        const copies: pulumi.Resource[] = [];
        if (args.copyRegions.length > 0) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const aws: typeof import("@pulumi/aws") = require("@pulumi/aws");
            // An explicit provider: the copies do not depend on `aws:region` being set, and the
            // emulator endpoint (if any) applies to them too. Per-copy `region` overrides its region.
            const provider = new aws.Provider(
                `${name}-aws`,
                {
                    region: args.buildRegion,
                    ...(args.ec2Endpoint
                        ? {
                              endpoints: [{ ec2: args.ec2Endpoint }],
                              skipCredentialsValidation: args.emulator,
                              skipRequestingAccountId: args.emulator,
                              skipMetadataApiCheck: args.emulator,
                              skipRegionValidation: args.emulator,
                          }
                        : {}),
                },
                { parent: this },
            );
            const timeout = `${args.copyTimeoutMinutes}m`;
            for (const region of args.copyRegions) {
                const copy = new aws.ec2.AmiCopy(
                    `${name}-copy-${region}`,
                    {
                        region,
                        // AMI names are unique per region, so the copy keeps the source's name:
                        // one name for the image everywhere (as in the versions file).
                        name: image.imageName,
                        description: pulumi.interpolate`${image.imageName} copied from ${args.buildRegion}`,
                        sourceAmiId: image.imageId,
                        sourceAmiRegion: args.buildRegion,
                        encrypted: true,
                        kmsKeyId: args.kmsKeyIds[region],
                        tags: pulumi.all([image.tags, image.imageId]).apply(([tags, id]) => ({
                            ...tags,
                            [TAG.sourceRegion]: args.buildRegion,
                            [TAG.sourceImage]: id,
                        })),
                    },
                    {
                        parent: this,
                        provider,
                        // Only an image that passed its boot test is copied.
                        dependsOn: tested,
                        customTimeouts: { create: timeout, update: timeout, delete: `${2 * args.copyTimeoutMinutes}m` },
                    },
                );
                copyIds[region] = copy.id;
                copies.push(copy);
            }
        }

        // 5. The versions file, once the image passed its boot test and every copy exists.
        const amiIds = pulumi.all([image.imageId, pulumi.all(copyIds)]).apply(([buildId, copyMap]) => {
            const out: Record<string, string> = { [args.buildRegion]: buildId };
            for (const r of Object.keys(copyMap).sort()) out[r] = copyMap[r];
            return out;
        });
        const text = pulumi
            .all([image.imageName, image.fingerprint, image.packerVersion, image.createdAt, image.imageId, pulumi.all(copyIds), agentSha256, bootTestResult])
            .apply(([imageName, fingerprint, packerVersion, createdAt, buildImageId, copyMap, sha, bootTestRecord]) => {
                const doc = buildVersionsDoc({
                    project: args.project,
                    stack: args.stack,
                    environment: args.environment,
                    release: args.release,
                    imageName,
                    fingerprint,
                    buildRegion: args.buildRegion,
                    buildImageId,
                    copies: copyMap,
                    couchbaseEdition: args.couchbaseEdition,
                    couchbaseVersion: args.couchbaseVersion,
                    agentVersion: args.agentVersion,
                    agentSha256: sha,
                    packerVersion,
                    createdAt,
                    bootTest: bootTestRecord,
                });
                const problems = versionsProblems(doc);
                if (problems.length > 0) {
                    throw new pulumi.ResourceError(`versions file does not match versions/schema.json:\n  - ${problems.join("\n  - ")}`, this);
                }
                return versionsText(doc);
            });
        const file = new VersionsFile(
            `${name}-versions`,
            { path: versionsPath(args.versionsDir, args.stack), text, keep: args.environment === "prod" },
            { parent: this, dependsOn: [image, ...tested, ...copies] },
        );

        this.image = image;
        this.bootTest = bootTest;
        this.bootTestResult = bootTestResult;
        this.amiIds = amiIds;
        this.imageName = image.imageName;
        this.fingerprint = image.fingerprint;
        this.agentSha256 = agentSha256;
        this.versionsFile = file.path;
        this.registerOutputs({
            amiIds: this.amiIds,
            imageName: this.imageName,
            fingerprint: this.fingerprint,
            agentSha256: this.agentSha256,
            versionsFile: this.versionsFile,
            bootTest: this.bootTestResult,
        });
    }
}
