/**
 * The IAM policies of docs/iam/ cover, exactly, what the project calls:
 * - every SDK command class the TypeScript under providers/, scripts/ and janitor/ uses, attributed to a role
 *   by the entry point that reaches it, declaration by declaration, through its imports (the image
 *   provider and the preflight: build; the janitor: janitor);
 * - every action packer-plugin-amazon 1.8.2's amazon-ebs makes for the settings the template's
 *   source block uses (docs/iam/packer-plugin-amazon-1.8.2.json), and no setting of the template
 *   is missing from that reviewed list;
 * - every action AmiCopy makes (docs/iam/pulumi-aws-amicopy.json);
 * - and the checked-in policy files are what scripts/iam/write.ts makes from scripts/iam/actions.ts.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { ACTIONS, actionsOf, type Role } from "../../scripts/iam/actions";
import { POLICY_FILES, policyDocument, policyText, type PolicyDocument } from "../../scripts/iam/policies";

/** Every action a policy document allows, whatever its condition. */
function allowedActions(doc: PolicyDocument): Set<string> {
    return new Set(doc.Statement.flatMap((s) => s.Action));
}

const ROOT = path.resolve(__dirname, "../..");
const read = (rel: string) => fs.readFileSync(path.join(ROOT, rel), "utf8");

/** The code a role runs: entry points, followed through their relative imports. */
const ENTRIES: Record<Role, string[]> = {
    build: ["providers/packer/provider.ts", "scripts/preflight.ts"],
    copies: ["providers/copySnapshotTagsProvider.ts"],
    janitor: ["janitor/cli.ts"],
};
/** Code that calls the SDK but never against AWS. */
const EMULATOR_ONLY = ["scripts/local/"];

/** SDK packages whose command classes count, and the IAM service prefix of each. */
const SERVICES: { pkg: string; prefix: string; noPermission?: string[] }[] = [
    { pkg: "@aws-sdk/client-ec2", prefix: "ec2" },
    { pkg: "@aws-sdk/client-kms", prefix: "kms" },
    { pkg: "@aws-sdk/client-iam", prefix: "iam" },
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

/** Where the walk reads project files (the disk; the self-tests give files of their own). */
interface Sources {
    read(rel: string): string;
    exists(rel: string): boolean;
}
const DISK: Sources = { read, exists: (rel) => fs.existsSync(path.join(ROOT, rel)) };

/** A relative module specifier from `rel`, resolved to a project .ts file (or undefined). */
function resolveImport(rel: string, spec: string, src: Sources): string | undefined {
    const base = path.posix.join(path.posix.dirname(rel), spec);
    for (const cand of [`${base}.ts`, path.posix.join(base, "index.ts"), base]) {
        if (cand.endsWith(".ts") && src.exists(cand)) return cand;
    }
    return undefined;
}

/**
 * One module as the reachability walk sees it: its top-level declarations (name → identifiers used
 * inside), the names it imports from project files, the project files it loads whole, and the
 * identifiers its top-level statements that declare nothing use (they run on load).
 */
interface ModuleInfo {
    decls: Map<string, Set<string>>;
    imports: Map<string, { file: string; name: string }>;
    /** Project files loaded whole: namespace imports, require() and import() of a relative path, `export *`. */
    whole: Set<string>;
    onLoad: Set<string>;
}

/** A declaration that is a re-export stands for `file`'s `name`. */
const REEXPORT = "\u0000";

const parsed = new WeakMap<Sources, Map<string, ModuleInfo>>();
function moduleInfo(rel: string, src: Sources): ModuleInfo {
    const modules = parsed.get(src) ?? new Map<string, ModuleInfo>();
    parsed.set(src, modules);
    const known = modules.get(rel);
    if (known) return known;
    const sf = ts.createSourceFile(rel, src.read(rel), ts.ScriptTarget.Latest, true);
    const info: ModuleInfo = { decls: new Map(), imports: new Map(), whole: new Set(), onLoad: new Set() };
    const idents = (node: ts.Node): Set<string> => {
        const out = new Set<string>();
        const visit = (n: ts.Node) => {
            if (ts.isIdentifier(n)) out.add(n.text);
            const loads = ts.isCallExpression(n) && n.arguments.length === 1 && ts.isStringLiteral(n.arguments[0]);
            if (loads && (n.expression.getText(sf) === "require" || n.expression.kind === ts.SyntaxKind.ImportKeyword)) {
                const f = resolveImport(rel, (n.arguments[0] as ts.StringLiteral).text, src);
                if (f) info.whole.add(f);
            }
            ts.forEachChild(n, visit);
        };
        visit(node);
        return out;
    };
    for (const st of sf.statements) {
        if (ts.isImportDeclaration(st) && ts.isStringLiteral(st.moduleSpecifier)) {
            const f = resolveImport(rel, st.moduleSpecifier.text, src);
            const b = st.importClause?.namedBindings;
            if (!f) continue;
            if (b && ts.isNamespaceImport(b)) info.whole.add(f);
            else if (b && ts.isNamedImports(b))
                for (const e of b.elements) info.imports.set(e.name.text, { file: f, name: (e.propertyName ?? e.name).text });
            if (st.importClause?.name) info.imports.set(st.importClause.name.text, { file: f, name: "default" });
        } else if (ts.isExportDeclaration(st) && st.moduleSpecifier && ts.isStringLiteral(st.moduleSpecifier)) {
            const f = resolveImport(rel, st.moduleSpecifier.text, src);
            if (f && st.exportClause && ts.isNamedExports(st.exportClause)) {
                for (const e of st.exportClause.elements)
                    info.decls.set(e.name.text, new Set([`${REEXPORT}${f}${REEXPORT}${(e.propertyName ?? e.name).text}`]));
            } else if (f) info.whole.add(f);
        } else if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) {
            info.decls.set(st.name.text, idents(st));
        } else if (ts.isVariableStatement(st)) {
            for (const d of st.declarationList.declarations) {
                const used = idents(d);
                for (const n of ts.isIdentifier(d.name) ? [d.name.text] : [...idents(d.name)]) info.decls.set(n, used);
            }
        } else if (!ts.isInterfaceDeclaration(st) && !ts.isTypeAliasDeclaration(st)) {
            for (const id of idents(st)) info.onLoad.add(id);
        }
    }
    modules.set(rel, info);
    return info;
}

/**
 * What a role's entry points reach, declaration by declaration: each entry file whole, then every
 * declaration whose name a reached declaration uses, followed through named imports into other
 * project files (a file imported for one function does not grant the calls of its others).
 * Returns the files reached and the SDK command actions of the declarations reached.
 */
function reach(entries: readonly string[], src: Sources = DISK): { files: Set<string>; actions: Map<string, string[]> } {
    const files = new Set<string>();
    const actions = new Map<string, string[]>();
    const seen = new Set<string>();
    const todo: { file: string; name?: string }[] = entries.filter((e) => src.exists(e)).map((file) => ({ file }));
    const use = (file: string, ids: Iterable<string>, info: ModuleInfo) => {
        for (const id of ids) {
            if (id.startsWith(REEXPORT)) {
                const [, f, n] = id.split(REEXPORT);
                todo.push({ file: f, name: n });
            } else if (info.decls.has(id)) todo.push({ file, name: id });
            else if (info.imports.has(id)) todo.push(info.imports.get(id)!);
            for (const a of commandActions(id)) actions.set(a, [...new Set([...(actions.get(a) ?? []), file])]);
        }
    };
    while (todo.length > 0) {
        const t = todo.pop()!;
        const key = `${t.file}${REEXPORT}${t.name ?? "*"}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const info = moduleInfo(t.file, src);
        if (!files.has(t.file)) {
            files.add(t.file);
            use(t.file, info.onLoad, info);
            for (const f of info.whole) todo.push({ file: f });
        }
        if (t.name === undefined) for (const n of info.decls.keys()) todo.push({ file: t.file, name: n });
        else use(t.file, info.decls.get(t.name) ?? [], info);
    }
    return { files, actions };
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
    return reach(ENTRIES[role]).actions;
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
        for (const role of Object.keys(POLICY_FILES) as Role[])
            assert.equal(read(POLICY_FILES[role]), policyText(role), POLICY_FILES[role]);
    });

    it("every action is spelled service:Action, without wildcards, and says why", () => {
        for (const a of ACTIONS) {
            assert.match(a.action, /^(ec2|kms|sts|iam):[A-Z][A-Za-z]+$/, a.action);
            assert.ok(a.why.length > 10, `${a.role} ${a.action}: say why`);
        }
    });

    it("every SDK command the code makes is in the policy of the role that runs it", () => {
        for (const role of ["build", "copies", "janitor"] as Role[]) {
            const allowed = allowedActions(policyFile(role));
            for (const [action, files] of codeActions(role)) {
                assert.ok(
                    allowed.has(action),
                    `${action} (called in ${files.join(", ")}) is missing from ${POLICY_FILES[role]}: add it to scripts/iam/actions.ts with why, then run scripts/iam/write.ts`,
                );
            }
        }
    });

    it("every file that makes SDK calls is reached from an entry point of a role (or is emulator-only)", () => {
        const covered = new Set([...reach(ENTRIES.build).files, ...reach(ENTRIES.copies).files, ...reach(ENTRIES.janitor).files]);
        for (const f of [...tsFiles("providers"), ...tsFiles("scripts"), ...tsFiles("janitor")]) {
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
        for (const c of amiCopy.calls)
            assert.ok(allowed.has(c.action), `${c.action} (AmiCopy: ${c.why}) is missing from ${POLICY_FILES.copies}`);
    });

    it("no policy allows an EC2, KMS or IAM action that nothing calls", () => {
        const viaEc2 = (role: Role) => new Set(ACTIONS.filter((a) => a.role === role && a.scope === "viaEc2").map((a) => a.action));
        const needed: Record<Role, Set<string>> = {
            build: new Set([...codeActions("build").keys(), ...packerActions().keys(), ...viaEc2("build")]),
            copies: new Set([...amiCopy.calls.map((c) => c.action), ...codeActions("copies").keys(), ...viaEc2("copies")]),
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
        it("sees the preflight's IAM call (iam:SimulatePrincipalPolicy) as the build role's", () => {
            assert.ok(codeActions("build").has("iam:SimulatePrincipalPolicy"));
            const without = ACTIONS.filter((a) => a.action !== "iam:SimulatePrincipalPolicy");
            assert.ok(!allowedActions(policyDocument("build", without)).has("iam:SimulatePrincipalPolicy"));
        });
        it("follows declarations: a file imported for one function grants only what that function reaches", () => {
            const files: Record<string, string> = {
                "entry.ts":
                    'import { used } from "./lib";\nimport * as whole from "./whole";\nexport async function main() { await used(); }\n',
                "lib.ts":
                    'import { helper } from "./deep";\nexport async function used() { return helper(); }\n' +
                    "export async function unused() { const { DescribeKeyPairsCommand } = sdk(); return new DescribeKeyPairsCommand({}); }\n",
                "deep.ts":
                    "const { DescribeImagesCommand } = sdk();\nexport function helper() { return new DescribeImagesCommand({}); }\nexport const other = () => new DeleteTagsCommand({});\n",
                "whole.ts": 'export { x } from "./reexported";\n',
                "reexported.ts":
                    "export function x() { return new CopyImageCommand({}); }\nexport function y() { return new DeleteSnapshotCommand({}); }\n",
            };
            const src: Sources = { read: (rel) => files[rel], exists: (rel) => rel in files };
            const r = reach(["entry.ts"], src);
            assert.deepEqual([...r.actions.keys()].sort(), ["ec2:CopyImage", "ec2:DescribeImages"]);
            assert.deepEqual([...r.files].sort(), ["deep.ts", "entry.ts", "lib.ts", "reexported.ts", "whole.ts"]);
        });
        it("names only real SDK commands, attributed to their service", () => {
            assert.deepEqual(commandActions("new DescribeImagesCommand({}); new NotAnAwsCommand(); DeleteTagsCommand"), [
                "ec2:DeleteTags",
                "ec2:DescribeImages",
            ]);
        });
        it("reads the source block's settings, dynamic blocks included, and nothing outside it", () => {
            const hcl =
                'variable "x" {\n  default = 1\n}\nsource "amazon-ebs" "a" {\n  region = "r" # c\n  dynamic "source_ami_filter" {\n    content {\n      owners = ["x"]\n    }\n  }\n  aws_polling {\n    delay_seconds = 5\n  }\n  tags = { A = "{" }\n}\nbuild {\n  name = "b"\n}\n';
            assert.deepEqual(sourceBlockSettings(hcl), ["region", "source_ami_filter", "aws_polling", "tags"]);
        });
        it("a template setting not reviewed would fail", () => {
            const hcl = read(TEMPLATE).replace(/^(\s*ami_name\s*=)/m, '  ami_users = ["1"]\n$1');
            assert.ok(sourceBlockSettings(hcl).some((s) => !(s in plugin.settings)));
        });
    });
});
