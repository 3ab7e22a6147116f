/**
 * What makes a stack local: `local` and `local-*` live in the repository's file backend,
 * `.pulumi-state/`, with a fixed passphrase (README). Pure and dependency-free, so the janitor can
 * use it without loading the Automation API that scripts/stack.ts needs.
 */

/** The local file backend's folder, relative to the repository root. */
export const LOCAL_STATE_DIR = ".pulumi-state";

/** Local stacks live in the repo's ignored file backend. */
export function isLocalStack(name: string): boolean {
    return name === "local" || name.startsWith("local-");
}
