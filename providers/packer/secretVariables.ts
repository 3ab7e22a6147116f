/**
 * Packer variables that hold a secret never go into a file: they travel in Packer's environment
 * (`PKR_VAR_<name>`, which Packer reads like a var file, below any `-var-file`), so a build killed
 * with SIGKILL (whose `finally` never runs) leaves no var file with a secret in it. Pure.
 *
 * Packer takes an environment value of a string variable as is, and of any other type as an HCL
 * expression: {@link hclValue} writes one (JSON's shape, which HCL accepts, with HCL's escapes).
 */

/** An HCL expression for a JSON-like value: strings quoted with HCL escapes, `${`/`%{` doubled. */
export function hclValue(v: unknown): string {
    if (typeof v === "string") {
        const quoted = JSON.stringify(v).replace(/\\b/g, "\\u0008").replace(/\\f/g, "\\u000c");
        return quoted.replace(/\$\{/g, () => "$${").replace(/%\{/g, () => "%%{");
    }
    if (typeof v === "number" || typeof v === "boolean") return String(v);
    if (v === null || v === undefined) return "null";
    if (Array.isArray(v)) return `[${v.map(hclValue).join(", ")}]`;
    return `{${Object.entries(v as Record<string, unknown>)
        .map(([k, x]) => `${hclValue(k)}: ${hclValue(x)}`)
        .join(", ")}}`;
}

/**
 * Splits the variables: each one whose value contains a non-empty `secrets` value (anywhere in it)
 * goes to `env` as `PKR_VAR_<name>` (a string as is, anything else as {@link hclValue}); the rest
 * stay in `file`.
 */
export function splitSecretVariables(
    vars: Record<string, unknown>,
    secrets: readonly string[],
): { file: Record<string, unknown>; env: Record<string, string> } {
    const lits = secrets.filter((s) => s.length > 0);
    const file: Record<string, unknown> = {};
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(vars)) {
        const text = typeof v === "string" ? v : JSON.stringify(v ?? null);
        if (lits.some((s) => text.includes(s))) env[`PKR_VAR_${k}`] = typeof v === "string" ? v : hclValue(v);
        else file[k] = v;
    }
    return { file, env };
}
