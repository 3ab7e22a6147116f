import * as assert from "node:assert/strict";
import { parseArgs, isLocalStack, stackEnv, configJson, LOCAL_PASSPHRASE } from "../../scripts/stack";

describe("stack driver argv", () => {
    const table: { argv: string[]; want?: object; err?: RegExp }[] = [
        { argv: ["up", "--stack", "local"], want: { op: "up", stack: "local", diff: false } },
        { argv: ["preview", "--stack=dev-alice", "--diff"], want: { op: "preview", stack: "dev-alice", diff: true } },
        { argv: ["refresh", "-s", "local", "--clear-pending-creates"], want: { op: "refresh", clearPendingCreates: true } },
        { argv: ["destroy", "--stack", "local", "--remove", "--yes"], want: { op: "destroy", remove: true } },
        { argv: ["cancel", "--stack", "local"], want: { op: "cancel", stack: "local" } },
        { argv: ["deploy", "--stack", "local"], err: /unknown operation "deploy"/ },
        { argv: ["up"], err: /--stack NAME is required/ },
        { argv: ["up", "--stack", "x", "--force"], err: /unknown flag --force/ },
    ];
    for (const t of table) {
        it(t.argv.join(" "), () => {
            const saved = process.env.PULUMI_STACK;
            delete process.env.PULUMI_STACK;
            try {
                if (t.err) assert.throws(() => parseArgs(t.argv), t.err);
                else assert.deepEqual({ ...parseArgs(t.argv), ...t.want }, parseArgs(t.argv));
            } finally {
                if (saved !== undefined) process.env.PULUMI_STACK = saved;
            }
        });
    }
});

describe("stack driver environment", () => {
    it("local stacks get the repo's file backend and the local-only passphrase", () => {
        assert.ok(isLocalStack("local") && isLocalStack("local-alice"));
        const env = stackEnv("local-alice", {});
        assert.match(env.PULUMI_BACKEND_URL, /^file:\/\/.*\.pulumi-state$/);
        assert.equal(env.PULUMI_CONFIG_PASSPHRASE, LOCAL_PASSPHRASE);
    });
    it("other stacks keep the user's backend and secrets provider", () => {
        assert.ok(!isLocalStack("dev") && !isLocalStack("localhost"));
        const env = stackEnv("dev", {});
        assert.equal(env.PULUMI_BACKEND_URL, undefined);
        assert.equal(env.PULUMI_CONFIG_PASSPHRASE, undefined);
        assert.equal(env.PULUMI_SKIP_UPDATE_CHECK, "true");
    });
});

describe("stack driver typed config", () => {
    it("keeps lists and maps typed and strings as strings", () => {
        const doc = JSON.parse(configJson({ "p:s": "x", "p:n": 5, "p:l": ["a", "b"], "p:e": [], "p:m": { k: "v" } }));
        assert.deepEqual(doc, {
            "p:s": { value: "x" },
            "p:n": { value: "5" },
            "p:l": { value: '["a","b"]', objectValue: ["a", "b"] },
            "p:e": { value: "[]", objectValue: [] },
            "p:m": { value: '{"k":"v"}', objectValue: { k: "v" } },
        });
    });
});
