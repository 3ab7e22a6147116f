/**
 * Packer's command lines, variables and environment, and its `-machine-readable` output. Pure.
 *
 * Values travel in a generated JSON var file (`*.pkrvars.json`), never on the command line: argv
 * carries no values at all, so nothing secret (or long) shows in `ps`. No shell is ever involved.
 */
import type { ResolvedImageInputs } from "./types";
import { packageUrl } from "./couchbasePackages";

/** Per-build values that are not inputs. */
export interface BuildValues {
    imageName: string;
    tags: Record<string, string>;
    manifestPath: string;
    temporaryKeyPairName: string;
}

/**
 * The template variables for one build, named as the template declares them. Empty optional
 * values are left out so the template's defaults apply. When `declared` is given, variables the
 * template does not declare are dropped (Packer warns about them otherwise).
 */
export function packerVariables(i: ResolvedImageInputs, b: BuildValues, declared?: readonly string[]): Record<string, unknown> {
    const base = i.baseImage ?? {};
    const all: Record<string, unknown> = {
        region: i.region,
        source_ami: base.id ?? "",
        source_ami_name_filter: base.id ? "" : (base.nameFilter ?? ""),
        source_ami_owners: base.id ? [] : (base.owners ?? []),
        instance_type: i.instanceType,
        // 0 / "" (unset) are left out below: the template's defaults (30 GiB, /dev/sda1) apply.
        root_volume_size: i.rootVolumeSize,
        root_device_name: i.rootDeviceName,
        couchbase_edition: i.couchbaseEdition,
        couchbase_version: i.couchbaseVersion,
        couchbase_package_source: i.couchbasePackageSource,
        // The repository pins only matter (and are only passed) in repository mode.
        ...(i.couchbasePackageSource === "repository"
            ? {
                  couchbase_release_url: i.couchbaseReleaseUrl,
                  couchbase_release_sha256: i.couchbaseReleaseSha256,
                  couchbase_key_fingerprints: i.couchbaseKeyFingerprints,
              }
            : {}),
        // So is the downloaded package's URL and sha256 in download mode.
        ...(i.couchbasePackageSource === "download"
            ? {
                  couchbase_package_url: packageUrl(i.couchbaseVersion, i.couchbaseEdition, i.architecture),
                  couchbase_package_sha256: i.couchbasePackageSha256,
              }
            : {}),
        agent_artifact: i.agentArtifact,
        agent_sha256: i.agentSha256,
        agent_unit: i.agentUnit,
        image_name: b.imageName,
        tags: b.tags,
        kms_key_id: i.kmsKeyId,
        subnet_id: i.subnetId,
        vpc_id: i.vpcId,
        // false is the template's default (the subnet decides): only true is passed.
        ...(i.associatePublicIpAddress ? { associate_public_ip_address: true } : {}),
        ssh_interface: i.sshInterface,
        ssh_cidrs: i.sshCidrs,
        ec2_endpoint: i.ec2Endpoint,
        emulator: i.emulator,
        ssh_host: i.sshHost,
        ssh_port: i.sshPort,
        ssh_username: i.sshUsername,
        manifest_path: b.manifestPath,
        temporary_key_pair_name: b.temporaryKeyPairName,
    };
    const required = new Set([
        "region",
        "instance_type",
        "couchbase_version",
        "agent_artifact",
        "agent_sha256",
        "image_name",
        "tags",
        "manifest_path",
    ]);
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(all).sort()) {
        const v = all[k];
        const empty = v === "" || v === 0 || (Array.isArray(v) && v.length === 0);
        if (empty && !required.has(k)) continue;
        if (declared && !declared.includes(k)) continue;
        out[k] = v;
    }
    return out;
}

/** Variable names declared (`variable "name" {`) in HCL template text. */
export function declaredVariables(hclTexts: readonly string[]): string[] {
    const names = new Set<string>();
    for (const t of hclTexts) for (const m of t.matchAll(/^\s*variable\s+"([A-Za-z0-9_-]+)"\s*\{/gm)) names.add(m[1]);
    return [...names].sort();
}

/** `packer build` argv (without the executable). */
export function buildArgv(varFile: string, templateDir: string): string[] {
    return ["build", "-machine-readable", "-color=false", "-on-error=cleanup", `-var-file=${varFile}`, templateDir];
}

/** `packer validate` argv (without the executable). */
export function validateArgv(varFile: string, templateDir: string): string[] {
    return ["validate", `-var-file=${varFile}`, templateDir];
}

/**
 * Packer's environment: the caller's (credentials come from there, never from inputs) plus the
 * EC2 endpoint override: the amazon plugin's encrypted copy step ignores the template's
 * `custom_endpoint_ec2`, so Packer needs `AWS_ENDPOINT_URL_EC2` too (seen against moto: without it the
 * build fails at "Copying/Encrypting AMI" calling the real endpoint).
 */
export function packerEnv(
    base: Record<string, string | undefined>,
    i: Pick<ResolvedImageInputs, "ec2Endpoint" | "emulator">,
): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
    env.CHECKPOINT_DISABLE = "1";
    env.PACKER_NO_COLOR = "1";
    if (i.ec2Endpoint) env.AWS_ENDPOINT_URL_EC2 = i.ec2Endpoint;
    if (i.emulator) env.AWS_EC2_METADATA_DISABLED = "true";
    return env;
}

/** One `-machine-readable` line: `<unix-ts>,<target>,<type>,<data…>`. */
export interface MachineLine {
    timestamp: number;
    target: string;
    type: string;
    data: string[];
}

/** Parses one machine-readable line (undoing `%!(PACKER_COMMA)` and `\n` escapes); undefined if it is not one. */
export function parseMachineLine(line: string): MachineLine | undefined {
    const m = /^(\d+),([^,]*),([^,]+),?(.*)$/.exec(line);
    if (!m) return undefined;
    const data =
        m[4] === ""
            ? []
            : m[4].split(",").map((d) =>
                  d
                      .replace(/%!\(PACKER_COMMA\)/g, ",")
                      .replace(/\\n/g, "\n")
                      .replace(/\\r/g, ""),
              );
    return { timestamp: Number(m[1]), target: m[2], type: m[3], data };
}

/**
 * Human-readable text for a machine-readable line: `ui` messages as Packer would print them,
 * artifacts and errors spelled out; other types (version, template info…) give undefined.
 */
export function readableLine(l: MachineLine): string | undefined {
    switch (l.type) {
        case "ui": {
            const [kind, ...rest] = l.data;
            const text = rest.join(",");
            return kind === "error" ? `ERROR: ${text}` : text;
        }
        case "artifact":
            return l.data[1] === "id" ? `${l.target}: artifact ${l.data[0]} id ${l.data[2] ?? ""}` : undefined;
        case "error":
            return `ERROR: ${l.data.join(",")}`;
        case "error-count":
            return `errors: ${l.data[0] ?? ""}`;
        default:
            return undefined;
    }
}

/** The `version` Packer prints (`Packer v1.16.0` → `1.16.0`); undefined if none. */
export function parsePackerVersion(stdout: string): string | undefined {
    const m = /Packer v(\d+\.\d+\.\d+)/.exec(stdout) ?? /^(\d+\.\d+\.\d+)\s*$/m.exec(stdout);
    return m?.[1];
}

/** The amazon plugin version from `packer plugins installed` output (`…packer-plugin-amazon_v1.8.2_x5.0_…`). */
export function parsePluginVersion(stdout: string): string | undefined {
    return /packer-plugin-amazon_v(\d+\.\d+\.\d+)/.exec(stdout)?.[1];
}
