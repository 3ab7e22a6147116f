/**
 * The IAM policies of docs/iam/ cover, exactly, what the project calls:
 * - every SDK command class the TypeScript under providers/ and scripts/ uses, attributed to a role
 *   by the entry point that reaches it through its imports (the image provider and the preflight:
 *   build; the janitor: janitor);
 * - every action packer-plugin-amazon 1.8.2's amazon-ebs makes for the settings the template's
 *   source block uses (docs/iam/packer-plugin-amazon-1.8.2.json), and no setting of the template
 *   is missing from that reviewed list;
 * - every action AmiCopy makes (docs/iam/pulumi-aws-amicopy.json);
 * - and the checked-in policy files are what scripts/iam/write.ts makes from scripts/iam/actions.ts.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ACTIONS, actionsOf, type Role } from "../../scripts/iam/actions";
import { POLICY_FILES, allowedActions, policyDocument, policyText, type PolicyDocument } from "../../scripts/iam/policies";

const ROOT = path.resolve(__dirname, "../..");
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

/** The code a role runs: entry points, followed through their relative imports. */
const ENTRIES: Record<Role, string[]> = {
    build: ["providers/packerImageProvider.ts", "scripts/preflight.ts"],
    copies: [],
    janitor: ["scripts/janitor.ts"],
};
/** Code that calls the SDK but never against AWS. */
const EMULATOR_ONLY = ["scripts/local/"];

/** SDK packages whose command classes count, and the IAM service prefix of each. */
const SERVICES: { pkg: string; prefix: string; noPermission?: string[] }[] = [
    { pkg: "@aws-sdk/client-ec2", prefix: "ec2" },
    { pkg: "@aws-sdk/client-kms", prefix: "kms" },
    // AWS requires no permission for GetCallerIdentity.
    { pkg: "@aws-sdk/client-sts", prefix: "sts", noPermission: ["GetCallerIdentity"] },
];

function sdkExports(pkg: string): Set<string> {
    try {
        return new Set(Object.keys(require(pkg) as object));
    } catch {
        return new Set();
    }
}

/** IAM actions for the command classes a source text names (`DescribeImagesCommand` → ec2:DescribeImages). */
export function commandActions(text: string): string[] {
    const out = new Set<string>();
    for (const m of text.matchAll(/\b([A-Z][A-Za-z0-9]+)Command\b/g)) {
        for (const s of SERVICES) {
            if (!sdkExports(s.pkg).has(`${m[1]}Command`) || s.noPermission?.includes(m[1])) continue;
            out.add(`${s.prefix}:${m[1]}`);
        }
    }
    return [...out].sort();
}

/** Project-relative .ts files a file imports or requires with a relative path. */
function localImports(rel: string): string[] {
    const text = read(rel);
    const out: string[] = [];
    for (const m of text.matchAll(/(?:from\s+|require\(|import\()\s*"(\.{1,2}\/[^"]+)"/g)) {
        const base = path.join(path.dirname(rel), m[1]);
        for (const cand of [`${base}.ts`, path.join(base, "index.ts"), base]) {
            if (cand.endsWith(".ts") && fs.existsSync(path.join(ROOT, cand))) {
                out.push(cand.split(path.sep).join("/"));
                break;
            }
        }
    }
    return out;
}

function reachable(entries: readonly string[]): Set<string> {
    const seen = new Set<string>();
    const todo = entries.filter((e) => fs.existsSync(path.join(ROOT, e)));
    while (todo.length > 0) {
        const f = todo.pop()!;
        if (seen.has(f)) continue;
        seen.add(f);
        todo.push(...localImports(f));
    }
    return seen;
}

function tsFiles(dir: string): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) out.push(...tsFiles(rel));
        else if (e.name.endsWith(".ts")) out.push(rel);
    }
    return out;
}

interface PluginCall {
    action: string;
    source: string;
    why: string;
}
interface PluginList {
    version: string;
    always: PluginCall[];
    settings: Record<string, PluginCall[]>;
}

/**
 * The names set at the top level of a `source "amazon-ebs"` block: attributes (`x = …`), blocks
 * (`x {`) and dynamic blocks (`dynamic "x" {`).
 */
export function sourceBlockSettings(hcl: string): string[] {
    const start = hcl.search(/^source\s+"amazon-ebs"\s+"[^"]+"\s*\{/m);
    assert.ok(start >= 0, "no amazon-ebs source block");
    const names: string[] = [];
    let depth = 0;
    for (const raw of hcl.slice(start).split("\n")) {
        const line = raw.replace(/#.*$/, "");
        if (depth === 1) {
            const m = /^\s*(?:dynamic\s+"([a-z_]+)"|([a-z_]+))\s*(=|\{)/.exec(line);
            if (m) names.push(m[1] ?? m[2]);
        }
        for (const ch of line.replace(/"(?:[^"\\]|\\.)*"/g, '""')) {
            if (ch === "{") depth++;
            else if (ch === "}") depth--;
        }
        // The block's own first line opened it; back at depth 0 it has closed.
        if (depth === 0) break;
    }
    return names;
}

const TEMPLATE = "images/aws/couchbase-cloud.pkr.hcl";
/** Every Packer template of the project with an amazon-ebs source (the build, the boot test). */
const TEMPLATES = (function find(dir: string): string[] {
    return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) return find(rel);
        return e.name.endsWith(".pkr.hcl") && /^source\s+"amazon-ebs"/m.test(read(rel)) ? [rel] : [];
    });
})("images");
const plugin = JSON.parse(read("docs/iam/packer-plugin-amazon-1.8.2.json")) as PluginList;
const amiCopy = JSON.parse(read("docs/iam/pulumi-aws-amicopy.json")) as { calls: PluginCall[] };
const policyFile = (role: Role) => JSON.parse(read(POLICY_FILES[role])) as PolicyDocument;

/** What code reachable from a role's entries calls. */
function codeActions(role: Role): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const f of reachable(ENTRIES[role])) {
        for (const a of commandActions(read(f))) out.set(a, [...(out.get(a) ?? []), f]);
    }
    return out;
}

/** What Packer calls for the templates' settings. */
function packerActions(templates: readonly string[] = TEMPLATES): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const add = (c: PluginCall, why: string) => out.set(c.action, [...(out.get(c.action) ?? []), why]);
    for (const c of plugin.always) add(c, `always (${c.source})`);
    for (const t of templates) {
        for (const s of sourceBlockSettings(read(t))) for (const c of plugin.settings[s] ?? []) add(c, `${t}: ${s} (${c.source})`);
    }
    return out;
}

describe("IAM policies (docs/iam/)", () => {
    it("the policy files are generated from scripts/iam/actions.ts (run: npx ts-node --transpile-only scripts/iam/write.ts)", () => {
        for (const role of Object.keys(POLICY_FILES) as Role[]) assert.equal(read(POLICY_FILES[role]), policyText(role), POLICY_FILES[role]);
    });

    it("every action is spelled service:Action, without wildcards, and says why", () => {
        for (const a of ACTIONS) {
            assert.match(a.action, /^(ec2|kms|sts):[A-Z][A-Za-z]+$/, a.action);
            assert.ok(a.why.length > 10, `${a.role} ${a.action}: say why`);
        }
    });

    it("every SDK command the code makes is in the policy of the role that runs it", () => {
        for (const role of ["build", "janitor"] as Role[]) {
            const allowed = allowedActions(policyFile(role));
            for (const [action, files] of codeActions(role)) {
                assert.ok(allowed.has(action), `${action} (called in ${files.join(", ")}) is missing from ${POLICY_FILES[role]}: add it to scripts/iam/actions.ts with why, then run scripts/iam/write.ts`);
            }
        }
    });

    it("every file that makes SDK calls is reached from an entry point of a role (or is emulator-only)", () => {
        const covered = new Set([...reachable(ENTRIES.build), ...reachable(ENTRIES.janitor)]);
        for (const f of [...tsFiles("providers"), ...tsFiles("scripts")]) {
            if (commandActions(read(f)).length === 0 || covered.has(f) || EMULATOR_ONLY.some((p) => f.startsWith(p))) continue;
            assert.fail(`${f} makes SDK calls but no role's entry point (test/unit/iam.test.ts ENTRIES) reaches it`);
        }
    });

    it("every source-block setting of every template has been reviewed against the plugin's source", () => {
        assert.ok(TEMPLATES.includes(TEMPLATE), `templates found: ${TEMPLATES.join(", ")}`);
        assert.ok(sourceBlockSettings(read(TEMPLATE)).includes("launch_block_device_mappings"));
        for (const t of TEMPLATES) {
            for (const s of sourceBlockSettings(read(t))) {
                assert.ok(
                    s in plugin.settings,
                    `${t} sets ${s}, which docs/iam/packer-plugin-amazon-1.8.2.json does not list: read what packer-plugin-amazon ${plugin.version} calls for it and add an entry (and the actions to scripts/iam/actions.ts)`,
                );
            }
        }
    });

    it("every action Packer makes for the templates' settings is in the build policy", () => {
        const allowed = allowedActions(policyFile("build"));
        for (const [action, why] of packerActions()) {
            assert.ok(allowed.has(action), `${action} (Packer: ${why.join("; ")}) is missing from ${POLICY_FILES.build}`);
        }
    });

    it("every action AmiCopy makes is in the copies policy", () => {
        const allowed = allowedActions(policyFile("copies"));
        for (const c of amiCopy.calls) assert.ok(allowed.has(c.action), `${c.action} (AmiCopy: ${c.why}) is missing from ${POLICY_FILES.copies}`);
    });

    it("no policy allows an EC2 or KMS action that nothing calls", () => {
        const viaEc2 = (role: Role) => new Set(ACTIONS.filter((a) => a.role === role && a.scope === "viaEc2").map((a) => a.action));
        const needed: Record<Role, Set<string>> = {
            build: new Set([...codeActions("build").keys(), ...packerActions().keys(), ...viaEc2("build")]),
            copies: new Set([...amiCopy.calls.map((c) => c.action), ...viaEc2("copies")]),
            janitor: new Set(codeActions("janitor").keys()),
        };
        for (const role of Object.keys(needed) as Role[]) {
            const extra = actionsOf(role).filter((a) => !needed[role].has(a));
            assert.deepEqual(extra, [], `${POLICY_FILES[role]} allows what nothing calls: remove it from scripts/iam/actions.ts`);
        }
    });

    describe("the checks themselves", () => {
        it("a command class the code starts using fails the check until the action is listed", () => {
            const without = ACTIONS.filter((a) => !(a.role === "janitor" && a.action === "ec2:DescribeRegions"));
            assert.ok(!allowedActions(policyDocument("janitor", without)).has("ec2:DescribeRegions"));
            assert.ok(codeActions("janitor").has("ec2:DescribeRegions"));
        });
        it("names only real SDK commands, attributed to their service", () => {
            assert.deepEqual(commandActions("new DescribeImagesCommand({}); new NotAnAwsCommand(); DeleteTagsCommand"), ["ec2:DeleteTags", "ec2:DescribeImages"]);
        });
        it("reads the source block's settings, dynamic blocks included, and nothing outside it", () => {
            const hcl = 'variable "x" {\n  default = 1\n}\nsource "amazon-ebs" "a" {\n  region = "r" # c\n  dynamic "source_ami_filter" {\n    content {\n      owners = ["x"]\n    }\n  }\n  aws_polling {\n    delay_seconds = 5\n  }\n  tags = { A = "{" }\n}\nbuild {\n  name = "b"\n}\n';
            assert.deepEqual(sourceBlockSettings(hcl), ["region", "source_ami_filter", "aws_polling", "tags"]);
        });
        it("a template setting not reviewed would fail", () => {
            const hcl = read(TEMPLATE).replace(/^(\s*ami_name\s*=)/m, "  ami_users = [\"1\"]\n$1");
            assert.ok(sourceBlockSettings(hcl).some((s) => !(s in plugin.settings)));
        });
    });
});
