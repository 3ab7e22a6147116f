/**
 * The boot test's inputs: defaults, validation, Packer variables, tags and the checks hash. Pure:
 * the caller reads the files and passes their bytes in.
 *
 * The launch settings follow the image builder's rules exactly: the shared ones (region, instance
 * type, network, SSH, tags, emulator) are checked by the image's own validator
 * (providers/packer/validate.ts), so a setting the builder accepts is accepted here and a
 * message names the same fix.
 */
import { TAG, PROJECT, type Tags } from "../ec2/tags";
import { canonicalJson, sha256Hex, type FileEntry } from "../packer/fingerprint";
import { DEFAULTS as IMAGE_DEFAULTS, type LaunchSettings } from "../packer/types";
import { applyDefaults, containsUnknown, relativePathProblem, UNKNOWN, validateInputs, type Failure } from "../packer/validate";

/** The template file in the boot test folder. */
export const BOOT_TEST_TEMPLATE = "boot-test.pkr.hcl";
/** The check script the template uploads (images/aws/boot-test/boot-check.sh). */
export const BOOT_CHECK_SCRIPT = "boot-check.sh";
/** The script that reads the launch key from the instance's metadata (images/aws/boot-test/launch-key.sh). */
export const LAUNCH_KEY_SCRIPT = "launch-key.sh";
/** The `Purpose` tag on everything a boot test launches (the janitor and the tests find it by that). */
export const PURPOSE_TAG = "Purpose";
export const PURPOSE = "boot-test";

/** Inputs after defaults (what `check` returns and every other method receives). */
/** The launch settings ({@link LaunchSettings}) are the builder's, so the test instance lands where the builder did. */
export interface BootTestInputs extends LaunchSettings {
    /** Folder with boot-test.pkr.hcl and boot-check.sh, project-relative. */
    templateDir: string;
    /** The image under test (`ami-…`); unknown at a preview that builds the image. */
    imageId: string;
    /** Its name (the test instance's Name tag is `<imageName>-boot-test`). */
    imageName: string;
    region: string;
    instanceType: string;
    stack: string;
    owner: string;
    environment: string;
    release: string;
    extraTags: Record<string, string>;
    /** The provider's own deadline for the whole test (launch, boot, checks, cleanup), minutes. */
    timeoutMinutes: number;
    /** Units that fail only under the platform's emulation, named to the check as such. */
    emulationLimits: string[];
    providerVersion: string;
    /** Where progress is logged (the resource's own URN). */
    resourceUrn: string;
    /** Computed by `check`: sha256 over the boot test folder's files and the launch variables it runs with. */
    checksHash?: string;
}

export const BOOT_TEST_DEFAULTS = {
    templateDir: "images/aws/boot-test",
    // The builder's default (the instanceType key's, pipeline/inputs.ts): one default for both.
    instanceType: IMAGE_DEFAULTS.instanceType,
    release: "",
    extraTags: {} as Record<string, string>,
    subnetId: "",
    vpcId: "",
    associatePublicIpAddress: false,
    sshInterface: "",
    ec2Endpoint: "",
    emulator: false,
    sshHost: "",
    sshPort: 0,
    sshUsername: "ubuntu",
    timeoutMinutes: 30,
    emulationLimits: [] as string[],
} as const;

/** Applies the documented defaults (missing, null or undefined → default). */
export function bootTestDefaults(raw: Record<string, unknown>): BootTestInputs {
    const pick = <T>(key: string, d: T): T => (raw[key] === undefined || raw[key] === null ? d : (raw[key] as T));
    const d = BOOT_TEST_DEFAULTS;
    const out: BootTestInputs = {
        templateDir: pick("templateDir", d.templateDir),
        imageId: pick("imageId", ""),
        imageName: pick("imageName", ""),
        region: pick("region", ""),
        instanceType: pick("instanceType", d.instanceType),
        stack: pick("stack", ""),
        owner: pick("owner", ""),
        environment: pick("environment", ""),
        release: pick("release", d.release),
        extraTags: pick("extraTags", { ...d.extraTags }),
        subnetId: pick("subnetId", d.subnetId),
        vpcId: pick("vpcId", d.vpcId),
        associatePublicIpAddress: pick("associatePublicIpAddress", d.associatePublicIpAddress),
        sshInterface: pick("sshInterface", d.sshInterface),
        sshCidrs: pick("sshCidrs", []),
        ec2Endpoint: pick("ec2Endpoint", d.ec2Endpoint),
        emulator: pick("emulator", d.emulator),
        sshHost: pick("sshHost", d.sshHost),
        sshPort: pick("sshPort", d.sshPort),
        sshUsername: pick("sshUsername", d.sshUsername),
        timeoutMinutes: pick("timeoutMinutes", d.timeoutMinutes),
        emulationLimits: pick("emulationLimits", [...d.emulationLimits]),
        providerVersion: pick("providerVersion", ""),
        resourceUrn: pick("resourceUrn", ""),
    };
    if (raw.checksHash !== undefined && raw.checksHash !== null) out.checksHash = raw.checksHash as string;
    return out;
}

/** The launch settings the boot test shares with the image builder, validated by the builder's rules. */
const SHARED: readonly string[] = [
    "region",
    "instanceType",
    "stack",
    "owner",
    "environment",
    "release",
    "extraTags",
    "subnetId",
    "vpcId",
    "associatePublicIpAddress",
    "sshInterface",
    "sshCidrs",
    "ec2Endpoint",
    "emulator",
    "sshHost",
    "sshPort",
    "sshUsername",
];

const AMI_ID = /^ami-[0-9a-f]{8,17}$/;
const UNIT_NAME = /^[A-Za-z0-9@_.:-]+$/;
const IMAGE_NAME = /^[a-zA-Z0-9()[\] ./'@_-]{3,117}$/;

/** Every failure of the inputs, each naming its property and the fix. Values not known yet are skipped. */
export function validateBootTest(i: BootTestInputs, opts: { extraRegions?: readonly string[] } = {}): Failure[] {
    const out: Failure[] = [];
    const known = (v: unknown) => !containsUnknown(v);
    if (known(i.templateDir)) {
        const p = relativePathProblem(i.templateDir);
        if (p) out.push({ property: "templateDir", reason: p });
    }
    if (known(i.imageId) && (typeof i.imageId !== "string" || !AMI_ID.test(i.imageId)))
        out.push({
            property: "imageId",
            reason: `"${String(i.imageId)}" is not an image id: pass the id of the image to test (ami-0123456789abcdef0), e.g. the image resource's imageId`,
        });
    if (known(i.imageName) && (typeof i.imageName !== "string" || !IMAGE_NAME.test(i.imageName)))
        out.push({
            property: "imageName",
            reason: `"${String(i.imageName)}" is not an image name of 3-117 characters of letters, digits and ()[] ./'@_-: pass the image resource's imageName`,
        });
    if (
        known(i.timeoutMinutes) &&
        (typeof i.timeoutMinutes !== "number" || !Number.isInteger(i.timeoutMinutes) || i.timeoutMinutes < 1 || i.timeoutMinutes > 24 * 60)
    )
        out.push({
            property: "timeoutMinutes",
            reason: `"${String(i.timeoutMinutes)}" is not a usable deadline: give whole minutes between 1 and 1440`,
        });
    if (known(i.emulationLimits)) {
        if (!Array.isArray(i.emulationLimits)) out.push({ property: "emulationLimits", reason: "must be a list of systemd unit names" });
        else
            i.emulationLimits.forEach((u, n) => {
                if (typeof u !== "string" || !UNIT_NAME.test(u))
                    out.push({
                        property: `emulationLimits[${n}]`,
                        reason: `${JSON.stringify(u)} is not a systemd unit name (e.g. systemd-sysctl.service)`,
                    });
            });
    }
    // The builder's rules for the shared launch settings. Everything else of the image's inputs is
    // a placeholder the validator accepts; only failures of shared properties are kept.
    const asImage = applyDefaults({
        region: i.region,
        instanceType: i.instanceType,
        stack: i.stack,
        owner: i.owner,
        environment: i.environment,
        release: i.release,
        extraTags: i.extraTags,
        subnetId: i.subnetId,
        vpcId: i.vpcId,
        associatePublicIpAddress: i.associatePublicIpAddress,
        sshInterface: i.sshInterface,
        sshCidrs: i.sshCidrs,
        ec2Endpoint: i.ec2Endpoint,
        emulator: i.emulator,
        sshHost: i.sshHost,
        sshPort: i.sshPort,
        sshUsername: i.sshUsername,
        couchbaseVersion: "1.0.0",
        couchbasePackageSource: "placeholder",
        agentArtifact: "placeholder.gz",
        agentSha256: UNKNOWN,
    });
    const shared = (p: string) => SHARED.some((s) => p === s || p.startsWith(`${s}.`) || p.startsWith(`${s}[`));
    for (const f of validateInputs(asImage, opts)) if (shared(f.property)) out.push(f);
    if (known(i.emulator) && known(i.ec2Endpoint) && i.emulator === true && !i.ec2Endpoint)
        out.push({ property: "emulator", reason: "is true but ec2Endpoint is empty: set ec2Endpoint to the emulator's URL" });
    return out;
}

/**
 * sha256 over a run's files (path, content, executable bit): the boot test folder's and the
 * generated launch variables (providers/bootTest/launchVariables.ts). A change re-tests the image.
 */
export function checksHash(files: readonly FileEntry[]): string {
    const entries: Record<string, string> = {};
    for (const f of files) entries[f.path] = sha256Hex(canonicalJson({ content: sha256Hex(f.content), executable: f.executable }));
    return sha256Hex(canonicalJson(entries));
}

/** What is missing from the boot test folder (file names), given its top-level file names. */
export function missingTemplateFiles(names: readonly string[]): string[] {
    return [BOOT_TEST_TEMPLATE, BOOT_CHECK_SCRIPT, LAUNCH_KEY_SCRIPT].filter((f) => !names.includes(f));
}

/** `started + timeout`, ISO-8601 without milliseconds: the test instance never outlives its test. */
export function testExpiry(started: Date, timeoutMinutes: number): string {
    return new Date(started.getTime() + timeoutMinutes * 60_000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Tags on the test instance, its volumes, the key pair and the security group: the stack's tags
 * (as on the image, so the janitor and the inventory select them the same way), `Purpose=boot-test`,
 * the image under test, and an expiry at the end of the test's deadline.
 */
export function bootTestTags(i: BootTestInputs, started: Date): Tags {
    const tags: Tags = { ...i.extraTags };
    tags.Name = `${i.imageName}-boot-test`;
    tags[TAG.project] = PROJECT;
    tags[TAG.stack] = i.stack;
    tags[TAG.owner] = i.owner;
    tags[TAG.environment] = i.environment;
    tags[TAG.expiresAt] = testExpiry(started, i.timeoutMinutes);
    tags[TAG.managedBy] = "pulumi";
    tags[TAG.sourceImage] = i.imageId;
    if (i.release) tags[TAG.release] = i.release;
    tags[PURPOSE_TAG] = PURPOSE;
    return tags;
}

/** Per-run values that are not inputs. */
export interface RunValues {
    reportPath: string;
    tags: Tags;
    temporaryKeyPairName: string;
}

/**
 * The template's variables for one run, as it declares them. Empty optional values are left out
 * so the template's defaults apply; with `declared`, undeclared ones are dropped.
 */
export function bootTestVariables(i: BootTestInputs, r: RunValues, declared?: readonly string[]): Record<string, unknown> {
    const all: Record<string, unknown> = {
        region: i.region,
        image_id: i.imageId,
        image_name: i.imageName,
        instance_type: i.instanceType,
        tags: r.tags,
        vpc_id: i.vpcId,
        subnet_id: i.subnetId,
        associate_public_ip_address: i.associatePublicIpAddress,
        ssh_interface: i.sshInterface,
        ssh_cidrs: i.sshCidrs,
        ssh_username: i.sshUsername,
        ssh_host: i.sshHost,
        ssh_port: i.sshPort,
        ec2_endpoint: i.ec2Endpoint,
        emulator: i.emulator,
        emulation_limits: i.emulationLimits,
        report_path: r.reportPath,
        temporary_key_pair_name: r.temporaryKeyPairName,
    };
    const required = new Set(["region", "image_id", "image_name", "tags", "report_path"]);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(all).sort()) {
        const v = all[k];
        const empty = v === "" || v === 0 || v === false || (Array.isArray(v) && v.length === 0);
        if (empty && !required.has(k)) continue;
        if (declared && !declared.includes(k)) continue;
        out[k] = v;
    }
    return out;
}

/** A deterministic short id of one test (stack + image + checks): names the temporary key pair. */
export function testId(stack: string, imageId: string, hash: string): string {
    return sha256Hex(`${stack}\n${imageId}\n${hash}`).slice(0, 12);
}

/**
 * Which inputs force a new test (replace): the image, the checks, the region and the emulation
 * limits (they change what counts as a failure). Everything else (launch settings, tags, the
 * deadline, provider code) is stored by an update without testing again.
 */
export const RETEST_FIELDS: readonly (keyof BootTestInputs)[] = ["imageId", "region", "checksHash", "emulationLimits"];
