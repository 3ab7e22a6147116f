/**
 * The preflight's judgements: what AWS answered → one line per check, with the fix. Pure (no I/O):
 * scripts/preflight.ts asks AWS and passes the answers, or the error, here.
 */
import { archKey, type Arch } from "../../pipeline/architectures";
import type { PipelineConfig } from "../../pipeline/config";
import { expectedSha256, packageUrl, stackPin } from "../../providers/packer/couchbasePackages";

/** `warn`: not checked or not knowable here (the fix says how to check); it does not fail the run. */
export type Status = "ok" | "fail" | "warn" | "skip";

/** One check's outcome: what was checked, the status, what was seen, and the fix when it failed. */
export interface CheckResult {
    /** What was checked, naming the config key where there is one (`kmsKeyIds.eu-west-1`). */
    name: string;
    status: Status;
    detail: string;
    fix?: string;
}

/** An AWS error as the preflight reports it: its code and first line. */
export interface AwsFailure {
    code: string;
    message: string;
}

/** The SDK error's code (`name`) and first message line. */
export function awsFailure(e: unknown): AwsFailure {
    const o = e as { name?: unknown; Code?: unknown; message?: unknown };
    const code = typeof o?.Code === "string" ? o.Code : typeof o?.name === "string" ? o.name : "Error";
    return { code, message: String(o?.message ?? e).split("\n")[0] };
}

const DENIED = new Set(["UnauthorizedOperation", "AccessDenied", "AccessDeniedException", "UnauthorizedAccess"]);
const BAD_CREDENTIALS = new Set([
    "AuthFailure",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "ExpiredTokenException",
    "CredentialsProviderError",
    "UnrecognizedClientException",
]);

/** A check that could not ask AWS: the error, and the generic fix for its kind. */
export function failed(name: string, what: string, e: AwsFailure, action: string): CheckResult {
    const detail = `${what}: ${e.code}: ${e.message}`;
    if (DENIED.has(e.code))
        return { name, status: "fail", detail, fix: `allow ${action} (docs/iam/build.json) for these credentials in this region` };
    if (BAD_CREDENTIALS.has(e.code))
        return {
            name,
            status: "fail",
            detail,
            fix: "give working credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; `aws sts get-caller-identity` must work)",
        };
    return { name, status: "fail", detail, fix: "retry; if it persists, check the network path to AWS and the region name" };
}

/** Credentials: who the calls run as. */
export function identityCheck(r: { Account?: string; Arn?: string } | AwsFailure): CheckResult {
    const name = "credentials";
    if ("code" in r) return failed(name, "sts:GetCallerIdentity failed", r, "sts:GetCallerIdentity");
    return { name, status: "ok", detail: `account ${r.Account ?? "?"} as ${r.Arn ?? "?"}` };
}

/** A region's state in DescribeRegions(AllRegions) as EC2 reports it. */
export interface RegionInfo {
    RegionName?: string;
    OptInStatus?: string;
}

/** Each region the stack uses (build, copies) is enabled for the account. */
export function regionChecks(cfg: Pick<PipelineConfig, "buildRegion" | "copyRegions">, regions: RegionInfo[] | AwsFailure): CheckResult[] {
    const used = [cfg.buildRegion, ...cfg.copyRegions];
    const keyOf = (r: string) => (r === cfg.buildRegion ? "buildRegion" : `copyRegions (${r})`);
    if ("code" in regions) return [failed("regions", "ec2:DescribeRegions failed", regions, "ec2:DescribeRegions")];
    return used.map((r): CheckResult => {
        const info = regions.find((x) => x.RegionName === r);
        if (!info)
            return {
                name: keyOf(r),
                status: "fail",
                detail: `${r} is not a region of this account's partition`,
                fix: `use a region name from \`aws ec2 describe-regions --all-regions\``,
            };
        if (info.OptInStatus === "not-opted-in") {
            return {
                name: keyOf(r),
                status: "fail",
                detail: `${r} is not enabled for the account (opt-in region)`,
                fix: `enable it (\`aws account enable-region --region-name ${r}\`), or remove it from the stack`,
            };
        }
        return { name: keyOf(r), status: "ok", detail: `${r} is enabled (${info.OptInStatus ?? "opt-in-not-required"})` };
    });
}

/** A subnet as the preflight needs it. */
export interface SubnetInfo {
    SubnetId?: string;
    VpcId?: string;
    MapPublicIpOnLaunch?: boolean;
    DefaultForAz?: boolean;
}

/** What was found of the builder's network: the configured subnet, or the default VPC and its subnets. */
export type NetworkFacts =
    | { subnetId: string; subnet: SubnetInfo | undefined | AwsFailure }
    | { defaultVpcId: string | undefined; defaultSubnets: SubnetInfo[] }
    | { defaultVpc: AwsFailure };

const NO_SSH_ROUTE_FIX =
    "set associatePublicIpAddress true (a public subnet: its route table reaches an internet gateway), " +
    "or sshInterface private_ip when Packer runs inside the VPC (a runner there, a VPN)";

/**
 * The builder's network: with subnetId, the subnet exists in the build region, belongs to vpcId
 * when that is set, and gives SSH a route (it maps public IPs, or associatePublicIpAddress, or a
 * private sshInterface); without subnetId, the build region has a default VPC (else Packer fails
 * with VPCIdNotSpecified) whose default subnets map public IPs (or the same settings).
 */
export function networkChecks(
    cfg: Pick<PipelineConfig, "buildRegion" | "subnetId" | "vpcId" | "associatePublicIpAddress" | "sshInterface" | "sshHost">,
    f: NetworkFacts,
): CheckResult[] {
    const r = cfg.buildRegion;
    const privateSsh = cfg.sshInterface === "private_ip" || cfg.sshInterface === "private_dns";
    const routeOk = (mapsPublic: boolean) => mapsPublic || cfg.associatePublicIpAddress || privateSsh || cfg.sshHost !== undefined;
    const how = privateSsh
        ? `sshInterface ${cfg.sshInterface}`
        : cfg.associatePublicIpAddress
          ? "associatePublicIpAddress"
          : cfg.sshHost !== undefined
            ? "sshHost"
            : "";
    if ("subnetId" in f) {
        const name = "subnetId";
        if (f.subnet !== undefined && "code" in f.subnet)
            return [failed(name, `ec2:DescribeSubnets ${f.subnetId} failed`, f.subnet, "ec2:DescribeSubnets")];
        if (f.subnet === undefined) {
            return [
                {
                    name,
                    status: "fail",
                    detail: `${f.subnetId} does not exist in ${r}`,
                    fix: `give a subnet of ${r} (\`aws ec2 describe-subnets --region ${r}\`), or remove subnetId to use the default VPC`,
                },
            ];
        }
        const out: CheckResult[] = [];
        if (cfg.vpcId && f.subnet.VpcId !== cfg.vpcId) {
            out.push({
                name: "vpcId",
                status: "fail",
                detail: `${f.subnetId} is in ${f.subnet.VpcId}, not in ${cfg.vpcId}`,
                fix: "set vpcId to the subnet's VPC, or remove vpcId (the subnet implies it)",
            });
        }
        const maps = f.subnet.MapPublicIpOnLaunch === true;
        out.push(
            routeOk(maps)
                ? {
                      name,
                      status: "ok",
                      detail: `${f.subnetId} in ${f.subnet.VpcId}; ${maps ? "maps public IPs on launch" : `no public IPs on launch; SSH through ${how}`}`,
                  }
                : {
                      name,
                      status: "fail",
                      detail: `${f.subnetId} maps no public IP on launch: the builder would get only a private IP, and Packer would wait 10 minutes for SSH`,
                      fix: NO_SSH_ROUTE_FIX,
                  },
        );
        return out;
    }
    const name = "subnetId (default VPC)";
    if ("defaultVpc" in f) return [failed(name, "ec2:DescribeVpcs failed", f.defaultVpc, "ec2:DescribeVpcs")];
    if (!f.defaultVpcId) {
        return [
            {
                name,
                status: "fail",
                detail: `${r} has no default VPC and subnetId is empty: Packer would fail with VPCIdNotSpecified`,
                fix: `set subnetId to a subnet of ${r} (and vpcId to its VPC, or leave vpcId empty), or create a default VPC (\`aws ec2 create-default-vpc --region ${r}\`)`,
            },
        ];
    }
    const defaults = f.defaultSubnets.filter((s) => s.DefaultForAz !== false);
    const mapping = defaults.filter((s) => s.MapPublicIpOnLaunch === true);
    if (defaults.length === 0) {
        return [
            {
                name,
                status: "fail",
                detail: `the default VPC ${f.defaultVpcId} has no subnets`,
                fix: `create default subnets (\`aws ec2 create-default-subnet --region ${r} --availability-zone <zone>\`), or set subnetId`,
            },
        ];
    }
    if (!routeOk(mapping.length === defaults.length)) {
        return [
            {
                name,
                status: "fail",
                detail: `${defaults.length - mapping.length} of the default VPC's ${defaults.length} default subnets map no public IP on launch; EC2 may place the builder in one and SSH would time out`,
                fix: `${NO_SSH_ROUTE_FIX}, or set subnetId to one that maps public IPs`,
            },
        ];
    }
    return [
        {
            name,
            status: "ok",
            detail: `default VPC ${f.defaultVpcId} (${defaults.length} default subnets${mapping.length === defaults.length ? ", all map public IPs" : `; SSH through ${how}`})`,
        },
    ];
}

/** The base image of one architecture: the explicit id exists, or the filter finds one. */
export function baseImageCheck(
    cfg: Pick<PipelineConfig, "buildRegion" | "baseImageId" | "baseImageNameFilter" | "baseImageOwners">,
    images: { ImageId?: string; Name?: string; CreationDate?: string }[] | AwsFailure,
    arch: Arch = "amd64",
): CheckResult {
    const name = archKey(cfg.baseImageId ? "baseImageId" : "baseImageNameFilter", arch);
    if ("code" in images) return failed(name, "ec2:DescribeImages failed", images, "ec2:DescribeImages");
    const newest = [...images].sort((a, b) => (b.CreationDate ?? "").localeCompare(a.CreationDate ?? ""))[0];
    if (!newest) {
        const what = cfg.baseImageId
            ? `${cfg.baseImageId} does not exist in ${cfg.buildRegion} (or is not shared with the account)`
            : `no image named ${cfg.baseImageNameFilter} owned by ${cfg.baseImageOwners.join(", ")} in ${cfg.buildRegion}`;
        return {
            name,
            status: "fail",
            detail: what,
            fix: `check the image in ${cfg.buildRegion} (\`aws ec2 describe-images --region ${cfg.buildRegion} …\`) and fix ${name}`,
        };
    }
    return { name, status: "ok", detail: `${newest.ImageId} ${newest.Name ?? ""}`.trim() };
}

/**
 * The Couchbase Server package of one architecture (no AWS call): in download mode, its sha256 is in
 * the project's table or pinned by the stack; other modes say what they rely on.
 */
export function packageCheck(
    cfg: Pick<PipelineConfig, "couchbasePackageSource" | "couchbaseVersion" | "couchbaseEdition" | "couchbasePackageSha256">,
    arch: Arch,
): CheckResult {
    const name = `couchbasePackageSource (${arch})`;
    if (cfg.couchbasePackageSource === "repository") {
        return {
            name,
            status: "skip",
            detail: "repository mode: Couchbase's apt repository, verified by the pinned release package and keys (not reachable from here: docs/image.md)",
        };
    }
    if (cfg.couchbasePackageSource !== "download")
        return { name, status: "skip", detail: `a local package folder (${cfg.couchbasePackageSource})` };
    const e = expectedSha256(
        cfg.couchbaseVersion,
        cfg.couchbaseEdition,
        arch,
        stackPin(cfg.couchbasePackageSha256, cfg.couchbaseVersion, arch),
    );
    if ("problem" in e)
        return { name, status: "fail", detail: e.problem, fix: "pin the sha256 (couchbasePackageSha256) or pick a version the table has" };
    return {
        name,
        status: "ok",
        detail: `${packageUrl(cfg.couchbaseVersion, cfg.couchbaseEdition, arch)}, sha256 from the ${e.from === "table" ? "project's table" : "stack's pin"}`,
    };
}

/** A key as kms:DescribeKey reports it. */
export interface KeyInfo {
    Arn?: string;
    KeyState?: string;
    KeyManager?: string;
}

/**
 * One kmsKeyIds entry: DescribeKey in that region finds it, it is enabled, and its ARN is of that
 * region. What DescribeKey cannot show: whether the key's own policy lets EC2 use it for the caller
 * (CreateGrant, Decrypt, GenerateDataKeyWithoutPlaintext, ReEncrypt*); the first build shows that.
 */
export function kmsKeyCheck(region: string, key: string, r: KeyInfo | AwsFailure): CheckResult {
    const name = `kmsKeyIds.${region}`;
    if ("code" in r) {
        if (r.code === "NotFoundException") {
            return {
                name,
                status: "fail",
                detail: `${key} is not a key in ${region}: ${r.message}`,
                fix: `give a key of ${region} (\`aws kms list-aliases --region ${region}\`), or remove the entry to use the default EBS key`,
            };
        }
        return failed(name, `kms:DescribeKey ${key} in ${region} failed`, r, "kms:DescribeKey");
    }
    const arnRegion = r.Arn?.split(":")[3];
    if (arnRegion && arnRegion !== region) {
        return { name, status: "fail", detail: `${key} is a key of ${arnRegion}, not ${region}`, fix: `give a key of ${region}` };
    }
    if (r.KeyState !== "Enabled") {
        return {
            name,
            status: "fail",
            detail: `${r.Arn ?? key} is ${r.KeyState ?? "in an unknown state"}, not Enabled`,
            fix: `enable it (\`aws kms enable-key --region ${region} --key-id ${r.Arn ?? key}\`) or give another key`,
        };
    }
    return { name, status: "ok", detail: `${r.Arn ?? key} is enabled${r.KeyManager ? ` (${r.KeyManager} managed)` : ""}` };
}

/** The report: one line per check (`ok  name: detail`, `FAIL name: detail` + `     fix: …`; `WARN`, `skip`). */
export function renderResults(results: readonly CheckResult[]): string[] {
    const width = Math.max(...results.map((r) => r.name.length), 0);
    const lines: string[] = [];
    for (const r of results) {
        const tag = r.status === "ok" ? "ok  " : r.status === "skip" ? "skip" : r.status === "warn" ? "WARN" : "FAIL";
        lines.push(`${tag}  ${r.name.padEnd(width)}  ${r.detail}`);
        if (r.fix) lines.push(`      ${"".padEnd(width)}  fix: ${r.fix}`);
    }
    return lines;
}
