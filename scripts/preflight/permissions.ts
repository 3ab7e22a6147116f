/**
 * The preflight's permission check, pure: who the caller is as IAM sees it, what to simulate
 * (the generated policies' actions, per role and region, scripts/iam/actions.ts), and what
 * iam:SimulatePrincipalPolicy answered → one line per role and region, with the fix.
 * scripts/preflight.ts makes the calls (simulatePermissions) and passes the answers here.
 *
 * What a simulation cannot show (docs/aws-first-run.md): a KMS key's own key policy, session
 * policies of an assumed role's session, and conditions on values the simulation is not given
 * (they come back as MissingContextValues and are reported as a warning, not a failure).
 */
import { ACTIONS, type ActionUse, type Role, type Scope } from "../iam/actions";
import { POLICY_FILES } from "../iam/policies";
import { PROJECT, TAG } from "../../providers/ec2/tags";
import type { AwsFailure, CheckResult } from "./checks";

/** The principal whose policies the simulation reads, from sts:GetCallerIdentity's ARN. */
export type Principal =
    | {
          /** `arn:<partition>:iam::<account>:user/…` or `…:role/<name>`. */
          arn: string;
          kind: "user" | "role";
          /** Set when the ARN was made from an assumed-role session: a role's path cannot be seen there. */
          fromSession?: { role: string; session: string };
      }
    /** No simulation: the reason (the root user may do everything; it should not run builds). */
    | { skip: string }
    /** An ARN that names no user or role: the reason and the fix. */
    | { problem: string; fix: string };

/** A principal the simulation can run for. */
export type Simulatable = Extract<Principal, { arn: string }>;

const ARN = /^arn:(aws[a-z-]*):(sts|iam)::(\d{12}):(.+)$/;

/**
 * The IAM principal behind a caller ARN. A user ARN (`arn:aws:iam::ACCT:user/PATH/NAME`) and a role
 * ARN are used as they are. An assumed-role session (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`)
 * becomes the role `arn:aws:iam::ACCT:role/ROLE`: the session ARN drops the role's path, so a role
 * created with a path (IAM Identity Center's `aws-reserved/sso.amazonaws.com/…`, or your own) may
 * not be found under that ARN; `--principal-arn` gives the real one. A federated user
 * (GetFederationToken) and anything else cannot be simulated.
 */
export function principalOf(callerArn: string): Principal {
    const m = ARN.exec(callerArn);
    const fix =
        "pass the IAM user or role whose policies these credentials carry: --principal-arn arn:aws:iam::<account>:role/<path/name> (`aws iam get-role --role-name NAME --query Role.Arn`)";
    if (!m) return { problem: `${JSON.stringify(callerArn)} is not an IAM or STS ARN`, fix };
    const [, partition, service, account, resource] = m;
    if (service === "iam") {
        if (resource === "root")
            return {
                skip: `${callerArn} is the account's root user: IAM policies do not limit it (and it should not run builds: use a role with docs/iam/*.json)`,
            };
        if (resource.startsWith("user/")) return { arn: callerArn, kind: "user" };
        if (resource.startsWith("role/")) return { arn: callerArn, kind: "role" };
        return { problem: `${callerArn} names no IAM user or role`, fix };
    }
    const session = /^assumed-role\/([^/]+)\/(.+)$/.exec(resource);
    if (session)
        return {
            arn: `arn:${partition}:iam::${account}:role/${session[1]}`,
            kind: "role",
            fromSession: { role: session[1], session: session[2] },
        };
    if (resource.startsWith("federated-user/")) {
        return {
            problem: `${callerArn} is a federated user (GetFederationToken), which cannot be simulated`,
            fix: "pass the IAM user that made the token: --principal-arn arn:aws:iam::<account>:user/<name>",
        };
    }
    return { problem: `${callerArn} names no IAM user or assumed role`, fix };
}

/** One SimulatePrincipalPolicy call: one role's actions of one scope, in one region. */
export interface Simulation {
    role: Role;
    region: string;
    scope: Scope;
    actions: string[];
    /** Resources to simulate on; absent: `*` (the policies' own Resource). */
    resourceArns?: string[];
    /** Context keys the policies' conditions read (all strings). */
    context: { key: string; values: string[] }[];
}

/** What the plan needs of the stack. */
export interface PlanInput {
    buildRegion: string;
    copyRegions: readonly string[];
    /** Region → the kmsKeyIds key of that region, as a key ARN where DescribeKey resolved one. */
    kmsKeys: Readonly<Record<string, string | undefined>>;
    /** Also simulate the janitor's policy (npm run janitor), in the build and copy regions. */
    janitor: boolean;
}

const isKeyArn = (k: string | undefined): k is string => typeof k === "string" && /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\//.test(k);

/**
 * What to simulate for a stack. Every call carries `aws:RequestedRegion` (a policy narrowed to the
 * stack's regions, as docs/iam/README.md suggests, then simulates as it runs):
 * - build, in the build region: its actions of scope `any`; with a build-region key, the KMS
 *   actions EC2 makes for it (`kms:ViaService` = that region's EC2), on the key's ARN when known;
 * - copies (create and destroy), in each copy region: its `any` actions; the KMS actions via EC2
 *   when the copy region or the build region (the source image's key) has a key;
 * - janitor (optional), in each region: every action, the destructive ones on an object tagged
 *   `Project=couchbase-images` (`aws:ResourceTag/Project`).
 */
export function simulationPlan(p: PlanInput, list: readonly ActionUse[] = ACTIONS): Simulation[] {
    const of = (role: Role, scope: Scope) =>
        [...new Set(list.filter((a) => a.role === role && (a.scope ?? "any") === scope).map((a) => a.action))].sort();
    const region = (r: string) => ({ key: "aws:RequestedRegion", values: [r] });
    const viaEc2 = (r: string) => ({ key: "kms:ViaService", values: [`ec2.${r}.amazonaws.com`] });
    const out: Simulation[] = [];
    const push = (s: Simulation) => {
        if (s.actions.length > 0) out.push(s);
    };
    const kms = (role: Role, r: string, keys: (string | undefined)[]) => {
        const set = keys.filter((k): k is string => Boolean(k));
        if (set.length === 0) return;
        const arns = set.filter(isKeyArn);
        // A key given as an id or alias that DescribeKey could not resolve: simulate on `*`.
        push({
            role,
            region: r,
            scope: "viaEc2",
            actions: of(role, "viaEc2"),
            ...(arns.length === set.length ? { resourceArns: [...new Set(arns)] } : {}),
            context: [region(r), viaEc2(r)],
        });
    };
    push({ role: "build", region: p.buildRegion, scope: "any", actions: of("build", "any"), context: [region(p.buildRegion)] });
    kms("build", p.buildRegion, [p.kmsKeys[p.buildRegion]]);
    for (const r of p.copyRegions) {
        push({ role: "copies", region: r, scope: "any", actions: of("copies", "any"), context: [region(r)] });
        kms("copies", r, [p.kmsKeys[r], p.kmsKeys[p.buildRegion]]);
    }
    if (p.janitor) {
        for (const r of [p.buildRegion, ...p.copyRegions]) {
            push({ role: "janitor", region: r, scope: "any", actions: of("janitor", "any"), context: [region(r)] });
            push({
                role: "janitor",
                region: r,
                scope: "projectTag",
                actions: of("janitor", "projectTag"),
                context: [region(r), { key: `aws:ResourceTag/${TAG.project}`, values: [PROJECT] }],
            });
        }
    }
    return out;
}

/** The fields of an IAM EvaluationResult the judgement reads (the SDK's type is wider). */
export interface Evaluation {
    EvalActionName?: string;
    EvalDecision?: string;
    EvalResourceName?: string;
    MatchedStatements?: { SourcePolicyId?: string; SourcePolicyType?: string }[];
    MissingContextValues?: string[];
    OrganizationsDecisionDetail?: { AllowedByOrganizations?: boolean };
    PermissionsBoundaryDecisionDetail?: { AllowedByPermissionsBoundary?: boolean };
    ResourceSpecificResults?: {
        EvalResourceName?: string;
        EvalResourceDecision?: string;
        MissingContextValues?: string[];
        MatchedStatements?: { SourcePolicyId?: string }[];
    }[];
}

/** One action's verdict, over every result and resource the simulator returned for it. */
export interface Verdict {
    action: string;
    decision: "allowed" | "explicitDeny" | "implicitDeny";
    /** Who denies: an SCP, the permissions boundary, or the named policies' Deny statements. */
    by: string[];
    /** Context keys a policy's condition reads that the simulation did not give. */
    missing: string[];
}

const RANK = { allowed: 0, implicitDeny: 1, explicitDeny: 2 } as const;
const decisionOf = (d: string | undefined): Verdict["decision"] => (d === "allowed" || d === "explicitDeny" ? d : "implicitDeny");

/**
 * Folds the simulator's results into one verdict per asked action: the most restrictive decision
 * over the top-level result and each resource's (older IAM returned one result per resource, newer
 * one per action with ResourceSpecificResults); an action the simulator did not answer counts as
 * implicitly denied.
 */
export function verdicts(actions: readonly string[], results: readonly Evaluation[]): Verdict[] {
    return actions.map((action): Verdict => {
        const mine = results.filter((r) => r.EvalActionName?.toLowerCase() === action.toLowerCase());
        if (mine.length === 0) return { action, decision: "implicitDeny", by: ["no result for it"], missing: [] };
        let decision: Verdict["decision"] = "allowed";
        const by = new Set<string>();
        const missing = new Set<string>();
        for (const r of mine) {
            const decisions = [
                decisionOf(r.EvalDecision),
                ...(r.ResourceSpecificResults ?? []).map((x) => decisionOf(x.EvalResourceDecision)),
            ];
            for (const d of decisions) if (RANK[d] > RANK[decision]) decision = d;
            if (r.OrganizationsDecisionDetail?.AllowedByOrganizations === false) by.add("an Organizations SCP");
            if (r.PermissionsBoundaryDecisionDetail?.AllowedByPermissionsBoundary === false) by.add("the permissions boundary");
            const denied = decisions.some((d) => d !== "allowed");
            if (denied) {
                for (const k of [
                    ...(r.MissingContextValues ?? []),
                    ...(r.ResourceSpecificResults ?? []).flatMap((x) => x.MissingContextValues ?? []),
                ])
                    missing.add(k);
            }
            if (decisions.includes("explicitDeny")) {
                for (const s of [
                    ...(r.MatchedStatements ?? []),
                    ...(r.ResourceSpecificResults ?? []).flatMap((x) => x.MatchedStatements ?? []),
                ])
                    if (s.SourcePolicyId) by.add(`a Deny in ${s.SourcePolicyId}`);
            }
        }
        return {
            action,
            decision,
            by: decision === "allowed" ? [] : [...by].sort(),
            missing: decision === "allowed" ? [] : [...missing].sort(),
        };
    });
}

/** What one (role, region) simulated: its calls' verdicts. */
export interface RoleOutcome {
    role: Role;
    region: string;
    verdicts: Verdict[];
}

const checkName = (role: Role, region: string) => `permissions (${role}, ${region})`;

const list = (vs: readonly Verdict[]) => vs.map((v) => v.action).join(", ");

/**
 * One line per role and region. `ok` when every action is allowed; `fail` when one is denied with
 * nothing left unknown (explicitly: the Deny, the SCP or the boundary is named; implicitly: no
 * statement allows it, so the role's policy file is not attached, or is an older one); `warn` when
 * the only denials hang on condition keys the simulation was not given.
 */
export function permissionsCheck(principalArn: string, o: RoleOutcome): CheckResult {
    const name = checkName(o.role, o.region);
    const file = POLICY_FILES[o.role];
    const denied = o.verdicts.filter((v) => v.decision !== "allowed");
    if (denied.length === 0)
        return { name, status: "ok", detail: `${principalArn} may call the ${o.verdicts.length} actions of ${file} this stack needs` };
    const explicit = denied.filter((v) => v.decision === "explicitDeny");
    const unknown = denied.filter((v) => v.decision === "implicitDeny" && v.missing.length > 0);
    const implicit = denied.filter((v) => v.decision === "implicitDeny" && v.missing.length === 0);
    const parts: string[] = [];
    const fixes: string[] = [];
    if (explicit.length) {
        const by = [...new Set(explicit.flatMap((v) => v.by))];
        parts.push(`explicitly denied: ${list(explicit)}${by.length ? ` (by ${by.join(", ")})` : ""}`);
        fixes.push(
            `an explicit Deny wins over any Allow: exempt ${list(explicit)} from ${by.length ? by.join(", ") : "the denying policy"} (an SCP: ask the organization's administrators), or use another account or region`,
        );
    }
    if (implicit.length) {
        const by = [...new Set(implicit.flatMap((v) => v.by))];
        parts.push(`not allowed: ${list(implicit)}${by.length ? ` (limited by ${by.join(", ")})` : ""}`);
        fixes.push(
            by.some((b) => b.includes("SCP") || b.includes("boundary"))
                ? `allow ${list(implicit)} in ${by.filter((b) => b.includes("SCP") || b.includes("boundary")).join(" and ")} too (it caps what ${file} grants)`
                : `attach ${file} to ${principalArn} (regenerated from scripts/iam/actions.ts: an older copy lacks actions), or add ${list(implicit)} to its policy`,
        );
    }
    if (unknown.length) {
        const keys = [...new Set(unknown.flatMap((v) => v.missing))];
        parts.push(`unknown: ${list(unknown)} depend on condition keys the simulation cannot give (${keys.join(", ")})`);
        fixes.push(
            `the first up shows whether ${keys.join(", ")} hold${explicit.length || implicit.length ? "" : "; nothing else is missing"}`,
        );
    }
    const status = explicit.length || implicit.length ? "fail" : "warn";
    return {
        name,
        status,
        detail: `${principalArn}: ${denied.length} of the ${o.verdicts.length} actions of ${file} this stack needs: ${parts.join("; ")}`,
        fix: fixes.join("; "),
    };
}

const CANNOT_SIMULATE = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]);

/**
 * When the simulation could not run (the caller may not call iam:SimulatePrincipalPolicy, the role
 * has a path the session ARN hides, IAM unreachable or not emulated): one warning line with the
 * fix. Never a failure: the permissions are then only unknown, and the first up shows them.
 */
export function simulationFailed(principal: Simulatable, e: AwsFailure, roles: readonly Role[]): CheckResult {
    const name = "permissions";
    const files = [...new Set(roles)].map((r) => POLICY_FILES[r]).join(", ");
    const detail = `not checked (${files}): iam:SimulatePrincipalPolicy on ${principal.arn} failed: ${e.code}: ${e.message}`;
    if (CANNOT_SIMULATE.has(e.code)) {
        return {
            name,
            status: "warn",
            detail,
            fix: `allow iam:SimulatePrincipalPolicy on ${principal.arn} (it is in ${POLICY_FILES.build}), or have someone who may run it: npm run preflight -- --stack NAME --principal-arn ${principal.arn}`,
        };
    }
    if (e.code === "NoSuchEntity" || e.code === "NoSuchEntityException") {
        return {
            name,
            status: "warn",
            detail,
            fix: principal.fromSession
                ? `the role may have a path, which the session ARN does not show: --principal-arn "$(aws iam get-role --role-name ${principal.fromSession.role} --query Role.Arn --output text)"`
                : `check the ARN (--principal-arn)`,
        };
    }
    return { name, status: "warn", detail, fix: `retry; if it persists the first up shows any missing permission (${files})` };
}

/** The line when no simulation runs: the root user, an ARN of no user or role, no credentials. */
export function principalCheck(p: Exclude<Principal, { arn: string }> | AwsFailure): CheckResult {
    const name = "permissions";
    if ("code" in p) return { name, status: "skip", detail: `not checked: no caller identity (${p.code}); see the credentials line` };
    if ("skip" in p) return { name, status: "skip", detail: p.skip };
    return { name, status: "warn", detail: `not checked: ${p.problem}`, fix: p.fix };
}

/** Groups a plan's calls by (role, region), keeping the plan's order. */
export function byRoleRegion<T extends { role: Role; region: string }>(items: readonly T[]): { role: Role; region: string; items: T[] }[] {
    const out: { role: Role; region: string; items: T[] }[] = [];
    for (const s of items) {
        const g = out.find((x) => x.role === s.role && x.region === s.region);
        if (g) g.items.push(s);
        else out.push({ role: s.role, region: s.region, items: [s] });
    }
    return out;
}
