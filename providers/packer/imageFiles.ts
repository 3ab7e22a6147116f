/**
 * Which files of the template folder count for the image's fingerprint: the files the build reads
 * (the `*.pkr.hcl` template, the scripts its provisioners run, the files they upload), not the
 * folder's own CI script, README or test fixtures. Pure: the caller reads the ignore file.
 *
 * The rule: every regular file under the template folder counts, except
 * - the ignore file itself (`.imageignore`), and
 * - files matched by a pattern in it (dockerignore-like, the model is a build context's ignore
 *   file): one pattern per line, relative to the template folder (anchored: `README*` matches
 *   `README.md`, not `files/x/README.md`); blank lines and lines starting with `#` are skipped;
 *   `*` and `?` match within one path segment, `**` any number of segments (so `**` followed by
 *   a `/` and a name matches that name at every depth); a pattern that matches a folder matches
 *   everything under it; a trailing `/` matches folders only; a leading `/` is allowed and changes
 *   nothing; `!pattern` counts a matched file again (the last matching line wins).
 * - Top-level Packer files (`*.pkr.hcl`, `*.pkr.json`, `*.pkrvars.hcl`, `*.pkrvars.json`) always
 *   count: `packer build <folder>` loads them whatever the ignore file says.
 *
 * The ignore file must never list what a provisioner uploads or runs;
 * test/unit/packer/imageFiles.test.ts checks that against the real template and ignore file.
 */

/** Name of the ignore file in the template folder. */
export const IMAGE_IGNORE_FILE = ".imageignore";

/** One parsed line of the ignore file. */
export interface IgnoreRule {
    /** The pattern as written (without `!`, leading and trailing `/`). */
    pattern: string;
    /** `!pattern`: a match counts the file again. */
    negate: boolean;
    /** Trailing `/`: matches folders (and so everything under them) only. */
    dirOnly: boolean;
    /** Anchored regular expression source for one path (file or folder). */
    regex: string;
}

/** Parses ignore file text into rules, in file order. */
export function parseImageIgnore(text: string): IgnoreRule[] {
    const rules: IgnoreRule[] = [];
    for (const raw of text.split(/\r?\n/)) {
        let line = raw.trim();
        if (line === "" || line.startsWith("#")) continue;
        const negate = line.startsWith("!");
        if (negate) line = line.slice(1).trim();
        const dirOnly = line.endsWith("/");
        line = line.replace(/^\/+/, "").replace(/\/+$/, "");
        if (line === "") continue;
        rules.push({ pattern: line, negate, dirOnly, regex: `^${globRegex(line)}$` });
    }
    return rules;
}

/** Glob → regular expression source (not anchored). */
function globRegex(glob: string): string {
    let re = "";
    for (let k = 0; k < glob.length; k++) {
        const c = glob[k];
        if (c === "*" && glob[k + 1] === "*") {
            // `**/` is zero or more folders; `**` elsewhere is anything, slashes included.
            if (glob[k + 2] === "/") {
                re += "(?:.*/)?";
                k += 2;
            } else {
                re += ".*";
                k += 1;
            }
        } else if (c === "*") re += "[^/]*";
        else if (c === "?") re += "[^/]";
        else re += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
    }
    return re;
}

/** A top-level file Packer loads from the template folder itself. */
function isPackerFile(relPath: string): boolean {
    return !relPath.includes("/") && /\.(pkr|pkrvars)\.(hcl|json)$/.test(relPath);
}

/**
 * The filter for one ignore file's text: relative path (forward slashes, no leading `./`) →
 * whether the file counts for the image's fingerprint.
 */
export function imageFileFilter(ignoreText: string): (relPath: string) => boolean {
    const rules = parseImageIgnore(ignoreText).map((r) => ({ ...r, re: new RegExp(r.regex) }));
    return (relPath: string): boolean => {
        if (relPath === IMAGE_IGNORE_FILE) return false;
        if (isPackerFile(relPath)) return true;
        const segments = relPath.split("/");
        // The folders above the file, then the file itself.
        const folders = segments.slice(0, -1).map((_, n) => segments.slice(0, n + 1).join("/"));
        let counts = true;
        for (const r of rules) {
            const hit = folders.some((f) => r.re.test(f)) || (!r.dirOnly && r.re.test(relPath));
            if (hit) counts = r.negate;
        }
        return counts;
    };
}
