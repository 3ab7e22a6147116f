/**
 * Which folders hold versions files, from the texts of the project's Pulumi config files. Pure: file
 * texts in, folders out, or an error naming the file and line.
 *
 * `versions/` always, plus every `versionsDir` (`<project>:versionsDir`, the legacy
 * `<project>:config:versionsDir`, or the bare key, which Pulumi puts in the project's namespace)
 * that `Pulumi.yaml`'s `config:` block declares (its `default`, `value` or shorthand scalar) or a
 * `Pulumi.<stack>.yaml`'s `config:` block sets.
 *
 * The reader is deliberately small (no YAML dependency). It understands a file's top-level mapping
 * and its `config:` block: plain, single- or double-quoted keys and scalars, comments, and nested
 * values, which it skips for every other key. Anything it cannot read where a versionsDir could be
 * (a key it cannot parse, an anchor, alias, tag, block or flow value, a secret, a multi-line
 * scalar, a stack config folder elsewhere, ESC environments) is an error: better no sweep than a
 * sweep that missed a pin.
 */
import * as path from "node:path";
import { relativePathProblem } from "../providers/packer/validate";

/** Where the program writes versions files unless a stack says otherwise; always read. */
export const DEFAULT_VERSIONS_DIR = "versions";

/** One config file: its name as errors show it (e.g. `Pulumi.dev.yaml`) and its text. */
export interface ConfigFile {
    name: string;
    text: string;
}

/** A versions folder (project-relative, normalized) and every place that names it. */
export interface VersionsDir {
    dir: string;
    /** `file:line` of each setting, or `always` for `versions/`. */
    from: string[];
}

interface Line {
    no: number;
    indent: number;
    text: string;
}

interface Entry {
    key: string;
    line: number;
    /** Text after `key:` (comments not yet removed). */
    inline: string;
    /** More indented lines that follow (the entry's nested value), and indentless `- ` items. */
    body: Line[];
}

function fail(file: string, line: number, msg: string): never {
    throw new Error(`${file}:${line}: ${msg}`);
}

/** Content lines (no blank or comment-only lines), with one leading `---` allowed. */
function contentLines(file: string, text: string): Line[] {
    const out: Line[] = [];
    const raw = text.replace(/^\uFEFF/, "").split(/\r?\n/);
    raw.forEach((r, i) => {
        const no = i + 1;
        const t = r.replace(/\s+$/, "");
        const trimmed = t.trimStart();
        if (trimmed === "" || trimmed.startsWith("#")) return;
        const indent = t.length - t.replace(/^ +/, "").length;
        if (indent === 0 && /^(---|\.\.\.)(\s|$)/.test(t)) {
            if (t.startsWith("---") && out.length === 0 && /^---\s*(#.*)?$/.test(t)) return;
            fail(file, no, `"${t}": only one plain YAML document is readable here`);
        }
        if (indent === 0 && t.startsWith("%")) fail(file, no, `"${t}": YAML directives are not readable here`);
        out.push({ no, indent, text: t.slice(indent) });
    });
    return out;
}

const DQ_ESCAPES: Record<string, string> = {
    "0": "\0",
    a: "\x07",
    b: "\b",
    t: "\t",
    "\t": "\t",
    n: "\n",
    v: "\v",
    f: "\f",
    r: "\r",
    e: "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    N: "\x85",
    _: "\xa0",
};

/** A double-quoted scalar at the start of `s` (closed on this line), or undefined. */
function doubleQuoted(s: string): { value: string; rest: string } | undefined {
    let value = "";
    for (let i = 1; i < s.length; i++) {
        const c = s[i];
        if (c === '"') return { value, rest: s.slice(i + 1) };
        if (c !== "\\") {
            value += c;
            continue;
        }
        const e = s[++i];
        if (e === undefined) return undefined;
        const hex = e === "x" ? 2 : e === "u" ? 4 : e === "U" ? 8 : 0;
        if (hex) {
            const h = s.slice(i + 1, i + 1 + hex);
            if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(h)) return undefined;
            value += String.fromCodePoint(parseInt(h, 16));
            i += hex;
        } else if (e in DQ_ESCAPES) value += DQ_ESCAPES[e];
        else return undefined;
    }
    return undefined;
}

/** A single-quoted scalar at the start of `s` (closed on this line), or undefined. */
function singleQuoted(s: string): { value: string; rest: string } | undefined {
    let value = "";
    for (let i = 1; i < s.length; i++) {
        if (s[i] !== "'") value += s[i];
        else if (s[i + 1] === "'") {
            value += "'";
            i++;
        } else return { value, rest: s.slice(i + 1) };
    }
    return undefined;
}

/** `key: rest` → key and rest; undefined when the line is not a simple mapping entry. */
function splitKey(text: string): { key: string; rest: string } | undefined {
    if (text.startsWith('"') || text.startsWith("'")) {
        const q = text.startsWith('"') ? doubleQuoted(text) : singleQuoted(text);
        const m = q && /^\s*:(?:\s+(.*))?$/.exec(q.rest);
        return q && m ? { key: q.value, rest: m[1] ?? "" } : undefined;
    }
    // A plain key: no indicator first, no comment, ends at the first ":" followed by a space or the end.
    const m = /^([^\s"'#&*!|>%@`{}[\],?:-][^#]*?|-[^\s#][^#]*?)\s*:(?:\s+(.*))?$/.exec(text);
    return m ? { key: m[1], rest: m[2] ?? "" } : undefined;
}

/** The entries of a block mapping whose first line is `lines[0]`. */
function mapping(file: string, lines: Line[]): Entry[] {
    const out: Entry[] = [];
    const indent = lines[0]?.indent ?? 0;
    for (const l of lines) {
        const last = out[out.length - 1];
        if (last && (l.indent > indent || (l.indent === indent && /^-(\s|$)/.test(l.text)))) {
            last.body.push(l);
            continue;
        }
        if (l.indent < indent) fail(file, l.no, "is indented less than the lines before it");
        if (l.text.startsWith("\t")) fail(file, l.no, "indents with a tab");
        const kv = splitKey(l.text);
        if (!kv || (kv.key === "<<" && !/^["']/.test(l.text))) fail(file, l.no, `cannot read "${l.text}" as a "key: value" line`);
        out.push({ key: kv.key, line: l.no, inline: kv.rest, body: [] });
    }
    return out;
}

type Scalar = { kind: "none" } | { kind: "text"; value: string };

/** The entry's inline scalar, or "none" when the value is nested (or null). Throws on anything else. */
function scalar(file: string, e: Entry, what: string): Scalar {
    const s = e.inline;
    if (s === "" || s.startsWith("#")) return { kind: "none" };
    if (s.startsWith('"') || s.startsWith("'")) {
        const q = s.startsWith('"') ? doubleQuoted(s) : singleQuoted(s);
        if (!q) fail(file, e.line, `${what}: cannot read the quoted value ${s} (it must close on the same line)`);
        if (!/^(\s+#.*)?$/.test(q.rest)) fail(file, e.line, `${what}: unexpected text after the quoted value: ${q.rest.trim()}`);
        if (e.body.length) fail(file, e.line, `${what}: unexpected lines after the value (line ${e.body[0].no})`);
        return { kind: "text", value: q.value };
    }
    if (/^[&*!|>{[@`%]/.test(s))
        fail(
            file,
            e.line,
            `${what}: cannot read "${s}" (anchors, aliases, tags, block scalars and flow collections are not read here): write a plain or quoted string`,
        );
    const value = s.replace(/\s+#.*$/, "").trim();
    if (e.body.length) fail(file, e.line, `${what}: cannot read a value that continues on line ${e.body[0].no}: write it on one line`);
    if (/:\s/.test(value) || value.endsWith(":")) fail(file, e.line, `${what}: cannot read "${value}": quote it`);
    if (/^(~|null|Null|NULL)$/.test(value)) return { kind: "none" };
    return { kind: "text", value };
}

/** The folders one versionsDir entry names. Project files declare (default/value), stack files set. */
function entryValues(file: string, e: Entry, projectFile: boolean): string[] {
    const v = scalar(file, e, e.key);
    if (v.kind === "text") return [v.value];
    if (!e.body.length) fail(file, e.line, `${e.key} has no value: set a folder, or remove the line`);
    if (/^-(\s|$)/.test(e.body[0].text)) fail(file, e.line, `${e.key} is a list: set one folder`);
    const children = mapping(file, e.body);
    if (children.some((c) => c.key === "secure"))
        fail(file, e.line, `${e.key} is a secret, which the janitor cannot read: set it in plain text`);
    if (!projectFile) fail(file, e.line, `${e.key} is an object: set one folder`);
    const out: string[] = [];
    for (const c of children) {
        if (c.key !== "default" && c.key !== "value") continue;
        const cv = scalar(file, c, `${e.key}.${c.key}`);
        if (cv.kind === "text") out.push(cv.value);
        else if (c.body.length) fail(file, c.line, `${e.key}.${c.key} is not a string: set one folder`);
    }
    return out;
}

/** The `config:` entries of a file, after its top-level checks. */
function configEntries(f: ConfigFile, projectFile: boolean): { name?: string; entries: Entry[] } {
    const top = mapping(f.name, contentLines(f.name, f.text));
    let name: string | undefined;
    let entries: Entry[] = [];
    for (const t of top) {
        if (t.key === "stackConfigDir")
            fail(
                f.name,
                t.line,
                "stackConfigDir moves the stack files, which the janitor reads at the project root only: keep them there, or teach janitor/sources.ts the folder",
            );
        if (!projectFile && t.key === "environment")
            fail(
                f.name,
                t.line,
                "imports Pulumi ESC environments, whose values (a versionsDir among them) the janitor cannot read: set versionsDir in this file",
            );
        if (projectFile && t.key === "name") {
            const v = scalar(f.name, t, "name");
            if (v.kind === "text") name = v.value;
        }
        if (t.key !== "config") continue;
        const inline = t.inline
            .replace(/^#.*$/, "")
            .replace(/\s+#.*$/, "")
            .trim();
        if (inline === "{}") continue;
        if (inline !== "")
            fail(
                f.name,
                t.line,
                `config: "${inline}" is not a block mapping the janitor can read${projectFile ? " (a string here is the old form of stackConfigDir)" : ""}`,
            );
        if (t.body.length) entries = entries.concat(mapping(f.name, t.body));
    }
    return { name, entries };
}

/** Normalizes a versionsDir value; throws when it leaves the project (the program's own rule). */
function folder(where: string, key: string, value: string): string | undefined {
    if (value === "") return undefined; // unset: the program refuses an empty folder, so nothing is written there
    const problem = relativePathProblem(value);
    if (problem) throw new Error(`${where}: ${key} ${problem}`);
    const dir = path.posix.normalize(value).replace(/\/+$/, "");
    return dir === "" ? "." : dir;
}

/**
 * Every versions folder: `versions` first, then each configured versionsDir, sorted, each with the
 * places naming it. `project` is `Pulumi.yaml` (undefined when absent); its `name:` is the config
 * namespace (else `fallbackProject`). Throws an error naming the file and line on anything unreadable
 * or a folder outside the project.
 */
export function versionsDirs(project: ConfigFile | undefined, stacks: readonly ConfigFile[], fallbackProject: string): VersionsDir[] {
    const found = new Map<string, string[]>([[DEFAULT_VERSIONS_DIR, ["always"]]]);
    const p = project ? configEntries(project, true) : undefined;
    const ns = p?.name ?? fallbackProject;
    const keys = new Set(["versionsDir", `${ns}:versionsDir`, `${ns}:config:versionsDir`]);
    const files: { f: ConfigFile; entries: Entry[]; projectFile: boolean }[] = [];
    if (project && p) files.push({ f: project, entries: p.entries, projectFile: true });
    for (const s of stacks) files.push({ f: s, entries: configEntries(s, false).entries, projectFile: false });
    for (const { f, entries, projectFile } of files) {
        for (const e of entries) {
            if (!keys.has(e.key)) continue;
            for (const v of entryValues(f.name, e, projectFile)) {
                const dir = folder(`${f.name}:${e.line}`, e.key, v);
                if (dir === undefined) continue;
                found.set(dir, [...(found.get(dir) ?? []), `${f.name}:${e.line}`]);
            }
        }
    }
    const rest = [...found.keys()].filter((d) => d !== DEFAULT_VERSIONS_DIR).sort();
    return [DEFAULT_VERSIONS_DIR, ...rest].map((dir) => ({ dir, from: found.get(dir)! }));
}

/** Stack names of `Pulumi.<stack>.yaml` files among a folder's entries. Pure. */
export function stackConfigFileNames(names: readonly string[]): string[] {
    return names.filter((n) => /^Pulumi\.[^/]+\.yaml$/.test(n)).sort();
}
