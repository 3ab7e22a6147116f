/**
 * Every repository path that the Markdown pages (README.md, docs/, every folder's README) and
 * source comments (TypeScript, shell, Go, HCL, YAML and the like) cite exists. A reference is a token with a slash whose first segment is a
 * top-level entry of the repository (or `./`, `../`), or a bare file name with a source extension
 * (`validate.ts`: some file of that name must exist). Notes kept outside the repository (a
 * `shared` folder beside it) are stale by definition: a reader of the repository cannot follow them.
 *
 * Not references: globs and placeholders (`scripts/*.sh`, `versions/<stack>.json`,
 * `tools/NAME`: only the literal folder before them must exist), URLs, and a stack's versions
 * file (`versions/dev-alice.json`), which is output, and a file the code generates at run time
 * (`GENERATED`, by the code's own constant).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { LAUNCH_VARIABLES_FILE } from "../../providers/bootTest/launchVariables";

const ROOT = path.resolve(__dirname, "../..");
/** Not the repository's content: dependencies, git, and what the tools and tests write (.gitignore). */
const SKIP_DIRS = new Set(["node_modules", ".git", "bin", "dist", ".build", ".local", ".pulumi-state"]);
const SOURCE_EXT = /\.(ts|sh|md|go|hcl)$/;
const HASH_COMMENTS = /(^|\/)(\.gitignore|\.imageignore|run|fake-packer)$|\.(sh|ya?ml|env|service|hcl)$/;

/** References in files owned by someone else that are known to be stale (file → tokens). */
const KNOWN_STALE: Record<string, string[]> = {};
/** Files the code writes at run time, never committed, so cited by name without existing (each named by its constant). */
const GENERATED = new Set([LAUNCH_VARIABLES_FILE]);

function walk(dir: string, out: string[] = []): string[] {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = dir ? `${dir}/${e.name}` : e.name;
        if (e.isDirectory()) {
            if (!SKIP_DIRS.has(e.name)) walk(rel, out);
        } else if (e.isFile()) out.push(rel);
    }
    return out;
}

/** Comment text of a TypeScript file, with line numbers (the compiler's own scanner). */
function tsComments(file: string, text: string): { line: number; text: string }[] {
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
    const seen = new Set<number>();
    const out: { line: number; text: string }[] = [];
    const take = (ranges: ts.CommentRange[] | undefined) => {
        for (const r of ranges ?? []) {
            if (seen.has(r.pos)) continue;
            seen.add(r.pos);
            const first = sf.getLineAndCharacterOfPosition(r.pos).line;
            text.slice(r.pos, r.end)
                .split("\n")
                .forEach((l, i) => out.push({ line: first + i + 1, text: l }));
        }
    };
    const visit = (n: ts.Node) => {
        take(ts.getLeadingCommentRanges(text, n.getFullStart()));
        take(ts.getTrailingCommentRanges(text, n.getEnd()));
        n.getChildren(sf).forEach(visit);
    };
    visit(sf);
    return out;
}

/** Comment text of a file (TypeScript and JavaScript: the compiler's scanner; others: `//` and `/* *\/` in Go and HCL, `#` in shell, YAML, HCL and the like; all of Markdown. */
function comments(file: string, text: string): { line: number; text: string }[] {
    if (/\.(ts|mjs|cjs|js)$/.test(file)) return tsComments(file, text);
    const lines = text.split("\n");
    if (file.endsWith(".md")) return lines.map((l, i) => ({ line: i + 1, text: l }));
    const out: { line: number; text: string }[] = [];
    let block = false;
    lines.forEach((l, i) => {
        const line = i + 1;
        if (/\.(go|mod|hcl)$/.test(file)) {
            if (block) {
                out.push({ line, text: l });
                if (l.includes("*/")) block = false;
                return;
            }
            const m = /(^|[^:"'\w])(\/\/|\/\*)/.exec(l);
            if (m) {
                out.push({ line, text: l.slice(m.index) });
                if (m[2] === "/*" && !l.slice(m.index + m[0].length).includes("*/")) block = true;
            }
        }
        if (HASH_COMMENTS.test(file)) {
            const h = /(^|\s)#/.exec(l);
            if (h) out.push({ line, text: l.slice(h.index) });
        }
    });
    return out;
}

const PATH_TOKEN = /(?<![\w./@:~-])((?:\.\.?\/)*[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.*<>{}$…-]+)+\/?)/g;
const FILE_TOKEN = /(?<![\w./@:*$~-])([A-Za-z0-9_][A-Za-z0-9_.-]*\.(?:ts|sh|md|go|hcl))(?![\w/-])/g;

/** Why a token in `file` is a stale reference, or undefined. */
function stale(file: string, token: string, top: Set<string>, basenames: Set<string>): string | undefined {
    const t = token.replace(/[.,;:)]+$/, "");
    if (/(^|\/)\.\.\/shared\//.test(t) || t.startsWith("shared/")) return "a note outside the repository";
    if (!t.includes("/"))
        return SOURCE_EXT.test(t) && !basenames.has(t) && !GENERATED.has(t) ? "no such file anywhere in the repository" : undefined;
    const relative = t.startsWith("./") || t.startsWith("../");
    if (!relative && !top.has(t.split("/")[0])) return undefined; // not a repository path (a URL's path, a package, an S3 key)
    // Placeholders and globs: the literal folder in front of them must exist.
    const lit = t.split("/");
    const cut = lit.findIndex((s) => /[*<>{}$…]/.test(s) || /^[A-Z][A-Z_]+$/.test(s));
    const literal = (cut < 0 ? lit : lit.slice(0, cut)).join("/").replace(/\/$/, "");
    if (cut >= 0 && literal === "") return undefined;
    if (cut < 0 && /^versions\/[^/]+\.json$/.test(literal) && literal !== "versions/schema.json") return undefined; // a stack's output
    const candidates = relative ? [path.join(path.dirname(file), literal), path.normalize(literal)] : [literal];
    const found = candidates.some((c) => !c.startsWith("..") && [c, `${c}.ts`].some((x) => fs.existsSync(path.join(ROOT, x))));
    if (relative && candidates.every((c) => c.startsWith(".."))) return "outside the repository";
    return found ? undefined : "does not exist";
}

describe("paths cited in the Markdown pages and source comments exist", () => {
    const files = walk("");
    const top = new Set(fs.readdirSync(ROOT).filter((n) => !SKIP_DIRS.has(n)));
    const basenames = new Set(files.map((f) => path.basename(f)));
    const checked = files.filter((f) => f.endsWith(".md") || (!f.endsWith(".json") && !f.endsWith(".sum") && !f.endsWith(".gz")));

    it("checks the docs and the sources (the scan finds them)", () => {
        for (const f of [
            "README.md",
            "docs/janitor.md",
            "versions/README.md",
            "janitor/cli.ts",
            "scripts/bootstrap.sh",
            "agent/cmd/dp-agent/main.go",
            "images/aws/couchbase-cloud.pkr.hcl",
        ])
            assert.ok(checked.includes(f), f);
    });
    it("no stale reference", () => {
        const problems: string[] = [];
        for (const f of checked) {
            let text: string;
            try {
                text = fs.readFileSync(path.join(ROOT, f), "utf8");
            } catch {
                continue; // removed since the walk (a test's scratch file)
            }
            if (text.includes("\0")) continue;
            for (const c of comments(f, text)) {
                for (const re of [PATH_TOKEN, FILE_TOKEN]) {
                    for (const m of c.text.matchAll(re)) {
                        if (/:\/\/\S*$/.test(c.text.slice(0, m.index))) continue; // inside a URL
                        if (KNOWN_STALE[f]?.includes(m[1])) continue;
                        const why = stale(f, m[1], top, basenames);
                        if (why) problems.push(`${f}:${c.line}: ${m[1]} (${why})`);
                    }
                }
            }
        }
        assert.deepEqual(problems, []);
    });
    it("finds what it must: a missing file, a note outside the repository, a bare missing file name", () => {
        const top = new Set(["scripts", "docs"]);
        assert.equal(stale("docs/x.md", "scripts/no-such-file.sh", top, new Set()), "does not exist");
        assert.equal(stale("docs/x.md", "../shared/toolchain.md", top, new Set()), "a note outside the repository");
        assert.equal(stale("scripts/x.ts", "toolchain.md", top, new Set(["x.ts"])), "no such file anywhere in the repository");
        assert.equal(stale("docs/x.md", "scripts/*.sh", top, new Set()), undefined);
        assert.equal(stale("docs/x.md", "scripts/no-such-dir/*.sh", top, new Set()), "does not exist");
        assert.equal(stale("docs/x.md", "versions/dev-alice.json", new Set(["versions"]), new Set()), undefined);
        assert.equal(stale("docs/x.md", "github.com/pulumi/pulumi", top, new Set()), undefined);
        assert.equal(stale("docs/x.md", LAUNCH_VARIABLES_FILE, top, new Set()), undefined, "a file the code generates");
    });
});
