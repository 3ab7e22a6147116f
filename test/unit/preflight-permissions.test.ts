/**
 * The preflight's permission check, pure (scripts/preflight/permissions.ts), as tables: the caller
 * ARN → the IAM principal to simulate; the stack → the simulations (roles, regions, context);
 * the simulator's answers → one line per role and region, with the fix.
 */
import * as assert from "node:assert/strict";
import { actionsOf } from "../../scripts/iam/actions";
import { awsFailure, renderResults } from "../../scripts/preflight/checks";
import {
    byRoleRegion,
    permissionsCheck,
    principalCheck,
    principalOf,
    simulationFailed,
    simulationPlan,
    verdicts,
    type Evaluation,
    type Simulatable,
} from "../../scripts/preflight/permissions";
import { parseArgs } from "../../scripts/preflight";
import { awsError } from "./ec2/awsError";

describe("preflight permissions (pure)", () => {
    describe("principalOf: the caller ARN → whose policies to simulate", () => {
        const table: { arn: string; want: ReturnType<typeof principalOf> | RegExp }[] = [
            { arn: "arn:aws:iam::123456789012:user/alice", want: { arn: "arn:aws:iam::123456789012:user/alice", kind: "user" } },
            {
                arn: "arn:aws:iam::123456789012:user/team/ci/bob",
                want: { arn: "arn:aws:iam::123456789012:user/team/ci/bob", kind: "user" },
            },
            {
                arn: "arn:aws:sts::123456789012:assumed-role/ImageBuilder/ci-run-42",
                want: {
                    arn: "arn:aws:iam::123456789012:role/ImageBuilder",
                    kind: "role",
                    fromSession: { role: "ImageBuilder", session: "ci-run-42" },
                },
            },
            {
                arn: "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123abcd/alice@example.com",
                want: {
                    arn: "arn:aws:iam::123456789012:role/AWSReservedSSO_Admin_0123abcd",
                    kind: "role",
                    fromSession: { role: "AWSReservedSSO_Admin_0123abcd", session: "alice@example.com" },
                },
            },
            {
                arn: "arn:aws-us-gov:sts::123456789012:assumed-role/Builder/s",
                want: {
                    arn: "arn:aws-us-gov:iam::123456789012:role/Builder",
                    kind: "role",
                    fromSession: { role: "Builder", session: "s" },
                },
            },
            {
                arn: "arn:aws:iam::123456789012:role/path/Builder",
                want: { arn: "arn:aws:iam::123456789012:role/path/Builder", kind: "role" },
            },
            { arn: "arn:aws:iam::123456789012:root", want: /root user: IAM policies do not limit it/ },
            { arn: "arn:aws:sts::123456789012:federated-user/bob", want: /federated user/ },
            { arn: "arn:aws:sts::123456789012:user/moto", want: /names no IAM user or assumed role/ },
            { arn: "", want: /is not an IAM or STS ARN/ },
            { arn: "arn:aws:iam::123456789012:group/admins", want: /names no IAM user or role/ },
        ];
        for (const t of table) {
            it(t.arn || "(empty)", () => {
                const got = principalOf(t.arn);
                if (t.want instanceof RegExp) {
                    assert.ok(!("arn" in got), JSON.stringify(got));
                    assert.match("skip" in got ? got.skip : got.problem, t.want);
                    if ("problem" in got) assert.match(got.fix, /--principal-arn/);
                } else assert.deepEqual(got, t.want);
            });
        }
    });

    describe("simulationPlan: what is simulated, where, with which context", () => {
        const key = (r: string) => `arn:aws:kms:${r}:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        const short = (p: ReturnType<typeof simulationPlan>) =>
            p.map((s) => `${s.role} ${s.region} ${s.scope}${s.resourceArns ? ` on ${s.resourceArns.length}` : ""}`);

        it("a stack without copies or keys: the build policy's plain actions in the build region", () => {
            const p = simulationPlan({ buildRegion: "us-east-1", copyRegions: [], kmsKeys: {}, janitor: false });
            assert.deepEqual(short(p), ["build us-east-1 any"]);
            assert.deepEqual(p[0].context, [{ key: "aws:RequestedRegion", values: ["us-east-1"] }]);
            assert.ok(p[0].actions.includes("ec2:RunInstances") && p[0].actions.includes("ec2:DeleteTags"));
            assert.ok(p[0].actions.includes("iam:SimulatePrincipalPolicy"));
            assert.ok(!p[0].actions.includes("kms:CreateGrant"), "KMS via EC2 only with a key");
        });

        it("copies per copy region; KMS via EC2 with each region's key (copies also need the source image's key)", () => {
            const p = simulationPlan({
                buildRegion: "us-east-1",
                copyRegions: ["eu-west-1", "ap-south-1"],
                kmsKeys: { "us-east-1": key("us-east-1"), "eu-west-1": key("eu-west-1") },
                janitor: false,
            });
            assert.deepEqual(short(p), [
                "build us-east-1 any",
                "build us-east-1 viaEc2 on 1",
                "copies eu-west-1 any",
                "copies eu-west-1 viaEc2 on 2",
                "copies ap-south-1 any",
                "copies ap-south-1 viaEc2 on 1",
            ]);
            const copyKms = p[3];
            assert.deepEqual(copyKms.resourceArns, [key("eu-west-1"), key("us-east-1")]);
            assert.deepEqual(copyKms.context, [
                { key: "aws:RequestedRegion", values: ["eu-west-1"] },
                { key: "kms:ViaService", values: ["ec2.eu-west-1.amazonaws.com"] },
            ]);
            assert.deepEqual(
                p[2].actions,
                actionsOf("copies").filter((a) => a.startsWith("ec2:")),
            );
            assert.ok(p[2].actions.includes("ec2:CopyImage") && p[2].actions.includes("ec2:ModifyImageAttribute"));
        });

        it("a key given as an alias that DescribeKey did not resolve is simulated on *", () => {
            const p = simulationPlan({
                buildRegion: "us-east-1",
                copyRegions: [],
                kmsKeys: { "us-east-1": "alias/images" },
                janitor: false,
            });
            assert.deepEqual(short(p), ["build us-east-1 any", "build us-east-1 viaEc2"]);
        });

        it("--janitor: its policy in each region, the destructive actions on an object tagged Project=couchbase-images", () => {
            const p = simulationPlan({ buildRegion: "us-east-1", copyRegions: ["eu-west-1"], kmsKeys: {}, janitor: true });
            assert.deepEqual(short(p), [
                "build us-east-1 any",
                "copies eu-west-1 any",
                "janitor us-east-1 any",
                "janitor us-east-1 projectTag",
                "janitor eu-west-1 any",
                "janitor eu-west-1 projectTag",
            ]);
            assert.deepEqual(p[3].context[1], { key: "aws:ResourceTag/Project", values: ["couchbase-images"] });
            assert.ok(p[3].actions.includes("ec2:DeregisterImage"));
            assert.deepEqual([...p[2].actions, ...p[3].actions].sort(), actionsOf("janitor"));
        });

        it("groups by role and region in plan order", () => {
            const p = simulationPlan({
                buildRegion: "us-east-1",
                copyRegions: ["eu-west-1"],
                kmsKeys: { "us-east-1": key("us-east-1") },
                janitor: false,
            });
            assert.deepEqual(
                byRoleRegion(p).map((g) => `${g.role} ${g.region} ${g.items.length}`),
                ["build us-east-1 2", "copies eu-west-1 2"],
            );
        });
    });

    describe("verdicts: the simulator's answers → one verdict per action", () => {
        const table: { name: string; actions: string[]; results: Evaluation[]; want: [string, string, string[], string[]][] }[] = [
            {
                name: "allowed",
                actions: ["ec2:RunInstances"],
                results: [{ EvalActionName: "ec2:RunInstances", EvalDecision: "allowed" }],
                want: [["ec2:RunInstances", "allowed", [], []]],
            },
            {
                name: "implicit deny (no statement)",
                actions: ["ec2:DeleteTags"],
                results: [{ EvalActionName: "ec2:DeleteTags", EvalDecision: "implicitDeny" }],
                want: [["ec2:DeleteTags", "implicitDeny", [], []]],
            },
            {
                name: "explicit deny names the policy",
                actions: ["ec2:CopyImage"],
                results: [
                    {
                        EvalActionName: "ec2:CopyImage",
                        EvalDecision: "explicitDeny",
                        MatchedStatements: [{ SourcePolicyId: "DenyCopies" }],
                    },
                ],
                want: [["ec2:CopyImage", "explicitDeny", ["a Deny in DenyCopies"], []]],
            },
            {
                name: "an SCP",
                actions: ["ec2:RunInstances"],
                results: [
                    {
                        EvalActionName: "ec2:RunInstances",
                        EvalDecision: "explicitDeny",
                        OrganizationsDecisionDetail: { AllowedByOrganizations: false },
                    },
                ],
                want: [["ec2:RunInstances", "explicitDeny", ["an Organizations SCP"], []]],
            },
            {
                name: "the permissions boundary",
                actions: ["ec2:CreateImage"],
                results: [
                    {
                        EvalActionName: "ec2:CreateImage",
                        EvalDecision: "implicitDeny",
                        PermissionsBoundaryDecisionDetail: { AllowedByPermissionsBoundary: false },
                    },
                ],
                want: [["ec2:CreateImage", "implicitDeny", ["the permissions boundary"], []]],
            },
            {
                name: "a condition key not given",
                actions: ["ec2:RunInstances"],
                results: [{ EvalActionName: "ec2:RunInstances", EvalDecision: "implicitDeny", MissingContextValues: ["ec2:InstanceType"] }],
                want: [["ec2:RunInstances", "implicitDeny", [], ["ec2:InstanceType"]]],
            },
            {
                name: "per resource: the worst decides (one resource denied)",
                actions: ["kms:CreateGrant"],
                results: [
                    {
                        EvalActionName: "kms:CreateGrant",
                        EvalDecision: "allowed",
                        ResourceSpecificResults: [
                            { EvalResourceName: "arn:a", EvalResourceDecision: "allowed" },
                            { EvalResourceName: "arn:b", EvalResourceDecision: "implicitDeny" },
                        ],
                    },
                ],
                want: [["kms:CreateGrant", "implicitDeny", [], []]],
            },
            {
                name: "older IAM: one result per resource",
                actions: ["kms:Decrypt"],
                results: [
                    { EvalActionName: "kms:Decrypt", EvalResourceName: "arn:a", EvalDecision: "allowed" },
                    { EvalActionName: "kms:Decrypt", EvalResourceName: "arn:b", EvalDecision: "explicitDeny" },
                ],
                want: [["kms:Decrypt", "explicitDeny", [], []]],
            },
            {
                name: "an action the simulator did not answer",
                actions: ["ec2:StopInstances"],
                results: [],
                want: [["ec2:StopInstances", "implicitDeny", ["no result for it"], []]],
            },
            {
                name: "action names compare case-insensitively",
                actions: ["ec2:DescribeImages"],
                results: [{ EvalActionName: "EC2:describeimages", EvalDecision: "allowed" }],
                want: [["ec2:DescribeImages", "allowed", [], []]],
            },
            {
                name: "one action in two calls (kms:DescribeKey plain and via EC2): both must allow",
                actions: ["kms:DescribeKey"],
                results: [
                    { EvalActionName: "kms:DescribeKey", EvalDecision: "allowed" },
                    { EvalActionName: "kms:DescribeKey", EvalDecision: "implicitDeny" },
                ],
                want: [["kms:DescribeKey", "implicitDeny", [], []]],
            },
        ];
        for (const t of table) {
            it(t.name, () => {
                assert.deepEqual(
                    verdicts(t.actions, t.results).map((v) => [v.action, v.decision, v.by, v.missing]),
                    t.want,
                );
            });
        }
    });

    describe("permissionsCheck: one line per role and region, with the fix", () => {
        const who = "arn:aws:iam::123456789012:role/ImageBuilder";
        const v = (action: string, decision: "allowed" | "explicitDeny" | "implicitDeny", by: string[] = [], missing: string[] = []) => ({
            action,
            decision,
            by,
            missing,
        });
        const table: { name: string; verdicts: ReturnType<typeof v>[]; status: string; detail: RegExp; fix?: RegExp }[] = [
            {
                name: "all allowed",
                verdicts: [v("ec2:RunInstances", "allowed"), v("ec2:CreateImage", "allowed")],
                status: "ok",
                detail: /may call the 2 actions of docs\/iam\/build\.json this stack needs/,
            },
            {
                name: "implicit deny: the policy file is not attached",
                verdicts: [v("ec2:RunInstances", "allowed"), v("ec2:DeleteTags", "implicitDeny"), v("ec2:CopyImage", "implicitDeny")],
                status: "fail",
                detail: /2 of the 3 actions of docs\/iam\/build\.json this stack needs: not allowed: ec2:DeleteTags, ec2:CopyImage/,
                fix: /attach docs\/iam\/build\.json to arn:aws:iam::123456789012:role\/ImageBuilder .*or add ec2:DeleteTags, ec2:CopyImage/,
            },
            {
                name: "explicit deny names who denies",
                verdicts: [v("ec2:DeregisterImage", "explicitDeny", ["a Deny in ProtectImages"])],
                status: "fail",
                detail: /explicitly denied: ec2:DeregisterImage \(by a Deny in ProtectImages\)/,
                fix: /an explicit Deny wins over any Allow: exempt ec2:DeregisterImage from a Deny in ProtectImages/,
            },
            {
                name: "an SCP",
                verdicts: [v("ec2:RunInstances", "explicitDeny", ["an Organizations SCP"])],
                status: "fail",
                detail: /by an Organizations SCP/,
                fix: /ask the organization's administrators/,
            },
            {
                name: "capped by the permissions boundary",
                verdicts: [v("ec2:CreateImage", "implicitDeny", ["the permissions boundary"])],
                status: "fail",
                detail: /not allowed: ec2:CreateImage \(limited by the permissions boundary\)/,
                fix: /allow ec2:CreateImage in the permissions boundary too/,
            },
            {
                name: "only conditions the simulation could not know: a warning",
                verdicts: [v("ec2:RunInstances", "implicitDeny", [], ["ec2:InstanceType"]), v("ec2:CreateImage", "allowed")],
                status: "warn",
                detail: /unknown: ec2:RunInstances depend on condition keys the simulation cannot give \(ec2:InstanceType\)/,
                fix: /the first up shows whether ec2:InstanceType hold; nothing else is missing/,
            },
        ];
        for (const t of table) {
            it(t.name, () => {
                const r = permissionsCheck(who, { role: "build", region: "us-east-1", verdicts: t.verdicts });
                assert.equal(r.name, "permissions (build, us-east-1)");
                assert.equal(r.status, t.status);
                assert.match(r.detail, t.detail);
                if (t.fix) assert.match(r.fix ?? "", t.fix);
                else assert.equal(r.fix, undefined);
            });
        }
        it("names the role's own policy file", () => {
            const r = permissionsCheck(who, { role: "copies", region: "eu-west-1", verdicts: [v("ec2:CopyImage", "implicitDeny")] });
            assert.match(r.fix!, /attach docs\/iam\/copies\.json/);
            assert.equal(r.name, "permissions (copies, eu-west-1)");
        });
    });

    describe("when the simulation cannot run: a warning with the fix, never a failure", () => {
        const session: Simulatable = {
            arn: "arn:aws:iam::123456789012:role/Builder",
            kind: "role",
            fromSession: { role: "Builder", session: "s" },
        };
        const table: { name: string; code: string; principal?: Simulatable; fix: RegExp }[] = [
            {
                name: "AccessDenied: the caller may not simulate",
                code: "AccessDenied",
                fix: /allow iam:SimulatePrincipalPolicy on arn:aws:iam::123456789012:role\/Builder \(it is in docs\/iam\/build\.json\), or have someone who may run it: npm run preflight -- --stack NAME --principal-arn/,
            },
            {
                name: "NoSuchEntity from a session: the role has a path",
                code: "NoSuchEntity",
                fix: /the role may have a path.*aws iam get-role --role-name Builder --query Role\.Arn/,
            },
            {
                name: "NoSuchEntity for a given ARN",
                code: "NoSuchEntity",
                principal: { arn: "arn:aws:iam::123456789012:user/x", kind: "user" },
                fix: /check the ARN \(--principal-arn\)/,
            },
            {
                name: "anything else (moto: no simulator; throttling)",
                code: "InternalFailure",
                fix: /retry; if it persists the first up shows any missing permission \(docs\/iam\/build\.json, docs\/iam\/copies\.json\)/,
            },
        ];
        for (const t of table) {
            it(t.name, () => {
                const r = simulationFailed(t.principal ?? session, awsFailure(awsError(t.code)), ["build", "copies", "copies"]);
                assert.equal(r.status, "warn");
                assert.equal(r.name, "permissions");
                assert.match(
                    r.detail,
                    new RegExp(
                        `^not checked \\(docs/iam/build\\.json, docs/iam/copies\\.json\\): iam:SimulatePrincipalPolicy on \\S+ failed: ${t.code}`,
                    ),
                );
                assert.match(r.fix!, t.fix);
            });
        }
        it("no identity, the root user, an ARN of nobody", () => {
            assert.equal(principalCheck(awsFailure(awsError("ExpiredToken"))).status, "skip");
            const root = principalOf("arn:aws:iam::123456789012:root");
            assert.ok("skip" in root);
            assert.equal(principalCheck(root).status, "skip");
            const fed = principalOf("arn:aws:sts::123456789012:federated-user/bob");
            assert.ok("problem" in fed);
            assert.deepEqual([principalCheck(fed).status, /--principal-arn/.test(principalCheck(fed).fix!)], ["warn", true]);
        });
        it("renders WARN lines with their fix", () => {
            assert.deepEqual(renderResults([{ name: "permissions", status: "warn", detail: "not checked", fix: "allow it" }]), [
                "WARN  permissions  not checked",
                "                   fix: allow it",
            ]);
        });
    });

    it("arguments: --janitor and --principal-arn (an IAM user or role ARN only)", () => {
        assert.deepEqual(parseArgs(["--stack", "a", "--janitor"], {}), { stack: "a", janitor: true });
        assert.deepEqual(parseArgs(["--stack", "a", "--principal-arn", "arn:aws:iam::123456789012:role/p/Builder"], {}), {
            stack: "a",
            principalArn: "arn:aws:iam::123456789012:role/p/Builder",
        });
        assert.throws(
            () => parseArgs(["--stack", "a", "--principal-arn", "arn:aws:sts::123456789012:assumed-role/B/s"], {}),
            /is not an IAM user or role ARN/,
        );
    });
});
