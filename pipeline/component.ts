/**
 * The pipeline as one component: per architecture agent → image → boot test → copies; then one
 * versions file naming every architecture's images.
 *
 * Children (names derived from the component's name, all `parent: this`). Per architecture, with
 * `<a>` = `<name>` for amd64 (the names of one-architecture stacks, unchanged) and `<name>-arm64`
 * for arm64 (pipeline/architectures.ts `childName`):
 * - `<a>-agent`          command:local:Command running agent/build.sh for the architecture (absent with a prebuilt artifact)
 * - `<a>-image`          pulumi-nodejs:dynamic/packer:Image (providers/packer/index.ts)
 * - `<a>-boot-test`      pulumi-nodejs:dynamic/packer:BootTest (providers/bootTest.ts): the new image
 *                        booted and checked; its copies and the versions file depend on it (absent
 *                        with `bootTest: false`)
 * - `<a>-copy-<region>`  aws:ec2/amiCopy:AmiCopy, one per copy region, all in parallel
 * - `<a>-copy-<region>-snapshot-tags`  pulumi-nodejs:dynamic/copy:SnapshotTags
 *                        (providers/copySnapshotTags.ts): the copy's tags on its snapshots
 * Once per stack:
 * - `<name>-aws`         pulumi:providers:aws, build region (only with copy regions)
 * - `<name>-versions`    pulumi-nodejs:dynamic/versions:File, versions/<stack>.json
 *
 * No architecture's resources depend on another's: they build, test and copy in parallel, and one
 * architecture's failure leaves the other's image (and its state) alone. The versions file waits
 * for all of them.
 *
 * With no copy regions the component registers no aws resource and calls no aws function, and with
 * a prebuilt agent no command resource, so such a stack runs without either provider plugin.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";

import { stackPin } from "../providers/packer/couchbasePackages";
import { TAG } from "../providers/ec2/tags";
import { PackerImage } from "../providers/packer";
import { BootTest } from "../providers/bootTest";
import { CopySnapshotTags } from "../providers/copySnapshotTags";
import { lastSha256Line } from "./agentSources";
import {
    agentOutDir,
    ARCHITECTURE_TAG,
    childName,
    emulatorSshPort,
    EMULATOR_EMULATION_LIMITS,
    imageNamePrefix,
    type Arch,
} from "./architectures";
import { buildVersionsDoc, versionsPath, versionsProblems, versionsText, type ArchVersionsInput, type BootTestRecord } from "./versions";
import { VersionsFile } from "./versionsFile";
import type { ConfigArgs, PlainConfigArgs } from "./inputs";

/** Where the command resource's build puts the amd64 agent (project-relative, git-ignored); arm64's: `agentOutDir`. */
export const AGENT_OUT_DIR = agentOutDir("amd64");

/**
 * The agent command's script: constant text, the values reach it as environment variables (no
 * interpolation). Its last stdout line is the artifact's sha256 (agent/build.sh).
 */
export const AGENT_BUILD_SCRIPT = 'exec bash agent/build.sh --out "$DP_AGENT_OUT" --arch "$DP_AGENT_ARCH" --provider aws';

/** The environment {@link AGENT_BUILD_SCRIPT} runs with. */
export function agentBuildEnvironment(arch: "amd64" | "arm64"): Record<string, string> {
    return { DP_AGENT_OUT: agentOutDir(arch), DP_AGENT_ARCH: arch };
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

/** One architecture's image: what differs from the other's. */
export interface ArchitectureArgs {
    /** CPU architecture: the agent's GOARCH, the downloaded package's, the `Architecture` tag. */
    arch: Arch;
    /** Agent for this architecture: built by a command resource, or a prebuilt verified artifact. */
    agent: AgentInput;
    /** Builder and boot test instance type (a Graviton type for arm64). Rebuild. */
    instanceType: pulumi.Input<string>;
    /** Explicit base image id of this architecture; wins over the name filter. Rebuild. */
    baseImageId?: string;
    /** Base image name filter of this architecture (when no id). Rebuild. */
    baseImageNameFilter: string;
}

/** What the component exposes of one architecture's image. */
export interface ArchitectureImage {
    /** The image resource. */
    image: PackerImage;
    /** Its boot test (undefined with `bootTest: false`). */
    bootTest?: BootTest;
    /** What the versions file records of the boot test. */
    bootTestResult: pulumi.Output<BootTestRecord>;
    /** Region → image id, build region included. */
    amiIds: pulumi.Output<Record<string, string>>;
    /** sha256 of the agent artifact baked into the image. */
    agentSha256: pulumi.Output<string>;
}

/** Keys the component takes as parsed, as Inputs (pipeline/inputs.ts documents each). */
type PassedKeys =
    | "couchbasePackageSource"
    | "couchbaseReleaseUrl"
    | "couchbaseReleaseSha256"
    | "owner"
    | "ttlHours"
    | "sshPort"
    | "sshUsername"
    | "buildTimeoutMinutes"
    | "rootVolumeSize"
    | "rootDeviceName";
/** Keys the component takes as parsed plain values: they decide which resources exist, or are used while the program runs. */
type PlainKeys = "buildRegion" | "couchbaseVersion" | "baseImageOwners" | "emulator" | "copyTimeoutMinutes" | "versionsDir";

/**
 * Arguments of {@link ImagePipeline}. The keys passed on unchanged are typed from the config
 * table (pipeline/inputs.ts, which documents them); the rest are shaped by the program (per
 * architecture, agent source, optional values). Plain values where they decide which resources
 * exist (copy regions, agent source); everything else may be an Input. "Rebuild" means a new
 * image (and new copies); "tags only" means an in-place update.
 */
export interface ImagePipelineArgs extends ConfigArgs<PassedKeys>, PlainConfigArgs<PlainKeys> {
    /** Pulumi stack name; part of the image name and the `Stack` tag. Rebuild. */
    stack: string;
    /** Regions to copy the image to: one encrypted AmiCopy each. Empty = no copies, no aws plugin needed. */
    copyRegions: string[];
    /**
     * The architectures to build, each with its own agent, instance type and base image: one
     * image, boot test and set of copies each, in parallel. At least one, each at most once.
     */
    architectures: ArchitectureArgs[];
    /** Agent version label (agent/VERSION) for the versions file and outputs. No rebuild. */
    agentVersion: string;
    /** `enterprise` or `community`. Rebuild. */
    couchbaseEdition: string;
    /**
     * The stack's pins of downloaded packages, version → architecture → sha256, for versions the
     * project's table lacks; the image gets the one of couchbaseVersion and `architecture`.
     * Rebuild in download mode when that one changes; unused otherwise.
     */
    couchbasePackageSha256: Record<string, Record<string, string>>;
    /** Pinned fingerprints of the signing keys it ships; required in repository mode. Rebuild in repository mode. */
    couchbaseKeyFingerprints: pulumi.Input<string>[];
    /**
     * Image name prefix; each image's name carries its architecture after it, except amd64's in a
     * stack that builds amd64 alone (pipeline/architectures.ts `imageNamePrefix`). Rebuild.
     */
    namePrefix: string;
    /** Release name for production images; replaces the stack in the image name. Rebuild. */
    release?: string;
    /** `dev`, `stage`, `prod` or `local`. Tags only; `prod` keeps the versions file on destroy. */
    environment: string;
    /** Extra tags on the image, snapshots and copies. Tags only. */
    extraTags: Record<string, string>;
    /**
     * Literal values of config keys set as secrets (program.ts `readConfig`). When any: the
     * image's and boot test's extraTags and these values reach their resources as secrets
     * (encrypted in state, the image's `tags` output secret too), and the providers mask them in
     * every line they print or log. Default none. No rebuild.
     */
    secretValues?: string[];
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
    /** SSH host override for the builder. No rebuild. */
    sshHost?: pulumi.Input<string>;
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

/** Couchbase Server images for one stack: per architecture the agent, the image, its boot test and copies; the versions file. */
export class ImagePipeline extends pulumi.ComponentResource {
    /** Architecture → its image, boot test, ids and agent. */
    readonly architectures: Partial<Record<Arch, ArchitectureImage>>;
    /** Architecture → region → image id (build region included). */
    readonly amiIdsByArch: pulumi.Output<Partial<Record<Arch, Record<string, string>>>>;
    /** The amd64 image's region → image id (the first architecture's when amd64 is not built). */
    readonly amiIds: pulumi.Output<Record<string, string>>;
    /** That image's name (the same in every region). */
    readonly imageName: pulumi.Output<string>;
    /** sha256 fingerprint of that image's input set. */
    readonly fingerprint: pulumi.Output<string>;
    /** sha256 of the agent artifact baked into that image. */
    readonly agentSha256: pulumi.Output<string>;
    /** Project-relative path of the versions file. */
    readonly versionsFile: pulumi.Output<string>;
    /** That image resource (for dependents that need its outputs). */
    readonly image: PackerImage;
    /** That image's boot test (undefined with `bootTest: false`). */
    readonly bootTest?: BootTest;
    /** What the versions file records of that boot test: the passed checks, or `{enabled: false}`. */
    readonly bootTestResult: pulumi.Output<BootTestRecord>;

    constructor(name: string, args: ImagePipelineArgs, opts?: pulumi.ComponentResourceOptions) {
        super("couchbase-images:index:ImagePipeline", name, {}, opts);
        const arches = args.architectures.map((a) => a.arch);
        if (arches.length === 0 || new Set(arches).size !== arches.length) {
            throw new pulumi.ResourceError(
                `architectures must list each architecture at most once, at least one; got [${arches.join(", ")}]`,
                this,
            );
        }

        // The aws SDK is loaded only when needed, so a stack without copy regions never touches the
        // aws plugin. One explicit provider serves every architecture's copies: the copies do not
        // depend on `aws:region` being set, and the emulator endpoint (if any) applies to them too.
        // Per-copy `region` overrides its region.
        let aws: typeof import("@pulumi/aws") | undefined;
        let provider: import("@pulumi/aws").Provider | undefined;
        if (args.copyRegions.length > 0) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            aws = require("@pulumi/aws") as typeof import("@pulumi/aws");
            provider = new aws.Provider(
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
        }

        const built: Partial<Record<Arch, ArchitectureImage>> = {};
        const versionInputs: Partial<Record<Arch, pulumi.Output<ArchVersionsInput>>> = {};
        const fileDeps: pulumi.Resource[] = [];
        for (const a of args.architectures) {
            const r = this.architecture(name, args, a, arches, aws, provider);
            built[a.arch] = r.image;
            versionInputs[a.arch] = r.versions;
            fileDeps.push(...r.deps);
        }

        // The versions file, once every architecture's image passed its boot test and every copy exists.
        const text = pulumi.all(versionInputs as Record<string, pulumi.Output<ArchVersionsInput>>).apply((byArch) => {
            const doc = buildVersionsDoc({
                project: args.project,
                stack: args.stack,
                environment: args.environment,
                release: args.release,
                buildRegion: args.buildRegion,
                couchbaseEdition: args.couchbaseEdition,
                couchbaseVersion: args.couchbaseVersion,
                architectures: byArch,
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
            { parent: this, dependsOn: fileDeps },
        );

        // The single-image fields of before: amd64's, or the first architecture's without amd64.
        const main = (built.amd64 ?? built[arches[0]]) as ArchitectureImage;
        this.architectures = built;
        this.amiIdsByArch = pulumi.all(Object.fromEntries(Object.entries(built).map(([k, v]) => [k, v.amiIds])));
        this.image = main.image;
        this.bootTest = main.bootTest;
        this.bootTestResult = main.bootTestResult;
        this.amiIds = main.amiIds;
        this.imageName = main.image.imageName;
        this.fingerprint = main.image.fingerprint;
        this.agentSha256 = main.agentSha256;
        this.versionsFile = file.path;
        this.registerOutputs({
            amiIdsByArch: this.amiIdsByArch,
            amiIds: this.amiIds,
            imageName: this.imageName,
            fingerprint: this.fingerprint,
            agentSha256: this.agentSha256,
            versionsFile: this.versionsFile,
            bootTest: this.bootTestResult,
        });
    }

    /**
     * One architecture's agent, image, boot test and copies; nothing here depends on another
     * architecture's resources. Returns what the versions file needs and waits for.
     */
    private architecture(
        name: string,
        args: ImagePipelineArgs,
        a: ArchitectureArgs,
        arches: Arch[],
        aws: typeof import("@pulumi/aws") | undefined,
        provider: import("@pulumi/aws").Provider | undefined,
    ): { image: ArchitectureImage; versions: pulumi.Output<ArchVersionsInput>; deps: pulumi.Resource[] } {
        // The Architecture tag reaches the image, its snapshots, the builder, the boot test's
        // instance and (through the image's tags) the copies.
        const extraTags = { ...args.extraTags, [ARCHITECTURE_TAG]: a.arch };
        // Values set as secrets: the tags that may hold them and the values themselves go in as
        // secrets, and the image's tags output (which echoes them) stays secret.
        const secretValues = args.secretValues ?? [];
        const secret = secretValues.length > 0;
        const resourceTags = secret ? pulumi.secret(extraTags) : extraTags;
        const secretInputs = secret ? { secretValues: pulumi.secret(secretValues) } : {};
        // On the emulator each architecture's builds reach their own lane of the local sandbox build
        // host (arm64 on sshPort + 1), so both build at once; on AWS every instance listens on sshPort.
        const sshPort = args.emulator ? pulumi.output(args.sshPort).apply((p) => emulatorSshPort(p, a.arch)) : args.sshPort;
        // How the builder and its boot test are launched and reached: one set for both, so the test
        // instance always lands where the builder did (same network rules, same SSH route).
        const launch = {
            subnetId: args.subnetId,
            vpcId: args.vpcId,
            associatePublicIpAddress: args.associatePublicIpAddress,
            sshInterface: args.sshInterface,
            sshCidrs: args.sshCidrs,
            ec2Endpoint: args.ec2Endpoint,
            emulator: args.emulator,
            sshHost: args.sshHost,
            sshPort,
            sshUsername: args.sshUsername,
        };

        // 1. The agent: built here by the agent's own build script for this architecture, or verified earlier.
        let agentSha256: pulumi.Output<string>;
        let agentArtifact: string;
        const agentDeps: pulumi.Resource[] = [];
        if (a.agent.kind === "build") {
            // Its outputs are unknown at preview (and wherever its triggers changed, such as a
            // checkout without the artifact): the image's check then skips the file, which this
            // command makes before the image is checked again at up.
            const build = new command.local.Command(
                childName(name, a.arch, "agent"),
                { create: AGENT_BUILD_SCRIPT, environment: agentBuildEnvironment(a.agent.arch), triggers: a.agent.triggers },
                { parent: this },
            );
            agentSha256 = build.stdout.apply(lastSha256Line);
            agentArtifact = `${agentOutDir(a.agent.arch)}/dp-agent.gz`;
            agentDeps.push(build);
        } else {
            agentSha256 = pulumi.output(a.agent.sha256);
            agentArtifact = a.agent.artifact;
        }

        // 2. The image, built by Packer in the build region.
        const image = new PackerImage(
            childName(name, a.arch, "image"),
            {
                templateDir: args.templateDir,
                region: args.buildRegion,
                copyRegions: args.copyRegions,
                instanceType: a.instanceType,
                couchbaseEdition: args.couchbaseEdition,
                couchbaseVersion: args.couchbaseVersion,
                couchbasePackageSource: args.couchbasePackageSource,
                couchbasePackageSha256: stackPin(args.couchbasePackageSha256, args.couchbaseVersion, a.arch),
                architecture: a.arch,
                couchbaseReleaseUrl: args.couchbaseReleaseUrl,
                couchbaseReleaseSha256: args.couchbaseReleaseSha256,
                couchbaseKeyFingerprints: args.couchbaseKeyFingerprints,
                baseImage: a.baseImageId ? { id: a.baseImageId } : { nameFilter: a.baseImageNameFilter, owners: args.baseImageOwners },
                rootVolumeSize: args.rootVolumeSize,
                rootDeviceName: args.rootDeviceName,
                agentArtifact,
                agentSha256,
                agentVersion: args.agentVersion,
                namePrefix: imageNamePrefix(args.namePrefix, a.arch, arches),
                stack: args.stack,
                release: args.release,
                environment: args.environment,
                owner: args.owner,
                ttlHours: args.ttlHours,
                extraTags: resourceTags,
                ...secretInputs,
                kmsKeyId: args.kmsKeyIds[args.buildRegion],
                ...launch,
                buildTimeoutMinutes: args.buildTimeoutMinutes,
            },
            { parent: this, dependsOn: agentDeps, ...(secret ? { additionalSecretOutputs: ["tags"] } : {}) },
        );

        // 3. The boot test: an instance launched from exactly this image, checked once booted, then
        //    terminated. It fails `up` on any failed check, so nothing below exists for an image that
        //    did not pass; a change of the checks (images/aws/boot-test/, not part of the image's
        //    fingerprint) re-tests the same image.
        let bootTest: BootTest | undefined;
        let bootTestResult: pulumi.Output<BootTestRecord>;
        if (args.bootTest) {
            bootTest = new BootTest(
                childName(name, a.arch, "boot-test"),
                {
                    templateDir: `${args.templateDir}/boot-test`,
                    imageId: image.imageId,
                    imageName: image.imageName,
                    region: args.buildRegion,
                    instanceType: a.instanceType,
                    stack: args.stack,
                    owner: args.owner,
                    environment: args.environment,
                    release: args.release,
                    extraTags: resourceTags,
                    ...secretInputs,
                    ...launch,
                    // Units that fail under qemu user-mode emulation, named as such: the local
                    // emulator only (arm64 runs on real Graviton hardware on AWS).
                    ...(args.emulator && EMULATOR_EMULATION_LIMITS[a.arch].length > 0
                        ? { emulationLimits: [...EMULATOR_EMULATION_LIMITS[a.arch]] }
                        : {}),
                },
                { parent: this },
            );
            bootTestResult = pulumi.all([bootTest.testedAt, bootTest.checks]).apply(([at, checks]): BootTestRecord => ({
                enabled: true,
                passed: true,
                at,
                checks: checks.map((c) => ({ name: c.name, status: c.status, saw: c.saw })),
            }));
        } else {
            bootTestResult = pulumi.output<BootTestRecord>({ enabled: false });
        }
        const tested: pulumi.Resource[] = bootTest ? [bootTest] : [];

        // 4. Copies, one per region, in parallel.
        const copyIds: Record<string, pulumi.Output<string>> = {};
        const copies: pulumi.Resource[] = [];
        if (aws && provider) {
            const timeout = `${args.copyTimeoutMinutes}m`;
            for (const region of args.copyRegions) {
                const copyTags = pulumi.all([image.tags, image.imageId]).apply(([tags, id]) => ({
                    ...tags,
                    [ARCHITECTURE_TAG]: a.arch,
                    [TAG.sourceRegion]: args.buildRegion,
                    [TAG.sourceImage]: id,
                }));
                const copy = new aws.ec2.AmiCopy(
                    childName(name, a.arch, `copy-${region}`),
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
                        tags: copyTags,
                    },
                    {
                        parent: this,
                        provider,
                        // Only an image that passed its boot test is copied.
                        dependsOn: tested,
                        // A replacement (e.g. a new KMS key) keeps the name, and AMI names are unique
                        // per region: a new copy made while the old one exists fails with
                        // InvalidAMIName.Duplicate. So the old copy goes first.
                        deleteBeforeReplace: true,
                        customTimeouts: { create: timeout, update: timeout, delete: `${2 * args.copyTimeoutMinutes}m` },
                    },
                );
                // AmiCopy tags only the image: the copy's snapshots get the same tags, so the
                // janitor can find one that leaks. Deleting this does nothing (the copy's delete
                // removes its snapshots).
                const snapshotTags = new CopySnapshotTags(
                    childName(name, a.arch, `copy-${region}-snapshot-tags`),
                    { region, imageId: copy.id, tags: copyTags, ec2Endpoint: args.ec2Endpoint ?? "" },
                    { parent: this, dependsOn: [copy] },
                );
                copyIds[region] = copy.id;
                // The versions file waits for both: a listed copy is tagged all the way down.
                copies.push(copy, snapshotTags);
            }
        }

        const amiIds = pulumi.all([image.imageId, pulumi.all(copyIds)]).apply(([buildId, copyMap]) => {
            const out: Record<string, string> = { [args.buildRegion]: buildId };
            for (const r of Object.keys(copyMap).sort()) out[r] = copyMap[r];
            return out;
        });
        const versions = pulumi
            .all([
                image.imageName,
                image.fingerprint,
                image.packerVersion,
                image.createdAt,
                image.imageId,
                pulumi.all(copyIds),
                agentSha256,
                bootTestResult,
            ])
            .apply(([imageName, fingerprint, packerVersion, createdAt, buildImageId, copyMap, sha, bootTestRecord]): ArchVersionsInput => ({
                imageName,
                fingerprint,
                buildImageId,
                copies: copyMap,
                agentVersion: args.agentVersion,
                agentSha256: sha,
                packerVersion,
                createdAt,
                bootTest: bootTestRecord,
            }));
        return { image: { image, bootTest, bootTestResult, amiIds, agentSha256 }, versions, deps: [image, ...tested, ...copies] };
    }
}
