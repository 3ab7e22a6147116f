/**
 * Reading what provisioning left in a stopped sandbox: the overlay's upper dir over the shared
 * Debian root. The merged view is gone once the sandbox stops, so a path's fate is computed the
 * way overlayfs does: an entry in the upper dir wins (a 0:0 character device is a deletion, a
 * "whiteout"), else the lower root's entry shows through. Opaque dirs are not used by the
 * provisioning scripts (they never replace a whole lower dir), so they are not handled.
 */
import * as fs from "node:fs";
import * as path from "node:path";

function lstat(p: string): fs.Stats | undefined {
    try {
        return fs.lstatSync(p);
    } catch {
        return undefined;
    }
}

function isWhiteout(st: fs.Stats): boolean {
    return st.isCharacterDevice() && st.rdev === 0;
}

export class SandboxView {
    constructor(
        readonly upper: string,
        readonly lower: string,
    ) {}

    /** What the merged root shows at `rel`: "upper", "lower" or undefined (absent or deleted). */
    where(rel: string): "upper" | "lower" | undefined {
        const parts = rel.split("/").filter(Boolean);
        // A deleted ancestor hides everything below it.
        for (let i = 1; i < parts.length; i++) {
            const st = lstat(path.join(this.upper, ...parts.slice(0, i)));
            if (st && isWhiteout(st)) return undefined;
        }
        const up = lstat(path.join(this.upper, ...parts));
        if (up) return isWhiteout(up) ? undefined : "upper";
        return lstat(path.join(this.lower, ...parts)) ? "lower" : undefined;
    }

    exists(rel: string): boolean {
        return this.where(rel) !== undefined;
    }

    /** Written (or changed) by the provisioning: present in the upper dir. */
    written(rel: string): boolean {
        return this.where(rel) === "upper";
    }

    read(rel: string): string {
        const w = this.where(rel);
        if (!w) throw new Error(`${rel} does not exist in the sandbox`);
        return fs.readFileSync(path.join(w === "upper" ? this.upper : this.lower, rel), "utf8");
    }

    readlink(rel: string): string | undefined {
        const w = this.where(rel);
        if (!w) return undefined;
        return fs.readlinkSync(path.join(w === "upper" ? this.upper : this.lower, rel));
    }

    /** Names in a directory of the merged view. */
    list(rel: string): string[] {
        const names = new Set<string>();
        for (const base of [this.lower, this.upper]) {
            try {
                for (const n of fs.readdirSync(path.join(base, rel))) names.add(n);
            } catch {
                /* absent on this layer */
            }
        }
        return [...names].filter((n) => this.exists(path.join(rel, n))).sort();
    }
}
