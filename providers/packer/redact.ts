/**
 * Masks secrets in streamed lines (Packer's output) before they reach the console or a log file.
 * Pure: `createRedactor` returns a line function whose only state is "inside a private key block".
 */

const MASK = "[REDACTED]";

const PATTERNS: readonly [RegExp, string][] = [
    // AWS access key ids (long-term AKIA, temporary ASIA, and the other documented prefixes).
    [/\b(AKIA|ASIA|AIDA|AROA|ANPA|AGPA)[A-Z0-9]{16}\b/g, MASK],
    // key = value / key: value / "key":"value" for secret-looking keys.
    [
        /((?:aws_?)?(?:secret(?:_?access)?_?key|session_?token|security_?token|password|passwd|private_?key|token|api_?key|client_?secret)["']?\s*[:=]\s*["']?)([^\s"',;]+)/gi,
        `$1${MASK}`,
    ],
    // SigV4 signatures and credentials in Authorization headers.
    [/(Signature=)[0-9a-f]{16,}/gi, `$1${MASK}`],
    [/(Credential=)[A-Z0-9]{16,}/g, `$1${MASK}`],
    // A bare 40-character AWS secret key next to the word "secret".
    [/(secret\S*\s+)[A-Za-z0-9/+]{40}\b/gi, `$1${MASK}`],
];

/**
 * Returns a function that redacts one line at a time. `secrets` are literal values to mask
 * wherever they appear (e.g. the current `AWS_SECRET_ACCESS_KEY`, a config value set as secret),
 * whatever their length, as Pulumi masks every secret value in its own output. A short secret
 * ("abc") then also masks that text where it is not the secret (inside a word, a path or an id):
 * a log that hides a little too much is readable still, while a log that shows the secret has
 * leaked it, and a value someone marked secret is never ours to judge too short to matter. Only
 * the empty string is skipped (it is in every line and masks nothing). Longer values are masked
 * first, so a secret that contains another is masked whole.
 */
export function createRedactor(secrets: readonly string[] = []): (line: string) => string {
    const literals = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
    let inKey = false;
    return (line: string): string => {
        if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(line)) {
            inKey = !/-----END [A-Z0-9 ]*PRIVATE KEY-----/.test(line);
            return line.replace(/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*$/, `${MASK} (private key)`);
        }
        if (inKey) {
            if (/-----END [A-Z0-9 ]*PRIVATE KEY-----/.test(line)) inKey = false;
            return MASK;
        }
        let out = line;
        for (const s of literals) out = out.split(s).join(MASK);
        for (const [re, rep] of PATTERNS) out = out.replace(re, rep);
        return out;
    };
}

/** Redacts a whole multi-line text at once. */
export function redactText(text: string, secrets: readonly string[] = []): string {
    const r = createRedactor(secrets);
    return text.split("\n").map(r).join("\n");
}
