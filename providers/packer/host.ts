/**
 * What the Packer providers' methods (the image's and the boot test's) take from the process they
 * run in: load a module, print a line, and the secret values the environment holds. A module of
 * its own so that provider.ts, build.ts, caches.ts and providers/bootTestProvider.ts share them;
 * every function here is serialized into the provider's text (`__provider`), so it captures nothing.
 */

/**
 * Loads a module inside a method: a plain CommonJS `require` (no interop helper with hidden state),
 * typed by the caller. Serialized as `require(name)`, resolved by the provider host.
 */
export function load<T>(name: string): T {
    return require(name) as T;
}

/** Writes a line to the console, prefixed, so it streams live into `pulumi up`. */
export function say(msg: string): void {
    console.log(`packer-image: ${msg}`);
}

/**
 * Literal secret values that must never be printed: the environment's credentials and the
 * values of config keys set as secrets (`secretValues`, when the inputs carry them).
 */
export function envSecrets(secretValues?: unknown): string[] {
    const fromConfig = Array.isArray(secretValues) ? secretValues.filter((v): v is string => typeof v === "string") : [];
    return ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "PKR_VAR_ssh_password"]
        .map((k) => process.env[k] ?? "")
        .concat(fromConfig)
        .filter((v) => v !== "");
}
