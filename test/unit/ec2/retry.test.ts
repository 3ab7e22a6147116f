import * as assert from "node:assert/strict";
import { backoffMs, errorCode, unlessGone, withRetry } from "../../../providers/ec2/retry";
import { awsError } from "./awsError";

describe("ec2/retry", () => {
    it("reads the error code from SDK errors", () => {
        assert.equal(errorCode(awsError("RequestLimitExceeded")), "RequestLimitExceeded");
        assert.equal(errorCode(new Error("plain")), undefined);
        assert.equal(errorCode("nope"), undefined);
    });

    const table: { attempt: number; base: number; max: number; lo: number; hi: number }[] = [
        { attempt: 1, base: 100, max: 10_000, lo: 50, hi: 100 },
        { attempt: 3, base: 100, max: 10_000, lo: 200, hi: 400 },
        { attempt: 20, base: 100, max: 1000, lo: 500, hi: 1000 },
    ];
    for (const t of table) {
        it(`backoff of attempt ${t.attempt} stays in [${t.lo}, ${t.hi}]`, () => {
            assert.equal(
                backoffMs(t.attempt, t.base, t.max, () => 0),
                t.lo,
            );
            assert.equal(
                backoffMs(t.attempt, t.base, t.max, () => 0.999999),
                t.hi - 1,
            );
        });
    }

    it("retries throttling, then returns", async () => {
        let n = 0;
        const r = await withRetry(
            async () => {
                if (++n <= 3) throw awsError("Throttling");
                return "ok";
            },
            { baseMs: 1, maxMs: 2 },
        );
        assert.equal(r, "ok");
        assert.equal(n, 4);
    });

    it("retries caller-given codes only", async () => {
        let n = 0;
        await assert.rejects(
            withRetry(
                async () => {
                    n++;
                    throw awsError("InvalidParameterValue");
                },
                { baseMs: 1, retryOn: ["InvalidSnapshot.InUse"] },
            ),
            /InvalidParameterValue/,
        );
        assert.equal(n, 1);
    });

    it("gives up after the given attempts with the last error", async () => {
        let n = 0;
        await assert.rejects(
            withRetry(
                async () => {
                    n++;
                    throw awsError("RequestLimitExceeded");
                },
                { attempts: 3, baseMs: 1 },
            ),
            /RequestLimitExceeded/,
        );
        assert.equal(n, 3);
    });

    it("unlessGone: the result, or undefined for a gone code after retrying throttling; other errors thrown", async () => {
        assert.equal(await unlessGone(async () => "deleted", ["InvalidGroup.NotFound"]), "deleted");
        let n = 0;
        const gone = await unlessGone(
            async () => {
                if (++n === 1) throw awsError("Throttling");
                throw awsError("InvalidGroup.NotFound");
            },
            ["InvalidGroup.NotFound"],
            { baseMs: 1 },
        );
        assert.equal(gone, undefined);
        assert.equal(n, 2);
        await assert.rejects(
            unlessGone(async () => {
                throw awsError("DependencyViolation");
            }, ["InvalidGroup.NotFound"]),
            /DependencyViolation/,
        );
    });
});
