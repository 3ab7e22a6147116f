import { strict as assert } from "node:assert";
import { isRfc3339DateTime } from "../fixtures/versionsSchema";

describe("test fixtures: RFC 3339 date-time (versions/schema.json's createdAt format)", () => {
    const cases: [string, boolean][] = [
        ["2026-11-25T12:00:00Z", true],
        ["2026-11-25T12:00:00.123Z", true],
        ["2026-11-25t12:00:00+01:00", true],
        ["2024-02-29T23:59:59Z", true],
        ["2026-02-29T00:00:00Z", false],
        ["2026-13-01T00:00:00Z", false],
        ["2026-11-25T24:00:00Z", false],
        ["2026-11-25T12:00:00", false],
        ["2026-11-25 12:00:00Z", false],
        ["yesterday", false],
        ["", false],
    ];
    for (const [s, ok] of cases) it(`${JSON.stringify(s)} → ${ok}`, () => assert.equal(isRfc3339DateTime(s), ok));
});
