/**
 * What makes a stack local: `local` and `local-*` live in the repository's file backend,
 * `.pulumi-state/`, with a fixed passphrase (README). Dependency-free (node's fs and path only), so
 * the janitor can use it without loading the Automation API that scripts/stack.ts needs.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** The local file backend's folder, relative to the repository root. */
export const LOCAL_STATE_DIR = ".pulumi-state";

/** Local stacks live in the repo's ignored file backend. */
export function isLocalStack(name: string): boolean {
    return name === "local" || name.startsWith("local-");
}

/** What a stack's checkpoint in a file backend records. */
export interface Checkpoint {
    pendingOperations: { type: string; urn: string }[];
    resources: { urn: string; type: string; id?: string }[];
}

/**
 * A stack's checkpoint in the file backend at `backendDir` (`.pulumi/stacks/<project>/<stack>.json`),
 * or undefined when the stack has none yet.
 */
export function stackCheckpoint(backendDir: string, project: string, stack: string): Checkpoint | undefined {
    const file = path.join(backendDir, ".pulumi", "stacks", project, `${stack}.json`);
    if (!fs.existsSync(file)) return undefined;
    const doc = JSON.parse(fs.readFileSync(file, "utf8")) as {
        checkpoint?: {
            latest?: { resources?: Checkpoint["resources"]; pending_operations?: { type: string; resource: { urn: string } }[] };
        };
    };
    const latest = doc.checkpoint?.latest ?? {};
    return {
        pendingOperations: (latest.pending_operations ?? []).map((o) => ({ type: o.type, urn: o.resource.urn })),
        resources: latest.resources ?? [],
    };
}

/** The checkpoint records something: a resource, or an operation an interrupted run left pending. */
export function recordsResources(cp: Checkpoint | undefined): boolean {
    return cp !== undefined && (cp.resources.length > 0 || cp.pendingOperations.length > 0);
}
