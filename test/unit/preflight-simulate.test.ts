/**
 * The preflight's permission shell (simulatePermissions in scripts/preflight.ts) against a mocked
 * IAM client (aws-sdk-client-mock): what it sends (the principal, the actions, the context), that
 * it pages through truncated results, and what it reports for an allowed, an explicitly or
 * implicitly denied action, and a caller who may not simulate (AccessDenied: a warning, no throw).
 * moto 5.2.5 has no SimulatePrincipalPolicy (HTTP 500); test/integration/preflight.test.ts covers
 * the rest against moto.
 */
import * as assert from "node:assert/strict";
import {
    IAMClient,
    SimulatePrincipalPolicyCommand,
    type EvaluationResult,
    type SimulatePrincipalPolicyCommandInput,
} from "@aws-sdk/client-iam";
import { mockClient } from "aws-sdk-client-mock";
import { actionsOf } from "../../scripts/iam/actions";
import { simulatePermissions } from "../../scripts/preflight";
import { simulationPlan, type Simulatable } from "../../scripts/preflight/permissions";

const principal: Simulatable = {
    arn: "arn:aws:iam::123456789012:role/ImageBuilder",
    kind: "role",
    fromSession: { role: "ImageBuilder", session: "s" },
};
const allow = (actions: readonly string[]): EvaluationResult[] =>
    actions.map((a) => ({ EvalActionName: a, EvalDecision: "allowed", EvalResourceName: "*" }));
const asked = (input: SimulatePrincipalPolicyCommandInput) => input.ActionNames ?? [];
const serviceError = (name: string, message: string) =>
    Object.assign(new Error(message), { name, $fault: "client", $metadata: { httpStatusCode: 403 } });

describe("preflight permissions (the IAM shell, mocked client)", () => {
    const mock = mockClient(IAMClient);
    let iam: IAMClient;
    beforeEach(() => {
        mock.reset();
        iam = new IAMClient({ region: "us-east-1", credentials: { accessKeyId: "x", secretAccessKey: "y" }, maxAttempts: 1 });
    });
    afterEach(() => iam.destroy());
    after(() => mock.restore());

    const plan = simulationPlan({
        buildRegion: "us-east-1",
        copyRegions: ["eu-west-1"],
        kmsKeys: { "us-east-1": "arn:aws:kms:us-east-1:123456789012:key/k" },
        janitor: false,
    });

    it("everything allowed: one ok line per role and region; sends the principal, its actions and the region context", async () => {
        mock.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) => ({
            EvaluationResults: allow(asked(input)),
            IsTruncated: false,
        }));
        const r = await simulatePermissions(iam, principal, plan);
        assert.deepEqual(
            r.map((x) => [x.name, x.status]),
            [
                ["permissions (build, us-east-1)", "ok"],
                ["permissions (copies, eu-west-1)", "ok"],
            ],
        );
        // The build region has a key: the plain and the via-EC2 calls together ask every build action.
        assert.match(
            r[0].detail,
            new RegExp(`may call the ${actionsOf("build").length} actions of docs/iam/build\\.json this stack needs`),
        );
        const calls = mock.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
        assert.equal(calls.length, 4);
        assert.ok(calls.every((c) => c.PolicySourceArn === principal.arn));
        assert.deepEqual(calls[0].ContextEntries, [
            { ContextKeyName: "aws:RequestedRegion", ContextKeyType: "string", ContextKeyValues: ["us-east-1"] },
        ]);
        assert.deepEqual(calls[1].ResourceArns, ["arn:aws:kms:us-east-1:123456789012:key/k"]);
        assert.deepEqual(calls[1].ContextEntries?.[1], {
            ContextKeyName: "kms:ViaService",
            ContextKeyType: "string",
            ContextKeyValues: ["ec2.us-east-1.amazonaws.com"],
        });
        assert.equal(calls[0].ResourceArns, undefined, "plain actions simulate on the policies' own Resource (*)");
    });

    it("pages: a truncated answer is followed by its Marker until IsTruncated is false", async () => {
        const only = [plan[0]];
        const actions = plan[0].actions;
        const half = Math.ceil(actions.length / 2);
        mock.on(SimulatePrincipalPolicyCommand)
            .resolvesOnce({ EvaluationResults: allow(actions.slice(0, half)), IsTruncated: true, Marker: "page-2" })
            .resolvesOnce({
                EvaluationResults: [
                    ...allow(actions.slice(half, -1)),
                    { EvalActionName: actions[actions.length - 1], EvalDecision: "implicitDeny" },
                ],
                IsTruncated: false,
            });
        const r = await simulatePermissions(iam, principal, only);
        const calls = mock.commandCalls(SimulatePrincipalPolicyCommand).map((c) => c.args[0].input);
        assert.deepEqual(
            calls.map((c) => c.Marker),
            [undefined, "page-2"],
        );
        assert.equal(r.length, 1);
        assert.equal(r[0].status, "fail", "the action answered on page 2 counts");
        assert.match(r[0].detail, new RegExp(`1 of the ${actions.length} actions .*not allowed: ${actions[actions.length - 1]}$`));
    });

    it("two pages, all allowed: ok (page 2's actions count, none is taken as unanswered)", async () => {
        const actions = plan[0].actions;
        mock.on(SimulatePrincipalPolicyCommand)
            .resolvesOnce({ EvaluationResults: allow(actions.slice(0, 3)), IsTruncated: true, Marker: "m" })
            .resolvesOnce({ EvaluationResults: allow(actions.slice(3)), IsTruncated: false });
        const r = await simulatePermissions(iam, principal, [plan[0]]);
        assert.equal(r[0].status, "ok", r[0].detail);
    });

    it("explicit deny (with the policy that denies) and implicit deny, each in its role's line with its policy file", async () => {
        mock.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) => ({
            EvaluationResults: asked(input).map((a): EvaluationResult => {
                if (a === "ec2:DeleteTags") return { EvalActionName: a, EvalDecision: "implicitDeny" };
                if (a === "ec2:CopyImage")
                    return {
                        EvalActionName: a,
                        EvalDecision: "explicitDeny",
                        MatchedStatements: [{ SourcePolicyId: "NoCopies", SourcePolicyType: "user" }],
                    };
                return { EvalActionName: a, EvalDecision: "allowed" };
            }),
        }));
        const r = await simulatePermissions(iam, principal, plan);
        assert.deepEqual(
            r.map((x) => [x.name, x.status]),
            [
                ["permissions (build, us-east-1)", "fail"],
                ["permissions (copies, eu-west-1)", "fail"],
            ],
        );
        assert.match(r[0].detail, /not allowed: ec2:DeleteTags/);
        assert.match(r[0].fix!, /attach docs\/iam\/build\.json to arn:aws:iam::123456789012:role\/ImageBuilder/);
        assert.match(r[1].detail, /explicitly denied: ec2:CopyImage \(by a Deny in NoCopies\); not allowed: ec2:DeleteTags/);
        assert.match(r[1].fix!, /exempt ec2:CopyImage from a Deny in NoCopies.*attach docs\/iam\/copies\.json/);
    });

    it("AccessDenied (the caller may not simulate): one warning line with the fix, no throw, nothing more asked", async () => {
        mock.on(SimulatePrincipalPolicyCommand).rejects(
            serviceError(
                "AccessDenied",
                "User: arn:aws:sts::123456789012:assumed-role/ImageBuilder/s is not authorized to perform: iam:SimulatePrincipalPolicy",
            ),
        );
        const r = await simulatePermissions(iam, principal, plan);
        assert.equal(r.length, 1);
        assert.deepEqual([r[0].name, r[0].status], ["permissions", "warn"]);
        assert.match(
            r[0].detail,
            /not checked \(docs\/iam\/build\.json, docs\/iam\/copies\.json\): .*AccessDenied: User: .* is not authorized to perform: iam:SimulatePrincipalPolicy/,
        );
        assert.match(r[0].fix!, /allow iam:SimulatePrincipalPolicy on arn:aws:iam::123456789012:role\/ImageBuilder/);
        assert.equal(mock.commandCalls(SimulatePrincipalPolicyCommand).length, 1);
    });

    it("a failure after the build region was judged keeps the build line and warns for the rest", async () => {
        mock.on(SimulatePrincipalPolicyCommand).callsFake((input: SimulatePrincipalPolicyCommandInput) => {
            if (input.ContextEntries?.[0]?.ContextKeyValues?.[0] === "eu-west-1") throw serviceError("Throttling", "Rate exceeded");
            return { EvaluationResults: allow(asked(input)) };
        });
        const r = await simulatePermissions(iam, principal, plan);
        assert.deepEqual(
            r.map((x) => [x.name, x.status]),
            [
                ["permissions (build, us-east-1)", "ok"],
                ["permissions", "warn"],
            ],
        );
        assert.match(r[1].detail, /not checked \(docs\/iam\/copies\.json\): .*Throttling/);
    });

    it("NoSuchEntity for a role made from a session ARN: the path caveat and how to give the real ARN", async () => {
        mock.on(SimulatePrincipalPolicyCommand).rejects(serviceError("NoSuchEntity", "The role with name ImageBuilder cannot be found."));
        const r = await simulatePermissions(iam, principal, plan);
        assert.equal(r[0].status, "warn");
        assert.match(r[0].fix!, /--principal-arn "\$\(aws iam get-role --role-name ImageBuilder --query Role\.Arn --output text\)"/);
    });
});
