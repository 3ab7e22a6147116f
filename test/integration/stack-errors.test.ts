/**
 * A program that fails, on the real engine through the stack driver: the engine prints each error
 * once (the inline-program server used to report it twice: scripts/stackErrors.ts), the driver's
 * error is one line naming the keys, and a failed `up` deletes nothing and keeps the outputs.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { runStack } from "../../scripts/stack";
import { StackError } from "../../scripts/stackErrors";
import { ConfigError } from "../../pipeline/config";

describe("stack driver: a failing program (real engine)", function () {
    this.timeout(180_000);
    const stack = `local-stackerr-${process.pid}`;
    const problems = [
        'couchbase-images:owner: "oooo…" is 300 characters long: at most 256',
        'couchbase-images:copyRegions[0]: "us-east-9" is not an AWS region this project knows',
    ];
    let fail: "run" | "plain" | "refused" | undefined;
    /** A dynamic resource whose `check` refuses its input: the engine stops, the program's run never ends. */
    const refusing: pulumi.dynamic.ResourceProvider = {
        async check(_olds: unknown, news: Record<string, unknown>) {
            return { inputs: news, failures: [{ property: "size", reason: "is too big" }] };
        },
        async create() {
            return { id: "never" };
        },
    };
    class Refused extends pulumi.dynamic.Resource {
        constructor(name: string, props: { size: number }) {
            super(refusing, name, props);
        }
    }
    // Like pipeline/program.ts: a ConfigError becomes a RunError (no stack trace).
    const program = async () => {
        new pulumi.ComponentResource("couchbase-images:test:Keep", "keep", {});
        if (fail === "refused") {
            const r = new Refused("refused", { size: 1 });
            return { id: r.id };
        }
        if (fail === "run") throw new pulumi.RunError(new ConfigError(problems).message);
        if (fail === "plain") throw new Error("a bug in the program");
        return { kept: "yes" };
    };
    const base = { stack, seedConfig: false, program };
    let listenersAtStart = 0;
    before(() => {
        listenersAtStart = process.listenerCount("unhandledRejection");
    });
    const count = (text: string, part: string) => text.split(part).length - 1;
    /** The engine's Diagnostics block (the progress rows above it show each error's first line too). */
    const diagnostics = (out: string) => out.slice(out.indexOf("\nDiagnostics:"));

    after(async () => {
        fail = undefined;
        await runStack("destroy", { ...base, onOutput: () => undefined, remove: true }).catch(() => undefined);
    });

    it("a config error: each problem printed once, the error one line naming the keys", async () => {
        fail = "run";
        let out = "";
        const err = await runStack("preview", { ...base, onOutput: (s) => (out += s) }).then(
            () => assert.fail("preview must fail"),
            (e: unknown) => e,
        );
        assert.ok(err instanceof StackError, String(err));
        assert.equal(err.message, "2 configuration errors (above): couchbase-images:owner, couchbase-images:copyRegions[0]");
        for (const p of problems) assert.equal(count(out, p), 1, `${p} once in:\n${out}`);
        assert.equal(count(diagnostics(out), "error: Invalid stack configuration:"), 1, out);
        assert.doesNotMatch(out, /BAIL|One or more errors occurred/);
    });

    it("after a run the engine abandoned (a refused resource), a later error is still printed once", async () => {
        fail = "refused";
        let out = "";
        await assert.rejects(
            runStack("preview", { ...base, onOutput: (s) => (out += s) }),
            (e: Error) => e instanceof StackError && e.message === "1 invalid input (above): size",
        );
        fail = "run";
        out = "";
        await assert.rejects(runStack("preview", { ...base, onOutput: (s) => (out += s) }), StackError);
        for (const p of problems) assert.equal(count(out, p), 1, `${p} once in:\n${out}`);
        assert.equal(process.listenerCount("unhandledRejection"), listenersAtStart, "no handler of a finished run is left on process");
    });

    it("an unexpected exception: printed once, with its stack", async () => {
        fail = "plain";
        let out = "";
        await assert.rejects(
            runStack("preview", { ...base, onOutput: (s) => (out += s) }),
            (e: Error) => e instanceof StackError && !e.message.includes("\n"),
        );
        assert.equal(count(diagnostics(out), "a bug in the program"), 1, out);
        assert.match(out, /Unhandled exception: Error: a bug in the program\n\s+at /);
    });

    it("a failed up deletes nothing and keeps the outputs", async () => {
        fail = undefined;
        const r = await runStack("up", { ...base, onOutput: () => undefined });
        assert.deepEqual(r.outputs, { kept: "yes" });
        fail = "run";
        await assert.rejects(runStack("up", { ...base, onOutput: () => undefined }), StackError);
        fail = undefined;
        const again = await runStack("up", { ...base, onOutput: () => undefined, expectNoChanges: true });
        assert.equal(again.changes.create ?? 0, 0, JSON.stringify(again.changes));
        assert.deepEqual(again.outputs, { kept: "yes" });
    });
});
