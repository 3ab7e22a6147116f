/**
 * The serialized text of a dynamic provider (the `__provider` input), remembered on disk between
 * processes. `pulumi.dynamic.Resource` serializes a provider's closure once per provider object
 * per process: for the image provider (~90 KB, ~75 functions) that is ~250 ms warm and ~600 ms in
 * a fresh process, paid by every `npm run stack -- up` and by each of `pulumi up`'s two program
 * runs before the engine sees the resource. The text is a function of the provider's source, the
 * SDK's serializer and Node, so it is kept under a key made of exactly those:
 * every file under providers/, pipeline/inputs.ts (the config table, whose defaults and rules the
 * image provider's text holds), both tsconfigs, package-lock.json and the Node version.
 *
 * Side effect: the first process to serialize a given source writes the text; later ones read it.
 * So every driver stores the same text for the same code (no spurious `__provider` update when
 * switching between `pulumi up` and the stack driver). Runs in the program's process only; never
 * referenced by a provider method (so never itself serialized).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

import * as pulumi from "@pulumi/pulumi";

/** Project-relative folder of the remembered texts (git-ignored under .build/). */
export const PROVIDER_TEXT_DIR = ".build/provider";

/** What the serialized text depends on, hashed. Pure apart from reading `files`. */
export function providerTextKey(files: readonly { path: string; content: Buffer | string }[], nodeVersion: string): string {
    const h = createHash("sha256");
    h.update(`node ${nodeVersion}\n`);
    for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
        const c = typeof f.content === "string" ? f.content : new Uint8Array(f.content);
        h.update(`${f.path}\n${createHash("sha256").update(c).digest("hex")}\n`);
    }
    return h.digest("hex");
}

/** The files {@link providerTextKey} covers, read relative to `root`. */
export function providerTextSources(root: string): { path: string; content: Buffer }[] {
    const out: { path: string; content: Buffer }[] = [];
    const walk = (rel: string): void => {
        for (const e of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
            const r = `${rel}/${e.name}`;
            if (e.isDirectory()) walk(r);
            else if (e.isFile()) out.push({ path: r, content: fs.readFileSync(path.join(root, r)) });
        }
    };
    walk("providers");
    for (const f of ["pipeline/inputs.ts", "tsconfig.json", "tsconfig.pulumi.json", "package-lock.json"])
        if (fs.existsSync(path.join(root, f))) out.push({ path: f, content: fs.readFileSync(path.join(root, f)) });
    return out;
}

const memo = new Map<string, Promise<string>>();
/** Root → key. The provider code a process has loaded cannot change while it runs: hash once. */
const keys = new Map<string, string>();

/** Serializes exactly as `pulumi.dynamic.Resource` does (same closure shape, same variable name). */
function serialize(provider: object): Promise<pulumi.runtime.SerializedFunction> {
    return pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
}

/**
 * The provider's serialized text for `name`, from `root/.build/provider/<name>-<key>.js` when a
 * process already wrote it, else serialized now (as `dynamic.Resource` does) and written
 * atomically. `provider` is called only then, so its module need not even be loaded otherwise.
 * A provider whose closure captured a secret is never written to disk.
 */
export function providerText(name: string, provider: () => object, root: string = process.cwd()): pulumi.Output<string> {
    let key = keys.get(root);
    if (key === undefined) {
        key = providerTextKey(providerTextSources(root), process.version);
        keys.set(root, key);
    }
    const file = path.join(root, PROVIDER_TEXT_DIR, `${name}-${key.slice(0, 32)}.js`);
    let text = memo.get(file);
    if (!text) {
        text = (async () => {
            try {
                return fs.readFileSync(file, "utf8");
            } catch {
                /* not remembered yet */
            }
            const sf = await serialize(provider());
            if (sf.containsSecrets) throw new Error(`the ${name} provider's closure captured a secret: it must capture plain data only`);
            fs.mkdirSync(path.dirname(file), { recursive: true });
            const tmp = `${file}.${process.pid}.tmp`;
            fs.writeFileSync(tmp, sf.text);
            fs.renameSync(tmp, file);
            return sf.text;
        })();
        memo.set(file, text);
    }
    return pulumi.output(text);
}
