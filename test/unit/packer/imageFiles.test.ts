/**
 * Which template-folder files count for the image's fingerprint: a table of the ignore rule, a
 * guard that the real ignore file drops nothing the real template's provisioners upload or run,
 * and the real folder fingerprinted (README, test fixture and boot-test edits rebuild nothing,
 * script edits do; the image's CI script lives outside the folder, in test/images/). Proof limit:
 * the guard reads the template's provisioner attributes with a small text scan (resolving
 * `local.*` references one level at a time), not with Packer's HCL parser.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { changedParts, computeFingerprint, readTree, type FingerprintSources } from "../../../providers/packer/fingerprint";
import { IMAGE_IGNORE_FILE, imageFileFilter, parseImageIgnore } from "../../../providers/packer/imageFiles";

/** Whether one relative path counts for the image's fingerprint under the given ignore file text. */
const countsForImage = (relPath: string, ignoreText: string): boolean => imageFileFilter(ignoreText)(relPath);
import { goodInputs } from "./fixtures";

const TEMPLATE_DIR = path.resolve(__dirname, "../../../images/aws");
const TEMPLATE = path.join(TEMPLATE_DIR, "couchbase-cloud.pkr.hcl");
const realIgnore = () => fs.readFileSync(path.join(TEMPLATE_DIR, IMAGE_IGNORE_FILE), "utf8");

describe("image files (what the fingerprint covers)", () => {
    describe("countsForImage table", () => {
        const SUGGESTED = "# not part of the image\nci.sh\nREADME*\ntest/\n";
        const cases: [string, string, string, boolean][] = [
            // [what, ignore text, path, counts]
            ["the template", SUGGESTED, "couchbase-cloud.pkr.hcl", true],
            ["a provisioning script", SUGGESTED, "scripts/install-couchbase.sh", true],
            ["an uploaded file", SUGGESTED, "files/x", true],
            ["an uploaded file in a nested folder", SUGGESTED, "files/no-local-packages/placeholder", true],
            ["the CI script", SUGGESTED, "ci.sh", false],
            ["the README", SUGGESTED, "README.md", false],
            ["a test fixture", SUGGESTED, "test/fixture.json", false],
            ["the boot test, with a boot-test/ line", `${SUGGESTED}boot-test/\n`, "boot-test/boot-check.sh", false],
            ["the boot test's template is nested, so ignorable", `${SUGGESTED}boot-test/\n`, "boot-test/boot-test.pkr.hcl", false],
            ["a nested test fixture", SUGGESTED, "test/deep/er/fixture.json", false],
            ["the ignore file itself", SUGGESTED, ".imageignore", false],
            ["the ignore file itself, with no ignore text", "", ".imageignore", false],
            ["anything, with no ignore text", "", "ci.sh", true],
            [
                "patterns are anchored: README* leaves an uploaded files/…/README.md counted",
                SUGGESTED,
                "files/no-local-packages/README.md",
                true,
            ],
            ["patterns are anchored: ci.sh leaves scripts/ci.sh counted", SUGGESTED, "scripts/ci.sh", true],
            ["a folder pattern does not match a file of that name", SUGGESTED, "test", true],
            ["a pattern without / matches a folder too", "test\n", "test/fixture.json", false],
            ["a folder named like the pattern elsewhere", SUGGESTED, "files/test/x", true],
            ["* stays within one segment", "*.json\n", "test/fixture.json", true],
            ["* at the top level", "*.json\n", "fixture.json", false],
            ["nested pattern", "scripts/*.bats\n", "scripts/install.bats", false],
            ["nested pattern: the other files of that folder", "scripts/*.bats\n", "scripts/install.sh", true],
            ["nested pattern: not one level deeper", "scripts/*.bats\n", "scripts/t/install.bats", true],
            ["nested folder pattern", "files/dev/\n", "files/dev/notes.txt", false],
            ["nested folder pattern: a sibling", "files/dev/\n", "files/devices/x", true],
            ["** matches at every depth", "**/*.orig\n", "scripts/cleanup.sh.orig", false],
            ["** matches zero folders", "**/*.orig\n", "x.orig", false],
            ["? is one character", "notes?.txt\n", "notes1.txt", false],
            ["? is not a slash", "a?b\n", "a/b", true],
            ["a dot is literal", "ci.sh\n", "cixsh", true],
            ["a leading / is allowed", "/ci.sh\n", "ci.sh", false],
            ["comments and blank lines", "\n# ci.sh\n   \n\t# README*\n", "ci.sh", true],
            ["an indented pattern and CRLF line ends", "  ci.sh  \r\nREADME*\r\n", "README.md", false],
            ["! counts a file again (last match wins)", "test/\n!test/keep.json\n", "test/keep.json", true],
            ["! only that file", "test/\n!test/keep.json\n", "test/other.json", false],
            ["a later pattern beats an earlier !", "!ci.sh\nci.sh\n", "ci.sh", false],
            ["the template cannot be ignored", "*.hcl\n*\n", "couchbase-cloud.pkr.hcl", true],
            ["a variables file cannot be ignored", "*\n", "local.auto.pkrvars.hcl", true],
            ["a nested *.pkr.hcl is not Packer's (ignorable)", "test/\n", "test/other.pkr.hcl", false],
            ["* ignores everything else", "*\n", "scripts/install-couchbase.sh", false],
        ];
        for (const [what, text, rel, counts] of cases) {
            it(`${what}: ${rel} ${counts ? "counts" : "does not count"}`, () => assert.equal(countsForImage(rel, text), counts));
        }

        it("parseImageIgnore keeps patterns in order and reads ! and trailing /", () => {
            assert.deepEqual(
                parseImageIgnore("# c\n\nci.sh\n!README.md\ntest/\n/\n").map(({ pattern, negate, dirOnly }) => ({
                    pattern,
                    negate,
                    dirOnly,
                })),
                [
                    { pattern: "ci.sh", negate: false, dirOnly: false },
                    { pattern: "README.md", negate: true, dirOnly: false },
                    { pattern: "test", negate: false, dirOnly: true },
                ],
            );
        });
    });

    describe("the real template and ignore file (guard)", () => {
        const used = templatePaths(fs.readFileSync(TEMPLATE, "utf8"));

        it("the scan finds what the provisioners upload and run", () => {
            // Not a list to keep in sync: just proof the scan works on this template.
            for (const p of ["scripts/tune-host.sh", "scripts/install-couchbase.sh", "scripts/validate.sh", "files/no-local-packages"])
                assert.ok(used.inside.includes(p), `${p} not found in ${used.inside.join(", ")}`);
        });

        it("every file a provisioner uploads or runs from the template folder exists and counts", () => {
            const keep = imageFileFilter(realIgnore());
            const problems: string[] = [];
            for (const rel of used.inside) {
                const abs = path.join(TEMPLATE_DIR, rel);
                if (!fs.existsSync(abs)) {
                    problems.push(`${rel}: does not exist`);
                    continue;
                }
                const files = fs.statSync(abs).isDirectory() ? readTree(fs, abs).map((f) => `${rel}/${f.path}`) : [rel];
                for (const f of files) if (!keep(f)) problems.push(`${f}: used by the build but left out by ${IMAGE_IGNORE_FILE}`);
            }
            assert.deepEqual(problems, []);
        });

        it("the template itself counts", () => assert.equal(countsForImage("couchbase-cloud.pkr.hcl", realIgnore()), true));

        it("every provisioner source/script names its file through ${path.root} or a variable", () => {
            // A bare relative path would resolve against Packer's working directory and escape this guard.
            assert.deepEqual(used.unresolved, []);
        });

        it("the real folder: the README, test fixtures and the boot test do not count; the rest does", () => {
            const keep = imageFileFilter(realIgnore());
            const all = readTree(fs, TEMPLATE_DIR).map((f) => f.path);
            const counted = all.filter(keep);
            assert.ok(counted.includes("couchbase-cloud.pkr.hcl"));
            assert.ok(counted.includes("files/no-local-packages/README.md"));
            assert.ok(counted.some((f) => f.startsWith("scripts/")));
            assert.deepEqual(
                all.filter((f) => !keep(f)),
                all.filter((f) => f === IMAGE_IGNORE_FILE || /^README/.test(f) || f.startsWith("test/") || f.startsWith("boot-test/")),
            );
            for (const f of ["README.md", "test/fixture.json", "boot-test/boot-test.pkr.hcl", "boot-test/boot-check.sh", IMAGE_IGNORE_FILE])
                assert.equal(keep(f), false, f);
        });

        it("the image's CI script is not in the template folder (test/images/ci.sh, run by scripts/test.sh), so no fingerprint part can name it", () => {
            const root = path.resolve(TEMPLATE_DIR, "../..");
            assert.ok(fs.existsSync(path.join(root, "test/images/ci.sh")), "test/images/ci.sh exists");
            assert.match(fs.readFileSync(path.join(root, "scripts/test.sh"), "utf8"), /^stage image bash test\/images\/ci\.sh$/m);
            const all = readTree(fs, TEMPLATE_DIR).map((f) => f.path);
            assert.deepEqual(
                all.filter((f) => /(^|\/)ci\.sh$/.test(f)),
                [],
                "no ci.sh under images/aws",
            );
            // Nor is it left there under another name: no shell file the template does not run or upload,
            // outside the folders .imageignore leaves out (the boot test), may sit in the folder.
            const used = new Set(templatePaths(fs.readFileSync(TEMPLATE, "utf8")).inside);
            const keep = imageFileFilter(realIgnore());
            const stray = all.filter((f) => keep(f) && f.endsWith(".sh") && ![...used].some((u) => f === u || f.startsWith(`${u}/`)));
            assert.deepEqual(
                stray,
                [],
                "shell files in images/aws that the build never runs count for the fingerprint: move them out, or list them in .imageignore",
            );
            const parts = Object.keys(
                computeFingerprint(goodInputs(), {
                    templateFiles: readTree(fs, TEMPLATE_DIR, keep),
                    agentUnit: "[Unit]\n",
                    packageFiles: [],
                    packerVersion: "1.16.0",
                    pluginVersion: "1.8.2",
                }).parts,
            );
            assert.ok(parts.includes("template/couchbase-cloud.pkr.hcl"));
            assert.deepEqual(
                parts.filter((p) => p.includes("ci.sh")),
                [],
            );
        });
    });

    describe("the real folder fingerprinted", () => {
        let tmp: string;
        before(() => {
            tmp = fs.mkdtempSync(path.join(os.tmpdir(), "image-files-"));
        });
        after(() => fs.rmSync(tmp, { recursive: true, force: true }));
        let n = 0;
        const copy = () => {
            const d = path.join(tmp, `aws${n++}`);
            fs.cpSync(TEMPLATE_DIR, d, { recursive: true });
            return d;
        };
        const fp = (d: string) => {
            const src: FingerprintSources = {
                templateFiles: readTree(fs, d, imageFileFilter(fs.readFileSync(path.join(d, IMAGE_IGNORE_FILE), "utf8"))),
                agentUnit: "[Unit]\n",
                packageFiles: [],
                packerVersion: "1.16.0",
                pluginVersion: "1.8.2",
            };
            return computeFingerprint(goodInputs(), src);
        };

        const unchanged: [string, (d: string) => void][] = [
            ["adding a README", (d) => fs.writeFileSync(path.join(d, "README.md"), "# images/aws\n")],
            [
                "adding a test fixture",
                (d) => (fs.mkdirSync(path.join(d, "test")), fs.writeFileSync(path.join(d, "test/fixture.json"), "{}\n")),
            ],
            // The boot test runs against the built image: a change of the checks re-tests it, never rebuilds it.
            ["editing the boot test's template", (d) => fs.appendFileSync(path.join(d, "boot-test/boot-test.pkr.hcl"), "# more\n")],
            [
                "editing or adding the boot test's check script",
                (d) => fs.appendFileSync(path.join(d, "boot-test/boot-check.sh"), "# another check\n"),
            ],
        ];
        for (const [what, mutate] of unchanged) {
            it(`${what} leaves the fingerprint equal`, () => {
                const d = copy();
                const a = fp(d);
                mutate(d);
                assert.equal(fp(d).fingerprint, a.fingerprint);
            });
        }

        const changed: [string, (d: string) => void, string][] = [
            [
                "editing a provisioning script",
                (d) => fs.appendFileSync(path.join(d, "scripts/cleanup.sh"), "# more\n"),
                "template/scripts/cleanup.sh",
            ],
            [
                "editing the template",
                (d) => fs.appendFileSync(path.join(d, "couchbase-cloud.pkr.hcl"), "# more\n"),
                "template/couchbase-cloud.pkr.hcl",
            ],
            [
                "editing an uploaded file",
                (d) => fs.appendFileSync(path.join(d, "files/no-local-packages/README.md"), "more\n"),
                "template/files/no-local-packages/README.md",
            ],
        ];
        for (const [what, mutate, part] of changed) {
            it(`${what} changes it (${part})`, () => {
                const d = copy();
                const a = fp(d);
                mutate(d);
                const b = fp(d);
                assert.notEqual(b.fingerprint, a.fingerprint);
                assert.deepEqual(changedParts(a.parts, b.parts), [part]);
            });
        }
    });
});

/**
 * The paths a template's provisioners upload (`file`: `source`) or run (`shell`: `script`,
 * `scripts`), from `${path.root}/…` references, with `local.*` references resolved through the
 * template's `locals` blocks. `inside`: relative to the template folder (no trailing `/`);
 * paths leaving it (`../…`, the agent unit default, fingerprinted as `agentUnit`) are left out.
 * `unresolved`: attributes naming neither `${path.root}` nor a variable.
 */
function templatePaths(hcl: string): { inside: string[]; unresolved: string[] } {
    const text = hcl
        .split("\n")
        .filter((l) => !/^\s*(#|\/\/)/.test(l))
        .join("\n");
    const locals = new Map<string, string>();
    for (const block of blocks(text, /^locals\s*\{/gm)) for (const [k, v] of attributes(block)) locals.set(k, v);
    const resolve = (expr: string, depth = 0): string =>
        depth > 10
            ? expr
            : expr.replace(/\blocal\.([A-Za-z0-9_]+)/g, (m, name: string) =>
                  locals.has(name) ? `(${resolve(locals.get(name)!, depth + 1)})` : m,
              );
    const inside = new Set<string>();
    const unresolved: string[] = [];
    for (const block of blocks(text, /^\s*provisioner\s+"[^"]+"\s*\{/gm)) {
        for (const [k, v] of attributes(block)) {
            if (k !== "source" && k !== "script" && k !== "scripts") continue;
            const expr = resolve(v);
            const refs = [...expr.matchAll(/\$\{path\.root\}\/([^"}\s]*)/g)].map((m) => m[1].replace(/\/+$/, ""));
            if (refs.length === 0 && !/\bvar\./.test(expr)) unresolved.push(`${k} = ${v}`);
            for (const r of refs) if (!r.startsWith("../") && r !== "..") inside.add(r);
        }
    }
    return { inside: [...inside].sort(), unresolved };
}

/** Bodies of the blocks whose header `start` matches (brace-balanced; `${…}` braces balance too). */
function blocks(text: string, start: RegExp): string[] {
    const out: string[] = [];
    for (const m of text.matchAll(start)) {
        let depth = 1;
        let k = m.index + m[0].length;
        const from = k;
        for (; k < text.length && depth > 0; k++) {
            if (text[k] === "{") depth++;
            else if (text[k] === "}") depth--;
        }
        out.push(text.slice(from, k - 1));
    }
    return out;
}

/** Top-level `name = value` attributes of a block body; a value opening a bracket runs to its match. */
function attributes(body: string): [string, string][] {
    const out: [string, string][] = [];
    let depth = 0;
    const lines = body.split("\n");
    for (let k = 0; k < lines.length; k++) {
        const line = lines[k];
        const m = depth === 0 ? /^\s*([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line) : null;
        if (m) {
            let value = m[2];
            while (balance(value) > 0 && k + 1 < lines.length) value += "\n" + lines[++k];
            out.push([m[1], value.trim()]);
        } else depth += balance(line, "{}");
    }
    return out;
}

/** Open minus closed brackets of the given pairs in `s`. */
function balance(s: string, pairs = "[](){}"): number {
    let n = 0;
    for (const c of s) {
        for (let p = 0; p < pairs.length; p += 2) {
            if (c === pairs[p]) n++;
            else if (c === pairs[p + 1]) n--;
        }
    }
    return n;
}
