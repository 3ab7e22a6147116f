/**
 * The boot check's JSON report (images/aws/boot-test/boot-check.sh --out FILE): parsing, the
 * verdict and the failure message. Pure.
 *
 * Format (schemaVersion 1):
 * `{"schemaVersion":1,"passed":bool,"instanceId","region","checkedAt","checks":[{"name","status","saw"}]}`
 * with `status` one of `passed`, `failed`, `skipped`. The test passes only when the report says
 * so, names at least one check, and no check failed.
 */

export const CHECK_STATUSES = ["passed", "failed", "skipped"] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** One check as the report gives it: its name, how it ended, and what it saw. */
export interface BootCheck {
    name: string;
    status: CheckStatus;
    saw: string;
}

export interface BootReport {
    schemaVersion: 1;
    passed: boolean;
    instanceId: string;
    region: string;
    checkedAt: string;
    checks: BootCheck[];
}

/** Parses report text; `problems` lists every way it is not a report (empty when it is one). */
export function parseReport(text: string | undefined): { report?: BootReport; problems: string[] } {
    if (text === undefined) return { problems: ["no report was downloaded"] };
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (e) {
        return { problems: [`the report is not JSON: ${(e as Error).message}`] };
    }
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return { problems: ["the report is not a JSON object"] };
    const r = raw as Record<string, unknown>;
    const problems: string[] = [];
    if (r.schemaVersion !== 1) problems.push(`schemaVersion is ${JSON.stringify(r.schemaVersion)}, not 1`);
    if (typeof r.passed !== "boolean") problems.push("passed is not true or false");
    for (const k of ["instanceId", "region", "checkedAt"]) if (typeof r[k] !== "string") problems.push(`${k} is not a string`);
    if (!Array.isArray(r.checks)) problems.push("checks is not a list");
    const checks: BootCheck[] = [];
    if (Array.isArray(r.checks)) {
        r.checks.forEach((c: unknown, n: number) => {
            const o = (c ?? {}) as Record<string, unknown>;
            if (typeof o.name !== "string" || o.name === "") problems.push(`checks[${n}].name is not a name`);
            else if (!(CHECK_STATUSES as readonly unknown[]).includes(o.status))
                problems.push(`checks[${n}] (${o.name}): status ${JSON.stringify(o.status)} is not passed, failed or skipped`);
            else
                checks.push({
                    name: o.name,
                    status: o.status as CheckStatus,
                    saw: typeof o.saw === "string" ? o.saw : JSON.stringify(o.saw ?? ""),
                });
        });
    }
    if (problems.length > 0) return { problems };
    return {
        report: {
            schemaVersion: 1,
            passed: r.passed as boolean,
            instanceId: r.instanceId as string,
            region: r.region as string,
            checkedAt: r.checkedAt as string,
            checks,
        },
        problems,
    };
}

/** The verdict: passed only with checks, none failed, and the report's own `passed`. */
export function verdict(r: BootReport): { passed: boolean; failed: BootCheck[]; why?: string } {
    const failed = r.checks.filter((c) => c.status === "failed");
    if (failed.length > 0) return { passed: false, failed };
    if (r.checks.length === 0) return { passed: false, failed, why: "the report lists no check" };
    if (!r.passed) return { passed: false, failed, why: "the report says it did not pass, but lists no failed check" };
    return { passed: true, failed };
}

/** One line per check, for the build log and the console: `passed  name: saw`. */
export function reportLines(r: BootReport): string[] {
    return r.checks.map((c) => `${c.status.padEnd(7)} ${c.name}: ${c.saw}`);
}

/** The error of a failed test: each failed check and what it saw, then where the report and log are. */
export function failureMessage(imageId: string, r: BootReport, where: { report: string; log: string }): string {
    const v = verdict(r);
    const head =
        v.failed.length > 0
            ? `boot test of ${imageId} failed: ${v.failed.length} of ${r.checks.length} checks failed`
            : `boot test of ${imageId} failed: ${v.why ?? "not passed"}`;
    const lines = v.failed.map((c) => `  - ${c.name}: ${c.saw}`);
    return [head, ...lines, `report: ${where.report}; log: ${where.log}`].join("\n");
}
