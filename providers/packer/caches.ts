/**
 * The image provider's caches on disk (under .build/check/): what `packer version` and `packer
 * plugins installed` said, remembered under the identity of the packer binary and the plugin
 * folder. (The other cache, `packer validate`'s pass stamp, is written by `check` in
 * provider.ts.) Serialized with the provider: loads modules inside functions (host.ts `load`).
 */
import { parsePackerVersion, parsePluginVersion } from "./argv";
import { redactText } from "./redact";
import { capturePacker } from "./run";
import { load } from "./host";

/** Packer's and the amazon plugin's versions, from the `packer` on PATH. */
export async function toolVersions(env: Record<string, string>): Promise<{ packer: string; plugin: string }> {
    const fs = load<typeof import("node:fs")>("node:fs");
    // Asking Packer costs two processes (~0.3 s) on every check and create; the answer only changes
    // when the packer binary or the plugin folder does, so remember it under their identity.
    const key = toolsKey(env);
    const cacheFile = ".build/check/tools.json";
    if (key) {
        try {
            const c = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { key: string; packer: string; plugin: string };
            if (c.key === key && c.packer && c.plugin) return { packer: c.packer, plugin: c.plugin };
        } catch {
            /* no cache yet */
        }
    }
    const cp = load<typeof import("node:child_process")>("node:child_process");
    const [v, p] = await Promise.all([capturePacker(cp, ["version"], env), capturePacker(cp, ["plugins", "installed"], env)]);
    const packer = parsePackerVersion(v.stdout);
    if (v.code !== 0 || !packer) throw new Error(`packer version failed (exit ${v.code}): ${redactText(v.stdout + v.stderr).trim()}`);
    const plugin = parsePluginVersion(p.stdout) ?? "none";
    if (key) {
        fs.mkdirSync(".build/check", { recursive: true });
        fs.writeFileSync(cacheFile, JSON.stringify({ key, packer, plugin }));
    }
    return { packer, plugin };
}

/**
 * Identity of the tools `packer version` and `packer plugins installed` describe: the real path,
 * size and mtime of the `packer` found on PATH, and every file (path, size, mtime) under
 * PACKER_PLUGIN_PATH. Undefined (no caching) when packer is not on PATH or plugins live in
 * Packer's default folders.
 */
function toolsKey(env: Record<string, string>): string | undefined {
    const fs = load<typeof import("node:fs")>("node:fs");
    const path = load<typeof import("node:path")>("node:path");
    const pluginDir = env.PACKER_PLUGIN_PATH;
    if (!pluginDir) return undefined;
    let exe: string | undefined;
    for (const dir of (env.PATH ?? "").split(":")) {
        const f = path.join(dir || ".", "packer");
        try {
            fs.accessSync(f, fs.constants.X_OK);
            if (fs.statSync(f).isFile()) {
                exe = fs.realpathSync(f);
                break;
            }
        } catch {
            /* not here */
        }
    }
    if (!exe) return undefined;
    const st = fs.statSync(exe);
    const plugins: string[] = [];
    const walk = (dir: string): void => {
        let entries: import("node:fs").Dirent[];
        try {
            entries = fs.readdirSync(dir, { withFileTypes: true });
        } catch {
            return;
        }
        for (const e of entries.sort((x, y) => (x.name < y.name ? -1 : 1))) {
            const f = path.join(dir, e.name);
            if (e.isDirectory()) walk(f);
            else {
                const s = fs.statSync(f);
                plugins.push(`${f}:${s.size}:${s.mtimeMs}`);
            }
        }
    };
    walk(pluginDir);
    return JSON.stringify({ exe, size: st.size, mtime: st.mtimeMs, pluginDir, plugins });
}
