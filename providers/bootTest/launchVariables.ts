/**
 * The launch variables the boot test shares with the image builder, declared once: in the image
 * template (images/aws/couchbase-cloud.pkr.hcl), never again in the boot test's own template.
 * Pure: the caller reads the files and writes the run's folder.
 *
 * Packer reads one folder, so each boot test run (and each `packer validate` of `check`) runs in a
 * folder the provider assembles: the boot test folder's own top-level files, plus
 * `launch-variables.pkr.hcl`, generated from the `variable` blocks of {@link LAUNCH_VARIABLES} as
 * the image template's folder (the boot test folder's parent, `<templateDir>`) declares them. The
 * image template stays as it is, so its fingerprint (and every stack's image) does not change; the
 * generated file counts in the boot test's checks hash, so a change of a shared declaration
 * re-tests the image (it rebuilds it anyway: the image template is fingerprinted).
 */

/** The generated file's name in a run's folder. */
export const LAUNCH_VARIABLES_FILE = "launch-variables.pkr.hcl";

/**
 * Packer variables the test instance launches with exactly as the builder did (region, instance
 * type, network, SSH, the temporary key pair's name, the local emulator's settings).
 */
export const LAUNCH_VARIABLES: readonly string[] = [
    "region",
    "instance_type",
    "vpc_id",
    "subnet_id",
    "associate_public_ip_address",
    "ssh_interface",
    "ssh_cidrs",
    "ssh_username",
    "temporary_key_pair_name",
    "ec2_endpoint",
    "emulator",
    "ssh_host",
    "ssh_port",
];

/**
 * The top-level `variable "NAME" { … }` blocks of HCL texts (as `packer fmt` writes them: the
 * block opens at the start of a line and closes with a `}` alone at the start of a line), by name,
 * each block's text from `variable` to its closing brace. A name declared twice keeps the first.
 */
export function variableBlocks(hclTexts: readonly string[]): Map<string, string> {
    const out = new Map<string, string>();
    for (const text of hclTexts) {
        const lines = text.split(/\r?\n/);
        for (let n = 0; n < lines.length; n++) {
            const m = /^variable\s+"([^"]+)"\s*\{\s*(\})?\s*$/.exec(lines[n]);
            if (!m) continue;
            let end = n;
            if (m[2] === undefined) {
                while (end < lines.length && lines[end] !== "}") end++;
                if (end === lines.length) continue;
            }
            if (!out.has(m[1])) out.set(m[1], lines.slice(n, end + 1).join("\n"));
            n = end;
        }
    }
    return out;
}

/** The generated file, or the shared variables the image template does not declare. */
export type LaunchFile = { text: string; missing: [] } | { text?: undefined; missing: string[] };

/**
 * `launch-variables.pkr.hcl` for a run: the image template's blocks of {@link LAUNCH_VARIABLES},
 * in that order, under a header naming where they come from (`source`, project-relative).
 */
export function launchVariablesFile(imageTemplateTexts: readonly string[], source: string): LaunchFile {
    const blocks = variableBlocks(imageTemplateTexts);
    const missing = LAUNCH_VARIABLES.filter((v) => !blocks.has(v));
    if (missing.length > 0) return { missing };
    const header = [
        `# Generated for one boot test run from ${source} (providers/bootTest/launchVariables.ts): the`,
        "# launch settings the test instance shares with the builder, as the image template declares",
        "# them (their descriptions say builder: the test instance launches as the builder did). Do not edit.",
    ];
    return { text: `${header.join("\n")}\n\n${LAUNCH_VARIABLES.map((v) => blocks.get(v)).join("\n\n")}\n`, missing: [] };
}

/** One file of a folder (as `readTree` gives it). */
export interface RunFile {
    path: string;
    content: Buffer | string;
    executable: boolean;
}

/**
 * The files of a run's folder: the boot test folder's files (any of its own named
 * {@link LAUNCH_VARIABLES_FILE} replaced) and the generated launch variables. The checks hash is
 * taken over exactly these, and the run's folder is written from them.
 */
export function runFiles<F extends RunFile>(folderFiles: readonly F[], launchText: string): RunFile[] {
    return [
        ...folderFiles.filter((f) => f.path !== LAUNCH_VARIABLES_FILE),
        { path: LAUNCH_VARIABLES_FILE, content: launchText, executable: false },
    ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The image template's folder for a boot test folder: its parent (`images/aws` for `images/aws/boot-test`). */
export function imageTemplateDir(bootTestDir: string): string {
    const d = bootTestDir.replace(/\/+$/, "");
    const slash = d.lastIndexOf("/");
    return slash < 0 ? "." : slash === 0 ? "/" : d.slice(0, slash);
}
