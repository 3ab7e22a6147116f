/**
 * Exponential backoff with full jitter for EC2 calls. Pure apart from timers: safe to call from a
 * dynamic provider's methods (no module-level state besides plain data).
 */

/** EC2 error codes that mean "slow down": always retried. */
export const THROTTLING_CODES: readonly string[] = ["RequestLimitExceeded", "Throttling", "ThrottlingException"];

export interface RetryOptions {
    /** Total attempts including the first (default 8). */
    attempts?: number;
    /** First delay in ms (default 500); doubles each attempt. */
    baseMs?: number;
    /** Cap on one delay in ms (default 15000). */
    maxMs?: number;
    /** Extra error codes to retry besides throttling (e.g. `InvalidSnapshot.InUse`). */
    retryOn?: readonly string[];
    /** Told about each retry. */
    log?: (msg: string) => void;
    /** What the retry is doing, for log lines. */
    what?: string;
}

/** The AWS error code of an SDK v3 error (its `name`, or `Code`/`code` on older shapes). */
export function errorCode(e: unknown): string | undefined {
    if (e === null || typeof e !== "object") return undefined;
    const o = e as { name?: unknown; Code?: unknown; code?: unknown };
    for (const v of [o.Code, o.code, o.name]) {
        if (typeof v === "string" && v !== "" && v !== "Error") return v;
    }
    return undefined;
}

/** True when `e` carries one of `codes`. */
export function hasCode(e: unknown, codes: readonly string[]): boolean {
    const c = errorCode(e);
    return c !== undefined && codes.includes(c);
}

/** The delay before retry number `attempt` (1-based): full jitter over min(max, base·2^(attempt-1)). */
export function backoffMs(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
    const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
    return Math.floor(ceiling / 2 + (random() * ceiling) / 2);
}

/**
 * `withRetry(fn, opts)`, except that an error carrying one of `goneCodes` (EC2's NotFound family:
 * the object is already absent) resolves to `undefined` instead of being thrown. The shape of
 * every idempotent delete and every by-id describe.
 */
export async function unlessGone<T>(fn: () => Promise<T>, goneCodes: readonly string[], opts: RetryOptions = {}): Promise<T | undefined> {
    try {
        return await withRetry(fn, opts);
    } catch (e) {
        if (hasCode(e, goneCodes)) return undefined;
        throw e;
    }
}

/**
 * Runs `fn` until it resolves, retrying throttling and `retryOn` codes with exponential backoff
 * and jitter; any other error, or the last attempt's error, is thrown as is.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
    const attempts = Math.max(1, opts.attempts ?? 8);
    const baseMs = opts.baseMs ?? 500;
    const maxMs = opts.maxMs ?? 15_000;
    const codes = [...THROTTLING_CODES, ...(opts.retryOn ?? [])];
    for (let attempt = 1; ; attempt++) {
        try {
            return await fn(attempt);
        } catch (e) {
            if (attempt >= attempts || !hasCode(e, codes)) throw e;
            const wait = backoffMs(attempt, baseMs, maxMs);
            opts.log?.(`${opts.what ?? "EC2 call"}: ${errorCode(e)}, retry ${attempt}/${attempts - 1} in ${wait} ms`);
            await new Promise((r) => setTimeout(r, wait));
        }
    }
}
