/**
 * Smoke test of the toolchain and the stack driver on the real engine (pulumi CLI from bin/,
 * Automation API inline program, dynamic-provider host): up, no-change up, refresh, destroy.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { runStack, stackEnv, PROJECT_ROOT } from "../../scripts/stack";
import { smokeProgram } from "../fixtures/smokeProgram";

describe("engine smoke (real Pulumi CLI through the stack driver)", function () {
    this.timeout(180_000);
    const stack = `local-smoke-${process.pid}`;
    const base = { stack, seedConfig: false, onOutput: () => undefined };

    after(async () => {
        // Leave nothing behind in the local backend even if a step failed.
        try {
            await runStack("destroy", { ...base, program: smokeProgram("hello"), remove: true });
        } catch {
            /* already removed */
        }
    });

    it("up creates the dynamic resource and returns its outputs", async () => {
        const r = await runStack("up", { ...base, program: smokeProgram("hello") });
        assert.equal(r.changes.create, 2); // the stack + the resource
        assert.deepEqual(r.outputs, { greeting: "hello", length: 5, id: "echo-hello" });
    });

    it("a second up reports no change", async () => {
        const r = await runStack("up", { ...base, program: smokeProgram("hello"), expectNoChanges: true });
        assert.equal(r.changes.same, 2);
        assert.equal(r.changes.create ?? 0, 0);
    });

    it("refresh succeeds and keeps the resource", async () => {
        const r = await runStack("refresh", { ...base, program: smokeProgram("hello") });
        assert.equal(r.changes.delete ?? 0, 0);
    });

    it("destroy leaves nothing in the exported state", async () => {
        const r = await runStack("destroy", { ...base, program: smokeProgram("hello") });
        assert.equal(r.changes.delete, 2);
        const exported = JSON.parse(
            execFileSync("pulumi", ["stack", "export", "--stack", stack], {
                cwd: PROJECT_ROOT,
                env: { ...process.env, ...stackEnv(stack) },
            }).toString(),
        );
        assert.deepEqual(exported.deployment.resources ?? [], []);
        assert.equal((exported.deployment.pending_operations ?? []).length, 0);
    });
});
