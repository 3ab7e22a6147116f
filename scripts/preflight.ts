/**
 * The preflight: before the first real `up`, checks with read-only AWS calls what a build needs.
 *
 *   npm run preflight -- --stack NAME [--endpoint URL]
 *
 * It reads the stack's config as the program does (Pulumi.yaml defaults + Pulumi.<stack>.yaml,
 * validated by pipeline/config.ts), then checks: the credentials (sts:GetCallerIdentity); that the
 * build and copy regions are enabled; the builder's network (the subnet exists and gives SSH a
 * route, or the default VPC exists); each architecture's base image and Couchbase package (its
 * sha256 in the project's table or pinned); each kmsKeyIds key (exists in its region, enabled); the
 * caller's permissions for the generated policies' actions (iam:SimulatePrincipalPolicy, per role
 * and region: build, copies, and the janitor's with --janitor). One line per check, with the fix;
 * exit 0 when all pass (warnings included), 1 when one fails, 2 on bad usage or config. The
 * judgements are scripts/preflight/checks.ts and scripts/preflight/permissions.ts; this file only
 * asks AWS, with read-only calls.
 */
import * as os from "node:os";
import {
    DescribeImagesCommand,
    DescribeRegionsCommand,
    DescribeSubnetsCommand,
    DescribeVpcsCommand,
    type Filter,
} from "@aws-sdk/client-ec2";
import { IAMClient, SimulatePrincipalPolicyCommand, type EvaluationResult } from "@aws-sdk/client-iam";
import { DescribeKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { ConfigError, parseConfig, type PipelineConfig } from "../pipeline/config";
import { ec2Client } from "../providers/ec2/client";
import { hasCode } from "../providers/ec2/retry";
import {
    awsFailure,
    baseImageCheck,
    identityCheck,
    kmsKeyCheck,
    networkChecks,
    packageCheck,
    regionChecks,
    renderResults,
    type AwsFailure,
    type CheckResult,
    type NetworkFacts,
} from "./preflight/checks";
import {
    byRoleRegion,
    permissionsCheck,
    principalCheck,
    principalOf,
    simulationFailed,
    simulationPlan,
    verdicts,
    type Principal,
    type Simulatable,
    type Simulation,
} from "./preflight/permissions";
import { PROJECT_NAME, PROJECT_ROOT, stackConfigValues } from "./stack";

export const USAGE = "usage: npm run preflight -- --stack NAME [--janitor] [--principal-arn ARN] [--endpoint URL]";

export interface PreflightOptions {
    stack: string;
    /** One endpoint for EC2, KMS and STS (moto). Default: the stack's ec2Endpoint, else AWS. */
    endpoint?: string;
    /** Project root holding Pulumi.yaml and Pulumi.<stack>.yaml (tests). Default: this project's. */
    root?: string;
    /** Also simulate the janitor's policy (docs/iam/janitor.json) for the caller. */
    janitor?: boolean;
    /**
     * The IAM user or role to simulate instead of the caller's (a role with a path, which an
     * assumed-role session ARN does not show; or an administrator checking someone else's role).
     */
    principalArn?: string;
}

/** Parses argv (after the script name). Pure; throws a usage error. */
export function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): PreflightOptions {
    let stack = env.PULUMI_STACK ?? "";
    let endpoint: string | undefined;
    let principalArn: string | undefined;
    let janitor = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--stack" || a === "-s") stack = argv[++i] ?? "";
        else if (a.startsWith("--stack=")) stack = a.slice("--stack=".length);
        else if (a === "--endpoint") endpoint = argv[++i] ?? "";
        else if (a.startsWith("--endpoint=")) endpoint = a.slice("--endpoint=".length);
        else if (a === "--principal-arn") principalArn = argv[++i] ?? "";
        else if (a.startsWith("--principal-arn=")) principalArn = a.slice("--principal-arn=".length);
        else if (a === "--janitor") janitor = true;
        else throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
    if (!stack) throw new Error(`--stack NAME is required\n${USAGE}`);
    if (endpoint !== undefined && !/^https?:\/\//.test(endpoint))
        throw new Error(`--endpoint ${JSON.stringify(endpoint)} is not an http(s) URL\n${USAGE}`);
    if (principalArn !== undefined && !/^arn:aws[a-z-]*:iam::\d{12}:(user|role)\/./.test(principalArn)) {
        throw new Error(
            `--principal-arn ${JSON.stringify(principalArn)} is not an IAM user or role ARN (arn:aws:iam::<account>:role/<path/name>)\n${USAGE}`,
        );
    }
    return { stack, ...(endpoint ? { endpoint } : {}), ...(janitor ? { janitor } : {}), ...(principalArn ? { principalArn } : {}) };
}

const clientOptions = (region: string, endpoint?: string) => ({
    region,
    maxAttempts: 5,
    retryMode: "adaptive",
    ...(endpoint ? { endpoint } : {}),
});

async function attempt<T>(fn: () => Promise<T>) {
    try {
        return await fn();
    } catch (e) {
        return awsFailure(e);
    }
}

/**
 * Simulates each planned call for the principal, paging through the results, and judges each role
 * and region (scripts/preflight/permissions.ts). The first call that fails (AccessDenied: the
 * caller may not simulate; NoSuchEntity; an emulator without IAM's simulator) ends the simulation
 * with one warning line for what is left: the permissions are then unknown, not wrong.
 */
export async function simulatePermissions(iam: IAMClient, principal: Simulatable, plan: readonly Simulation[]): Promise<CheckResult[]> {
    const out: CheckResult[] = [];
    const groups = byRoleRegion(plan);
    for (const [i, g] of groups.entries()) {
        const results: EvaluationResult[] = [];
        const failure = await attempt(async () => {
            for (const s of g.items) {
                let marker: string | undefined;
                do {
                    const page = await iam.send(
                        new SimulatePrincipalPolicyCommand({
                            PolicySourceArn: principal.arn,
                            ActionNames: s.actions,
                            ...(s.resourceArns ? { ResourceArns: s.resourceArns } : {}),
                            ContextEntries: s.context.map((c) => ({
                                ContextKeyName: c.key,
                                ContextKeyType: "string",
                                ContextKeyValues: c.values,
                            })),
                            ...(marker ? { Marker: marker } : {}),
                        }),
                    );
                    results.push(...(page.EvaluationResults ?? []));
                    marker = page.IsTruncated ? page.Marker : undefined;
                } while (marker);
            }
            return undefined;
        });
        if (failure) {
            out.push(
                simulationFailed(
                    principal,
                    failure,
                    groups.slice(i).map((x) => x.role),
                ),
            );
            break;
        }
        const actions = [...new Set(g.items.flatMap((s) => s.actions))].sort();
        // One action in two scopes (kms:DescribeKey) is judged over both calls' results.
        out.push(permissionsCheck(principal.arn, { role: g.role, region: g.region, verdicts: verdicts(actions, results) }));
    }
    return out;
}

/** Runs every check for a validated config. */
export async function runChecks(
    cfg: PipelineConfig,
    endpoint?: string,
    opts: Pick<PreflightOptions, "janitor" | "principalArn"> = {},
): Promise<CheckResult[]> {
    const ep = endpoint ?? cfg.ec2Endpoint;
    const region = cfg.buildRegion;
    const results: CheckResult[] = [];
    const sts = new STSClient(clientOptions(region, ep));
    const ec2 = await ec2Client(region, ep);
    let caller: { Arn?: string } | AwsFailure;
    try {
        caller = await attempt(async () => sts.send(new GetCallerIdentityCommand({})));
        results.push(identityCheck(caller));
        results.push(
            ...regionChecks(
                cfg,
                await attempt(async () => (await ec2.send(new DescribeRegionsCommand({ AllRegions: true }))).Regions ?? []),
            ),
        );

        let network: NetworkFacts;
        if (cfg.subnetId) {
            const id = cfg.subnetId;
            const subnet = await attempt(async () => {
                try {
                    return (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [id] }))).Subnets?.[0];
                } catch (e) {
                    if (hasCode(e, ["InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"])) return undefined;
                    throw e;
                }
            });
            network = { subnetId: id, subnet };
        } else {
            const found = await attempt(async () => {
                const vpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] }))).Vpcs?.[0]
                    ?.VpcId;
                const subnets = vpc
                    ? ((await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpc] }] }))).Subnets ?? [])
                    : [];
                return { vpc, subnets };
            });
            network = "code" in found ? { defaultVpc: found } : { defaultVpcId: found.vpc, defaultSubnets: found.subnets };
        }
        results.push(...networkChecks(cfg, network));

        // Each architecture's base image and package.
        for (const a of cfg.architectures) {
            const images = await attempt(async () => {
                if (a.baseImageId) {
                    try {
                        return (await ec2.send(new DescribeImagesCommand({ ImageIds: [a.baseImageId] }))).Images ?? [];
                    } catch (e) {
                        if (hasCode(e, ["InvalidAMIID.NotFound", "InvalidAMIID.Malformed"])) return [];
                        throw e;
                    }
                }
                const filters: Filter[] = [
                    { Name: "name", Values: [a.baseImageNameFilter] },
                    { Name: "state", Values: ["available"] },
                ];
                return (await ec2.send(new DescribeImagesCommand({ Owners: cfg.baseImageOwners, Filters: filters }))).Images ?? [];
            });
            results.push(
                baseImageCheck({ ...cfg, baseImageId: a.baseImageId, baseImageNameFilter: a.baseImageNameFilter }, images, a.arch),
            );
            results.push(packageCheck(cfg, a.arch));
        }
    } finally {
        ec2.destroy();
        sts.destroy();
    }

    // Region → the key as the simulation should name it: its ARN once DescribeKey resolved it.
    const keys: Record<string, string> = {};
    for (const [keyRegion, key] of Object.entries(cfg.kmsKeyIds).sort(([a], [b]) => a.localeCompare(b))) {
        if (!key) continue;
        const kms = new KMSClient(clientOptions(keyRegion, ep));
        try {
            const meta = await attempt(
                async (): Promise<{ Arn?: string; KeyState?: string; KeyManager?: string }> =>
                    (await kms.send(new DescribeKeyCommand({ KeyId: key }))).KeyMetadata ?? {},
            );
            const check = kmsKeyCheck(keyRegion, key, meta);
            results.push(check);
            keys[keyRegion] = check.status === "ok" && !("code" in meta) && meta.Arn ? meta.Arn : key;
        } finally {
            kms.destroy();
        }
    }

    // The caller's permissions for the policies' actions.
    const principal: Principal | AwsFailure = opts.principalArn
        ? principalOf(opts.principalArn)
        : "code" in caller
          ? caller
          : principalOf(caller.Arn ?? "");
    if ("arn" in principal) {
        const iam = new IAMClient(clientOptions(region, ep));
        try {
            const plan = simulationPlan({
                buildRegion: region,
                copyRegions: cfg.copyRegions,
                kmsKeys: keys,
                janitor: opts.janitor === true,
            });
            results.push(...(await simulatePermissions(iam, principal, plan)));
        } finally {
            iam.destroy();
        }
    } else {
        results.push(principalCheck(principal));
    }
    return results;
}

/** The whole command: config, checks, report. Returns the exit code. */
export async function runPreflight(o: PreflightOptions, io: { out: (l: string) => void; err: (l: string) => void }): Promise<number> {
    let cfg: PipelineConfig;
    try {
        const raw = await stackConfigValues(o.stack, o.root ?? PROJECT_ROOT);
        cfg = parseConfig(raw, { stack: o.stack, project: PROJECT_NAME, user: os.userInfo().username });
    } catch (e) {
        if (e instanceof ConfigError) {
            io.err(`preflight: the configuration of ${o.stack} is invalid (fix it first; preview says the same):\n${e.message}`);
            return 2;
        }
        throw e;
    }
    io.err(
        `preflight: stack ${o.stack}, build region ${cfg.buildRegion}${cfg.copyRegions.length ? `, copies in ${cfg.copyRegions.join(", ")}` : ""} (read-only calls)`,
    );
    const results = await runChecks(cfg, o.endpoint, o);
    for (const line of renderResults(results)) io.out(line);
    const failed = results.filter((r) => r.status === "fail").length;
    const warned = results.filter((r) => r.status === "warn").length;
    const warnings = warned ? ` (${warned} warning(s) above: what could not be checked, and how to)` : "";
    io.err(
        failed
            ? `preflight: ${failed} check(s) failed; fix them before \`up\`${warnings}`
            : `preflight: every check passed; next: preview, then up${warnings}`,
    );
    return failed ? 1 : 0;
}

async function main(): Promise<number> {
    let o: PreflightOptions;
    try {
        o = parseArgs(process.argv.slice(2));
    } catch (e) {
        process.stderr.write(`preflight: ${(e as Error).message}\n`);
        return 2;
    }
    try {
        return await runPreflight(o, { out: (l) => process.stdout.write(`${l}\n`), err: (l) => process.stderr.write(`${l}\n`) });
    } catch (e) {
        process.stderr.write(`preflight: ${(e as Error).message}\n`);
        return 2;
    }
}

if (require.main === module) {
    void main().then((code) => {
        process.exitCode = code;
    });
}
