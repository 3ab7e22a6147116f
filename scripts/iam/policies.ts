/**
 * IAM policy documents from the action list (scripts/iam/actions.ts). Pure. The files in docs/iam/
 * are these documents as JSON; scripts/iam/write.ts writes them and test/unit/iam.test.ts checks
 * they are up to date.
 */
import { PROJECT, TAG } from "../../providers/ec2/tags";
import { ACTIONS, type ActionUse, type Role, type Scope } from "./actions";

export interface Statement {
    Sid: string;
    Effect: "Allow";
    Action: string[];
    Resource: "*";
    Condition?: Record<string, Record<string, string>>;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: Statement[];
}

/** Role → file under docs/iam/. */
export const POLICY_FILES: Record<Role, string> = {
    build: "docs/iam/build.json",
    copies: "docs/iam/copies.json",
    janitor: "docs/iam/janitor.json",
};

const SCOPE_ORDER: readonly Scope[] = ["any", "viaEc2", "projectTag"];

function sid(role: Role, scope: Scope, service: string): string {
    const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
    const scopeName = scope === "any" ? "" : cap(scope);
    return `${cap(role)}${cap(service)}${scopeName}`;
}

function condition(scope: Scope): Statement["Condition"] | undefined {
    switch (scope) {
        case "any":
            return undefined;
        case "viaEc2":
            // Each region's EC2 endpoint is ec2.<region>.amazonaws.com.
            return { StringLike: { "kms:ViaService": "ec2.*.amazonaws.com" } };
        case "projectTag":
            return { StringEquals: { [`aws:ResourceTag/${TAG.project}`]: PROJECT } };
    }
}

/**
 * The policy of one role: one statement per service and scope, actions sorted. Resource is `*`:
 * the regions and keys a stack uses are its own config (docs/iam/README.md says how to narrow it).
 */
export function policyDocument(role: Role, list: readonly ActionUse[] = ACTIONS): PolicyDocument {
    const groups = new Map<string, { scope: Scope; service: string; actions: Set<string> }>();
    for (const a of list.filter((x) => x.role === role)) {
        const scope = a.scope ?? "any";
        const service = a.action.split(":")[0];
        const key = `${SCOPE_ORDER.indexOf(scope)}:${service}`;
        const g = groups.get(key) ?? { scope, service, actions: new Set<string>() };
        g.actions.add(a.action);
        groups.set(key, g);
    }
    const statements = [...groups.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([, g]): Statement => {
            const cond = condition(g.scope);
            return {
                Sid: sid(role, g.scope, g.service),
                Effect: "Allow",
                Action: [...g.actions].sort(),
                Resource: "*",
                ...(cond ? { Condition: cond } : {}),
            };
        });
    return { Version: "2012-10-17", Statement: statements };
}

/** The file text of a role's policy (2-space JSON, one trailing newline). */
export function policyText(role: Role, list: readonly ActionUse[] = ACTIONS): string {
    return `${JSON.stringify(policyDocument(role, list), null, 2)}\n`;
}
