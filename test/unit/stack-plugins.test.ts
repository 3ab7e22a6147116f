/**
 * Automatic plugin download: off for local stacks only. Any other stack gets the caller's own
 * setting (downloads on when there was none), so `npm run stack -- refresh|up --stack NAME` works on
 * a machine that never ran `pulumi up`. scripts/env.sh turns downloads off for the project's scripts
 * and remembers the caller's value; the stack driver gives it back.
 */
import * as assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { pluginAcquisition, stackEnv } from "../../scripts/stack";

const ROOT = path.resolve(__dirname, "../..");
const VAR = "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION";
const CALLER = "COUCHBASE_IMAGES_CALLER_PLUGIN_ACQUISITION";

describe("stack driver: plugin downloads per stack", () => {
    const table: { stack: string; env: NodeJS.ProcessEnv; want: string; why: string }[] = [
        { stack: "local", env: {}, want: "true", why: "local stack, nothing set" },
        { stack: "local-alice", env: { [VAR]: "false", [CALLER]: "false" }, want: "true", why: "local stacks never download" },
        {
            stack: "dev-alice",
            env: { [VAR]: "true", [CALLER]: "unset" },
            want: "false",
            why: "through env.sh, caller set nothing: downloads on",
        },
        { stack: "dev-alice", env: { [VAR]: "true", [CALLER]: "true" }, want: "true", why: "through env.sh, caller turned downloads off" },
        { stack: "dev-alice", env: { [VAR]: "true", [CALLER]: "false" }, want: "false", why: "through env.sh, caller turned downloads on" },
        { stack: "prod", env: {}, want: "false", why: "without env.sh, nothing set" },
        { stack: "prod", env: { [VAR]: "1" }, want: "1", why: "without env.sh, the caller's own value" },
        { stack: "localhost", env: { [VAR]: "true", [CALLER]: "unset" }, want: "false", why: "localhost is not a local stack" },
    ];
    for (const t of table) {
        it(`${t.stack}: ${t.why} → ${t.want}`, () => {
            assert.equal(pluginAcquisition(t.stack, t.env), t.want);
            assert.equal(stackEnv(t.stack, t.env)[VAR], t.want);
        });
    }

    it("the other offline settings stay for every stack", () => {
        for (const s of ["local", "dev-alice"]) {
            const env = stackEnv(s, { [CALLER]: "unset" });
            assert.equal(env.PULUMI_SKIP_UPDATE_CHECK, "true");
            assert.equal(env.CHECKPOINT_DISABLE, "1");
        }
    });

    /** What env.sh exports, sourced (twice: it must be idempotent) from a caller's environment. */
    function envSh(callerEnv: Record<string, string>): { caller: string; pulumi: string } {
        const out = execFileSync(
            "bash",
            ["-c", `source scripts/env.sh; source scripts/env.sh; printf '%s\\n%s\\n' "$${CALLER}" "$${VAR}"`],
            {
                cwd: ROOT,
                env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...callerEnv },
                encoding: "utf8",
            },
        ).split("\n");
        return { caller: out[0], pulumi: out[1] };
    }
    it("scripts/env.sh turns downloads off for its scripts and remembers the caller's setting", () => {
        assert.deepEqual(envSh({}), { caller: "unset", pulumi: "true" });
        assert.deepEqual(envSh({ [VAR]: "false" }), { caller: "false", pulumi: "true" });
        assert.deepEqual(envSh({ [VAR]: "" }), { caller: "", pulumi: "true" });
    });
    it("end to end: a real stack run through env.sh by a caller who set nothing may download; a local one may not", () => {
        const env = { [CALLER]: envSh({}).caller, [VAR]: envSh({}).pulumi };
        assert.equal(stackEnv("dev-alice", env)[VAR], "false");
        assert.equal(stackEnv("local", env)[VAR], "true");
    });
});
