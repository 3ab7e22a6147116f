/**
 * What the config table (pipeline/inputs.ts) generates: the `config:` block of Pulumi.yaml and
 * the key tables of README.md and docs/program.md. Pure text functions; scripts/gen-config.ts
 * writes the files (`npm run gen:config`) and test/unit/config-inputs.test.ts fails when a file
 * differs from what these return.
 */
import { CONFIG_KEYS, INPUTS, type InputSpec } from "./inputs";

/** Where a generated block starts and ends in a Markdown file. */
export const TABLE_BEGIN = "<!-- BEGIN config keys: generated from pipeline/inputs.ts by `npm run gen:config`; edit the table there -->";
export const TABLE_END = "<!-- END config keys -->";

/** The line Pulumi.yaml's generated part starts with; everything from it to the end is generated. */
export const YAML_BEGIN = "# BEGIN config keys: generated from pipeline/inputs.ts by `npm run gen:config`; edit the table there.";

const spec = (k: (typeof CONFIG_KEYS)[number]): InputSpec => INPUTS[k];

/** A YAML scalar: plain where that reads back as the same string, else JSON (a YAML subset). */
function yamlScalar(v: unknown): string {
    if (typeof v === "string") {
        const plain = /^[A-Za-z][A-Za-z0-9._/:*-]*$/.test(v) && !/^(true|false|yes|no|on|off|null|y|n)$/i.test(v) && !v.includes(": ");
        return plain ? v : JSON.stringify(v);
    }
    return JSON.stringify(v);
}

/** `text` folded into lines of at most `width` characters (after `indent`), split at single spaces. */
function fold(text: string, indent: string, width = 100): string[] {
    const lines: string[] = [];
    let line = "";
    for (const word of text.split(" ")) {
        if (line !== "" && indent.length + line.length + 1 + word.length > width) {
            lines.push(indent + line);
            line = word;
        } else line = line === "" ? word : `${line} ${word}`;
    }
    if (line !== "") lines.push(indent + line);
    return lines;
}

/** The sentence Pulumi.yaml adds to a description, from the key's `rebuild`. */
export function rebuildSentence(r: string): string {
    const [head, ...rest] = r.split(": ");
    const why = rest.length ? ` (${rest.join(": ")})` : "";
    if (head === "yes") return `Forces a rebuild${why}.`;
    if (head === "tags") return "Tags only, no rebuild.";
    return `No rebuild${why}.`;
}

/**
 * Pulumi.yaml's `config:` block: for each key its type (`items` for arrays), description (folded,
 * so it reads back as the exact string) and default. Descriptions must be one paragraph: no
 * newlines, no double spaces (a unit test checks).
 */
export function renderPulumiConfig(): string {
    const out: string[] = [YAML_BEGIN, "config:"];
    for (const k of CONFIG_KEYS) {
        const s = spec(k);
        out.push(`  ${k}:`, `    type: ${s.type}`);
        if (s.type === "array") out.push("    items:", "      type: string");
        out.push("    description: >-", ...fold(`${s.description} ${rebuildSentence(s.rebuild)}`, "      "));
        out.push(`    default: ${yamlScalar(s.default)}`);
    }
    return out.join("\n") + "\n";
}

/** A table cell: pipes escaped. */
function cell(text: string): string {
    return text.replace(/\|/g, "\\|");
}

/** The description's first sentence (README's summary column). */
export function firstSentence(text: string): string {
    const m = /(?<!\be\.g|\bi\.e|\.\.)\.\s+(?=[A-Z0-9"`])/.exec(text);
    return m ? text.slice(0, m.index + 1) : text;
}

/**
 * One Markdown table with a row per key: key, default, description (README: its first sentence;
 * docs/program.md: all of it), whether a change rebuilds the image.
 */
export function renderKeyTable(kind: "readme" | "reference"): string {
    const rows = [
        kind === "readme" ? "| Key | Default | Meaning | Change forces a new image? |" : "| Key | Default | Meaning | Rebuild? |",
        "|---|---|---|---|",
    ];
    for (const k of CONFIG_KEYS) {
        const s = spec(k);
        const text = kind === "readme" ? firstSentence(s.description) : s.description;
        const d = typeof s.default === "string" && s.default !== "" ? s.default : JSON.stringify(s.default);
        rows.push(`| \`${k}\` | \`${cell(d)}\` | ${cell(text)} | ${cell(s.rebuild)} |`);
    }
    return [TABLE_BEGIN, ...rows, TABLE_END].join("\n");
}

/** `file`'s text with its generated block replaced by `block` (markers included); throws when the markers are missing. */
export function replaceBlock(file: string, text: string, block: string): string {
    const a = text.indexOf(TABLE_BEGIN);
    const b = text.indexOf(TABLE_END);
    if (a < 0 || b < a) throw new Error(`${file}: no generated config table (the lines ${TABLE_BEGIN} … ${TABLE_END})`);
    return text.slice(0, a) + block + text.slice(b + TABLE_END.length);
}

/** Pulumi.yaml's text with everything from {@link YAML_BEGIN} (or from `config:`) replaced by the generated block. */
export function replacePulumiConfig(text: string): string {
    let a = text.indexOf(YAML_BEGIN);
    if (a < 0) a = text.search(/^config:\s*$/m);
    if (a < 0) throw new Error("Pulumi.yaml: no config: block");
    return text.slice(0, a) + renderPulumiConfig();
}

/** The generated files, as they should be: path → text, given their current texts. */
export function generatedFiles(read: (file: string) => string): Record<string, string> {
    return {
        "Pulumi.yaml": replacePulumiConfig(read("Pulumi.yaml")),
        "README.md": replaceBlock("README.md", read("README.md"), renderKeyTable("readme")),
        "docs/program.md": replaceBlock("docs/program.md", read("docs/program.md"), renderKeyTable("reference")),
    };
}
