/**
 * The two things the image provider's methods do to the process they run in: load a module and
 * print a line. A module of its own so that provider.ts, build.ts and caches.ts share them; every
 * function here is serialized into the provider's text (`__provider`), so it captures nothing.
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
