/**
 * Every stack configuration key, declared once: its type, default, description (the paragraph
 * Pulumi.yaml, README and docs/program.md show), whether a change rebuilds the image, which image
 * input it feeds, and its declarative rule where one exists. Pure data, no imports at run time.
 *
 * Derived from this table (nothing below retypes a key):
 * - pipeline/config.ts: `CONFIG_KEYS`, `DEFAULTS`, the image-property → key map of its errors;
 *   the parsed values are typed by {@link ConfigValues};
 * - providers/packer/types.ts: the image resource's defaults of the keys it shares with the stack
 *   (`instanceType`, `namePrefix`, …) and providers/packer/validate.ts: the rules in {@link RULES};
 * - pipeline/component.ts: the component's argument types of the keys it passes on
 *   (`ConfigArgs<…>`);
 * - the `config:` block of Pulumi.yaml and the key tables of README.md and docs/program.md,
 *   written by `npm run gen:config` (scripts/gen-config.ts); test/unit/config-inputs.test.ts fails
 *   on any difference.
 *
 * Adding a key: one row here (an integer row also names its `unit`), then `npm run gen:config`,
 * then its use. A plain key, whose value is the config value as its type says, needs nothing in
 * pipeline/config.ts: parseConfig coerces it from the row, reports a wrong type under its name,
 * and passes it on as `PipelineConfig.<key>` (and, with `image: "<key>"`, as the image input of
 * that name). Its use is then where it is read: the component (its `PassedKeys`/`PlainKeys` and
 * the image's arguments), and for an image input providers/packer/types.ts and, when it reaches
 * Packer, one line in providers/packer/argv.ts. A key that parsing shapes (a fallback default, a
 * normalization, per architecture, optional) is listed in config.ts's `SHAPED_KEYS` and read there.
 *
 * The provider's serialized text includes the values derived from this file (DEFAULTS, RULES), so
 * providers/providerText.ts keys its cache on this file too.
 */

/** Config value types, as Pulumi.yaml declares them. */
export type InputType = "string" | "integer" | "boolean" | "array" | "object";

/** The TypeScript type of a value of `T` after parsing (arrays are of strings; objects are maps). */
export type ValueOf<T extends InputType> = T extends "string"
    ? string
    : T extends "integer"
      ? number
      : T extends "boolean"
        ? boolean
        : T extends "array"
          ? string[]
          : Record<string, unknown>;

/**
 * Whether a change of the key builds a new image: `yes`, `no`, `tags` (re-tags the image in
 * place), or `yes: <when>` / `no: <what happens instead>`.
 */
export type Rebuild = "yes" | "no" | "tags" | `yes: ${string}` | `no: ${string}`;

/** A rule the key's value must satisfy, checked by providers/packer/validate.ts (and so at preview). */
export type Rule =
    /** The whole value matches `pattern`; `example` is shown in the error. */
    | { kind: "pattern"; pattern: RegExp; form: string; example: string }
    /** One of `values`. */
    | { kind: "oneOf"; values: readonly string[] }
    /** An integer in [min, max], or `unset` (the template's default). */
    | { kind: "integer"; min: number; max: number; unset?: number; unit: string };

/** One key's declaration. */
export type InputSpec = {
    default: string | number | boolean | readonly string[] | Readonly<Record<string, unknown>>;
    /** One paragraph: meaning, default, interactions with other keys. Its first sentence is README's summary. */
    description: string;
    rebuild: Rebuild;
    /** The image resource's input (providers/packer/types.ts) the key feeds, as validate.ts names it in failures. */
    image?: string;
    rule?: Rule;
} & (
    | {
          type: "integer";
          /** What the number counts, as the parser's type error names it: `expected a whole number of <unit>`. */
          unit: string;
      }
    | { type: Exclude<InputType, "integer">; unit?: never }
);

/**
 * The declarative rules, one object so that providers/packer/validate.ts can take exactly these
 * (and not the descriptions) into the provider's serialized text.
 */
export const RULES = {
    /** Both architectures' instance type keys (the image resource's `instanceType`). */
    instanceType: { kind: "pattern", pattern: /^[a-z][a-z0-9-]*\.[a-z0-9]+$/, form: "<family>.<size>", example: "t3.large" },
    /** Couchbase Server release: exactly X.Y.Z (a build suffix is not a release Couchbase publishes as a package). */
    couchbaseVersion: { kind: "pattern", pattern: /^\d+\.\d+\.\d+$/, form: "X.Y.Z", example: "8.0.0" },
    couchbaseEdition: { kind: "oneOf", values: ["enterprise", "community"] },
    environment: { kind: "oneOf", values: ["dev", "stage", "prod", "local"] },
    /** As the template's own validation (images/aws/couchbase-cloud.pkr.hcl). */
    rootVolumeSize: { kind: "integer", min: 8, max: 16384, unset: 0, unit: "GiB" },
    rootDeviceName: { kind: "pattern", pattern: /^\/dev\/[a-z0-9]+$/, form: "/dev/<name>", example: "/dev/xvda" },
} as const satisfies Record<string, Rule>;

const UBUNTU_FILTER = (arch: string) => `ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-${arch}-server-*`;

/** The URL of Couchbase's couchbase-release .deb (repository mode), also the template's default. */
export const COUCHBASE_RELEASE_URL = "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb";

/** Every key the program reads, in the order Pulumi.yaml and the doc tables list them. */
export const INPUTS = {
    buildRegion: {
        type: "string",
        default: "us-east-1",
        description:
            "AWS region where Packer builds the image. It must be a region the project knows (providers/packer/awsRegions.ts); a region newer than that list is accepted when named in the environment variable COUCHBASE_IMAGES_EXTRA_REGIONS (comma-separated).",
        rebuild: "yes",
        image: "region",
    },
    copyRegions: {
        type: "array",
        default: [],
        description:
            "Extra regions the image is copied to: one encrypted AmiCopy each, in parallel. Not the build region, no duplicates, each a known region as for buildRegion. Empty = no copies, no aws resource and no aws provider plugin needed.",
        rebuild: "no: new or removed copies",
        image: "copyRegions",
    },
    architectures: {
        type: "array",
        default: ["amd64"],
        description:
            'CPU architectures to build: amd64 and/or arm64, each at most once, at least one. Each gets its own image, agent, base image, instance type, fingerprint, name, boot test and copies, all in parallel (README, "Architectures"). amd64 reads the unprefixed per-architecture keys (instanceType, baseImageId, baseImageNameFilter, agentArtifact, agentSha256File), arm64 the arm64-prefixed ones; a key of an architecture not listed is refused. Adding arm64 renames (and so rebuilds once) the amd64 image: both names then carry their architecture.',
        rebuild: "yes: per architecture; adding one renames the amd64 image once",
        image: "architecture",
    },
    instanceType: {
        type: "string",
        default: "t3.large",
        description:
            "EC2 instance type of the amd64 image's temporary build instance and of its boot test. An x86_64 type (t3, m7i, ...); a Graviton type is refused.",
        rebuild: "yes",
        image: "instanceType",
        rule: RULES.instanceType,
    },
    arm64InstanceType: {
        type: "string",
        default: "t4g.large",
        description:
            "EC2 instance type of the arm64 image's build instance and boot test. A Graviton type (t4g, m7g, ...); an x86_64 type is refused.",
        rebuild: "yes",
        rule: RULES.instanceType,
    },
    couchbaseEdition: {
        type: "string",
        default: "enterprise",
        description: "Couchbase Server edition: enterprise or community.",
        rebuild: "yes",
        image: "couchbaseEdition",
        rule: RULES.couchbaseEdition,
    },
    couchbaseVersion: {
        type: "string",
        default: "8.0.0",
        description:
            "Couchbase Server release to install and hold, exactly X.Y.Z (e.g. 8.0.0). The same rule holds in the image resource, the Packer template and the versions file.",
        rebuild: "yes",
        image: "couchbaseVersion",
        rule: RULES.couchbaseVersion,
    },
    couchbasePackageSource: {
        type: "string",
        default: "download",
        description:
            "Where the couchbase-server package comes from: download, repository or a folder. \"download\" = the exact .deb for the version, edition and architecture from Couchbase's release URL, installed only if its sha256 matches (the project's table, providers/packer/couchbasePackages.ts, or couchbasePackageSha256); \"repository\" = Couchbase's official apt repository (needs couchbaseReleaseSha256 and couchbaseKeyFingerprints); otherwise a folder relative to the project root holding the .deb, as the local stack's stand-in package (.build/standin).",
        rebuild: "yes",
        image: "couchbasePackageSource",
    },
    couchbasePackageSha256: {
        type: "object",
        default: {},
        description:
            'Download mode: the stack\'s own sha256 pins for packages the project\'s table lacks (a newer version, or the community edition). They are keyed by version, then architecture, e.g. {"8.0.3": {"amd64": "<64 hex digits>"}}. The value is the one Couchbase publishes beside the package, at https://packages.couchbase.com/releases/<version>/couchbase-server-<edition>_<version>-linux_<arch>.deb.sha256; set it with `pulumi config set --path \'couchbase-images:couchbasePackageSha256["8.0.3"].amd64\' <sha256>`. Only the entry of couchbaseVersion and the image\'s architecture is used; one that differs from the table is refused.',
        rebuild: "yes: download mode, when its entry changes",
        image: "couchbasePackageSha256",
    },
    couchbaseReleaseUrl: {
        type: "string",
        default: COUCHBASE_RELEASE_URL,
        description:
            "https URL of Couchbase's couchbase-release .deb, which carries the apt signing keys (repository mode). Empty = the default; unused in the other modes.",
        rebuild: "yes: repository mode",
        image: "couchbaseReleaseUrl",
    },
    couchbaseReleaseSha256: {
        type: "string",
        default: "",
        description:
            'Pinned sha256 (64 hex digits, stored lowercase) of the couchbase-release .deb. Required when couchbasePackageSource is "repository": the install fails closed without it, so preview refuses an empty one. Get it by downloading couchbaseReleaseUrl from a trusted network, checking it, and running `sha256sum` on it (docs/image.md, "Couchbase package sources").',
        rebuild: "yes: repository mode",
        image: "couchbaseReleaseSha256",
    },
    couchbaseKeyFingerprints: {
        type: "array",
        default: [],
        description:
            'Pinned fingerprints of the apt signing keys the couchbase-release .deb ships, 40 hex digits each (gpg\'s grouped form with spaces is accepted and normalized). The keys in the .deb must match them exactly. Required when couchbasePackageSource is "repository" (preview refuses an empty list). Get them with `dpkg-deb -x couchbase-release-1.0-noarch.deb x` and `gpg --show-keys` on the key files under x/ (docs/image.md).',
        rebuild: "yes: repository mode; order does not count",
        image: "couchbaseKeyFingerprints",
    },
    baseImageId: {
        type: "string",
        default: "",
        description:
            "Base image id (ami-...) of the amd64 image; wins over the filter. Empty = the newest image matching baseImageNameFilter owned by baseImageOwners.",
        rebuild: "yes",
        image: "baseImage.id",
    },
    baseImageNameFilter: {
        type: "string",
        default: UBUNTU_FILTER("amd64"),
        description: "Name filter for the amd64 base image when baseImageId is empty (the newest match): Ubuntu 24.04 LTS.",
        rebuild: "yes",
        image: "baseImage",
    },
    arm64BaseImageId: {
        type: "string",
        default: "",
        description: "Base image id (ami-...) of the arm64 image. Empty = the newest match of arm64BaseImageNameFilter.",
        rebuild: "yes",
    },
    arm64BaseImageNameFilter: {
        type: "string",
        default: UBUNTU_FILTER("arm64"),
        description:
            "Name filter for the arm64 base image when arm64BaseImageId is empty (owners are baseImageOwners): Ubuntu 24.04 LTS for arm64.",
        rebuild: "yes",
    },
    baseImageOwners: {
        type: "array",
        default: ["099720109477"],
        description:
            "Account ids (or amazon, self, aws-marketplace) that own acceptable base images, for both architectures' filters. The default is Canonical's account.",
        rebuild: "yes",
        image: "baseImage.owners",
    },
    rootVolumeSize: {
        type: "integer",
        unit: "GiB (0 = the template's default)",
        default: 0,
        description:
            "Size of the image's gp3 root volume in GiB, 8 to 16384. 0 = the template's default (30 GiB). Every architecture's image gets the same size.",
        rebuild: "yes",
        image: "rootVolumeSize",
        rule: RULES.rootVolumeSize,
    },
    rootDeviceName: {
        type: "string",
        default: "",
        description:
            "Root device name of the base image, which the gp3 root volume mapping resizes: /dev/sda1 on Ubuntu, /dev/xvda on Debian and Amazon Linux. Empty = the template's default (/dev/sda1); set it with a base image whose root device differs, or the mapping adds a second volume instead.",
        rebuild: "yes",
        image: "rootDeviceName",
        rule: RULES.rootDeviceName,
    },
    namePrefix: {
        type: "string",
        default: "couchbase-cloud-server",
        description:
            "Image name prefix: the name is <namePrefix>-<arch>-<release or stack>-<fingerprint[0:12]>, without -<arch> for amd64 in a stack that builds amd64 alone.",
        rebuild: "yes",
        image: "namePrefix",
    },
    release: {
        type: "string",
        default: "",
        description:
            "Release name for production images (e.g. v0.1.17, giving couchbase-cloud-server-v0.1.17-<fp> with namePrefix couchbase-cloud-server). Required when environment is prod; replaces the stack name in the image name, and such images never expire.",
        rebuild: "yes",
        image: "release",
    },
    environment: {
        type: "string",
        default: "dev",
        description:
            "The stack's environment, tag Environment: dev, stage, prod or local. Images of prod never expire, are never swept by the janitor, and their versions file is kept on destroy.",
        rebuild: "tags",
        image: "environment",
        rule: RULES.environment,
    },
    owner: {
        type: "string",
        default: "",
        description: "Owner tag on everything the stack creates. Empty = the OS user running Pulumi.",
        rebuild: "tags",
        image: "owner",
    },
    extraTags: {
        type: "object",
        default: {},
        description:
            "Extra tags (string to string) on the image, its snapshots, the builder and the copies. The project's own tag keys, aws: keys and Architecture (the program's, per image) are refused.",
        rebuild: "tags",
        image: "extraTags",
    },
    kmsKeyIds: {
        type: "object",
        default: {},
        description:
            "KMS key per region, for the build region's image and each copy. The build region's: a key id, alias/..., or ARN of a key in that region, which encrypts the image. A copy region's: the full ARN of a key (or alias) in that copy region, e.g. {\"eu-west-1\": \"arn:aws:kms:eu-west-1:123456789012:key/<key id>\"} (AmiCopy takes only ARNs). Only build and copy regions; regions without an entry use the account's default EBS key.",
        rebuild: "yes: the build region's key; a copy region's makes a new copy",
        image: "kmsKeyId",
    },
    ttlHours: {
        type: "integer",
        unit: "hours (0 = never expires)",
        default: 72,
        description:
            "Hours until the janitor may delete a non-production image (tag ExpiresAt). 0 = never expires; ignored for prod (never).",
        rebuild: "tags",
        image: "ttlHours",
    },
    subnetId: {
        type: "string",
        default: "",
        description: "Subnet (subnet-...) for the temporary build instance. Empty = the default VPC's.",
        rebuild: "no",
        image: "subnetId",
    },
    vpcId: {
        type: "string",
        default: "",
        description:
            "VPC (vpc-...) for the temporary build instance. Empty = the default VPC. Needs subnetId (a subnet of that VPC): Packer cannot choose a subnet in a VPC that is not the default one.",
        rebuild: "no",
        image: "vpcId",
    },
    associatePublicIpAddress: {
        type: "boolean",
        default: false,
        description:
            "Give the build instance a public IP even where its subnet maps none on launch (a public subnet of a custom VPC). By default (false) the subnet decides; `npm run preflight` says when it is needed.",
        rebuild: "no",
        image: "associatePublicIpAddress",
    },
    sshInterface: {
        type: "string",
        default: "",
        description:
            "Which address of the build instance Packer's SSH goes to: public_ip, private_ip, public_dns or private_dns. Empty = the public IP if it has one, else the private IP; private_ip for a private subnet reached from inside the VPC (a runner there, a VPN).",
        rebuild: "no",
        image: "sshInterface",
    },
    ec2Endpoint: {
        type: "string",
        default: "",
        description:
            "EC2 endpoint override (e.g. the local emulator http://127.0.0.1:5000), also used by the copies' aws provider. Empty = AWS.",
        rebuild: "no",
        image: "ec2Endpoint",
    },
    emulator: {
        type: "boolean",
        default: false,
        description:
            "true when ec2Endpoint is an emulator (moto): Packer skips credential, region and metadata validation. Requires ec2Endpoint.",
        rebuild: "no",
        image: "emulator",
    },
    sshHost: {
        type: "string",
        default: "",
        description: "SSH host Packer connects to instead of the instance's address (the local sandbox). Empty = Packer's default.",
        rebuild: "no",
        image: "sshHost",
    },
    sshPort: {
        type: "integer",
        unit: "(a TCP port)",
        default: 0,
        description: "SSH port Packer connects to. 0 = Packer's default (22).",
        rebuild: "no",
        image: "sshPort",
    },
    sshUsername: {
        type: "string",
        default: "ubuntu",
        description: "SSH user of the base image (ubuntu on Ubuntu images, admin on Debian ones).",
        rebuild: "yes",
        image: "sshUsername",
    },
    sshCidrs: {
        type: "array",
        default: [],
        description:
            'CIDRs allowed to reach the temporary build instance over SSH, e.g. ["203.0.113.7/32"]; required, and 0.0.0.0/0 and ::/0 are refused. The empty default makes preview ask for it.',
        rebuild: "no",
        image: "sshCidrs",
    },
    agentArtifact: {
        type: "string",
        default: "",
        description:
            "Prebuilt dp-agent .gz of the amd64 image (relative to the project root), e.g. from an earlier CI step. When set, no agent build command runs; its sha256 file is verified at preview. Empty = build the agent with agent/build.sh.",
        rebuild: "yes: via its sha256",
        image: "agentArtifact",
    },
    agentSha256File: {
        type: "string",
        default: "",
        description: "The prebuilt amd64 artifact's sha256 file. Empty = <agentArtifact>.sha256.",
        rebuild: "no",
    },
    arm64AgentArtifact: {
        type: "string",
        default: "",
        description:
            "Prebuilt arm64 dp-agent .gz for the arm64 image, as agentArtifact is for amd64. Empty = build it with agent/build.sh --arch arm64 (into .build/agent-arm64).",
        rebuild: "yes: via its sha256",
    },
    arm64AgentSha256File: {
        type: "string",
        default: "",
        description: "The prebuilt arm64 artifact's sha256 file. Empty = <arm64AgentArtifact>.sha256.",
        rebuild: "no",
    },
    agentArch: {
        type: "string",
        default: "amd64",
        description:
            "Replaced by architectures (the agent is built for each). Kept so stacks that set it keep working: amd64, or the one architecture architectures lists; anything else is refused with the fix.",
        rebuild: "no",
    },
    buildTimeoutMinutes: {
        type: "integer",
        unit: "minutes",
        default: 90,
        description: "The image provider's own deadline for one Packer build, in minutes; on expiry Packer is stopped and cleaned up.",
        rebuild: "no",
        image: "buildTimeoutMinutes",
    },
    copyTimeoutMinutes: {
        type: "integer",
        unit: "minutes",
        default: 60,
        description: "Create/update timeout of each AmiCopy, in minutes (delete gets twice as long), 1 to 1440.",
        rebuild: "no",
    },
    templateDir: {
        type: "string",
        default: "images/aws",
        description:
            "Folder (relative to the project root) holding the Packer template and its provisioning scripts. Its content (except what its .imageignore lists) is part of the image fingerprint: an edit forces a rebuild.",
        rebuild: "yes: by content",
        image: "templateDir",
    },
    versionsDir: {
        type: "string",
        default: "versions",
        description: "Folder (relative to the project root) where versions/<stack>.json is written.",
        rebuild: "no",
    },
    bootTest: {
        type: "boolean",
        default: true,
        description:
            "Boot test every new image before it is copied or named in the versions file: one instance launched from the image (like the builder), checked once booted (<templateDir>/boot-test/), terminated. A failed check fails `up` and keeps the versions file on the previous image. false = no test for this stack, and the versions file says so (bootTest: {enabled: false}).",
        rebuild: "no: a change of images/aws/boot-test/ re-tests the image, never rebuilds it",
    },
} as const satisfies Record<string, InputSpec>;

/** A config key. */
export type ConfigKey = keyof typeof INPUTS;

/** Every key, in the table's order. */
export const CONFIG_KEYS = Object.keys(INPUTS) as ConfigKey[];

/** Each key's parsed value type, derived from its declared `type`. */
export type ConfigValues = { -readonly [K in ConfigKey]: ValueOf<(typeof INPUTS)[K]["type"]> };

/** Image input property → the config key that feeds it (for errors that name the key). */
export const IMAGE_PROPERTY_KEYS: Readonly<Record<string, ConfigKey>> = Object.fromEntries(
    CONFIG_KEYS.flatMap((k) => {
        const spec: InputSpec = INPUTS[k];
        return spec.image ? [[spec.image, k]] : [];
    }),
);

/**
 * Component arguments of keys passed on as they are parsed: each the key's value type, as an
 * Input (documented in {@link INPUTS}). `PlainConfigArgs` for keys whose value decides which
 * resources exist or is used while the program runs (plain values).
 */
export type ConfigArgs<K extends ConfigKey> = { [P in K]: import("@pulumi/pulumi").Input<ConfigValues[P]> };
export type PlainConfigArgs<K extends ConfigKey> = Pick<ConfigValues, K>;
