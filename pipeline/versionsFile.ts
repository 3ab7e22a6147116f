/**
 * `versions/<stack>.json` as a resource, so that `pulumi destroy` can remove it: a program cannot
 * run code at destroy time, a provider's `delete` can.
 *
 * Verbs → file actions (paths are relative to the provider's working directory, the project root,
 * for both drivers; nothing absolute is stored):
 * - `create` / `update`  write the text (temporary file + rename), unless the file already holds it.
 * - `diff`    a change only when the text or the path changed; a path change replaces (the old file
 *             is deleted after the new one is written). Equal → `changes: false`, so an unchanged
 *             `up` never touches the file.
 * - `read`    a file deleted out of band is reported gone, so `refresh` drops it and `up` rewrites it.
 * - `delete`  removes the file unless `keep` (production stacks keep theirs); a missing file is fine.
 *
 * Serialization rule: methods load `node:fs`/`node:path` with a plain `require` inside the method
 * (never `await import()`, whose `__importStar` helper breaks serialization once tslib is loaded)
 * and capture nothing.
 * Type token: `pulumi-nodejs:dynamic/versions:File`.
 */
import * as pulumi from "@pulumi/pulumi";

/** Arguments of {@link VersionsFile}. */
export interface VersionsFileArgs {
    /** Project-relative path, e.g. `versions/dev-alice.json`. A change replaces the file. */
    path: pulumi.Input<string>;
    /** Full text to write. */
    text: pulumi.Input<string>;
    /** Keep the file when the resource is deleted (production stacks). Defaults to false. */
    keep?: pulumi.Input<boolean>;
}

interface Inputs {
    path: string;
    text: string;
    keep: boolean;
}

type Outputs = Inputs;

class VersionsFileProvider implements pulumi.dynamic.ResourceProvider<Inputs, Outputs> {
    async check(_olds: Inputs, news: Inputs): Promise<pulumi.dynamic.CheckResult<Inputs>> {
        const failures: pulumi.dynamic.CheckFailure[] = [];
        if (typeof news.path !== "string" || news.path === "" || news.path.startsWith("/") || news.path.split("/").includes("..")) {
            failures.push({ property: "path", reason: `"${String(news.path)}" must be a path relative to the project root` });
        }
        return { inputs: { path: news.path, text: news.text, keep: news.keep === true }, failures };
    }

    async diff(_id: string, olds: Outputs, news: Inputs): Promise<pulumi.dynamic.DiffResult> {
        const changed: string[] = [];
        if (olds.path !== news.path) changed.push("path");
        if (olds.text !== news.text) changed.push("text");
        if (olds.keep !== news.keep) changed.push("keep");
        return {
            changes: changed.length > 0,
            replaces: olds.path !== news.path ? ["path"] : [],
            deleteBeforeReplace: false,
        };
    }

    async create(inputs: Inputs): Promise<pulumi.dynamic.CreateResult<Outputs>> {
        await writeIfChanged(inputs.path, inputs.text);
        return { id: inputs.path, outs: { path: inputs.path, text: inputs.text, keep: inputs.keep } };
    }

    async read(id: string, props?: Outputs): Promise<pulumi.dynamic.ReadResult<Outputs>> {
        if (!props) return { id: "" };
        const fs = require("node:fs") as typeof import("node:fs");
        try {
            const text = await fs.promises.readFile(props.path, "utf8");
            return { id, props: { ...props, text } };
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code === "ENOENT") return { id: "", props };
            throw e;
        }
    }

    async update(_id: string, _olds: Outputs, news: Inputs): Promise<pulumi.dynamic.UpdateResult<Outputs>> {
        await writeIfChanged(news.path, news.text);
        return { outs: { path: news.path, text: news.text, keep: news.keep } };
    }

    async delete(_id: string, props: Outputs): Promise<void> {
        if (props.keep) return;
        const fs = require("node:fs") as typeof import("node:fs");
        await fs.promises.rm(props.path, { force: true });
    }
}

/** Writes `text` to `file` atomically, creating folders; does nothing when the file already holds it. */
async function writeIfChanged(file: string, text: string): Promise<void> {
    const fs = require("node:fs") as typeof import("node:fs");
    const path = require("node:path") as typeof import("node:path");
    try {
        if ((await fs.promises.readFile(file, "utf8")) === text) return;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp-${process.pid}`;
    await fs.promises.writeFile(tmp, text, { mode: 0o644 });
    await fs.promises.rename(tmp, file);
}

/** Shared by every VersionsFile: the SDK serializes a provider once per object. Stateless. */
const PROVIDER = new VersionsFileProvider();

/** The stack's versions file. Type token `pulumi-nodejs:dynamic/versions:File`. */
export class VersionsFile extends pulumi.dynamic.Resource {
    /** Project-relative path of the file. */
    declare readonly path: pulumi.Output<string>;
    /** The text written. */
    declare readonly text: pulumi.Output<string>;

    constructor(name: string, args: VersionsFileArgs, opts?: pulumi.CustomResourceOptions) {
        super(PROVIDER, name, { keep: false, ...args }, opts, "versions", "File");
    }
}

export { VersionsFileProvider };
