/**
 * The driver's failure line (scripts/stackErrors.ts `failureSummary`): one line, naming what
 * failed, from the engine's error diagnostics (shown above it) or, without any, the CLI's errors.
 */
import * as assert from "node:assert/strict";
import { failureSummary, StackError } from "../../scripts/stackErrors";

const CONFIG_ERROR =
    "Invalid stack configuration:\n" +
    '  - couchbase-images:copyRegions[0]: "us-east-9" is not an AWS region this project knows (…): fix the name\n' +
    '  - couchbase-images:owner: "oooo…" is 300 characters long: it becomes the Owner tag\n';
const CHECK_FAILURE =
    "pulumi-nodejs:dynamic/packer:Image resource 'couchbase-image': property templateDir value {images/gcp} has a problem: \"images/gcp\" is not a folder under the project root: point at the folder holding the *.pkr.hcl template\n";

/** What the Automation API throws for a failed command: the whole CLI output, twice. */
function commandError(stderr: string): Error {
    const e = new Error(`code: -2\n stdout: \n stderr: ${stderr}\n err?: Error: ${stderr}\n`);
    (e as Error & { commandResult: unknown }).commandResult = { stdout: "", stderr, code: -2 };
    return e;
}

describe("stack driver: the failure line", () => {
    const cases: [string, string[], unknown, string][] = [
        [
            "config errors, counted per problem and named",
            [CONFIG_ERROR],
            commandError("…"),
            "2 configuration errors (above): couchbase-images:copyRegions[0], couchbase-images:owner",
        ],
        [
            "the same diagnostic twice counts once",
            [CONFIG_ERROR, CONFIG_ERROR],
            undefined,
            "2 configuration errors (above): couchbase-images:copyRegions[0], couchbase-images:owner",
        ],
        ["an input the image's check refused", [CHECK_FAILURE], undefined, "1 invalid input (above): templateDir"],
        [
            "both, and another error",
            [CONFIG_ERROR, CHECK_FAILURE, "Unhandled exception: Error: boom\n    at x (y.ts:1:1)\n"],
            undefined,
            "2 configuration errors and 1 invalid input and 1 other error (above): couchbase-images:copyRegions[0], couchbase-images:owner, templateDir",
        ],
        ["one short error is the line itself", ["preview canceled\n"], undefined, "preview canceled"],
        [
            "a multi-line error is counted",
            ["Unhandled exception: Error: boom\n    at x (y.ts:1:1)\n", "other\n"],
            undefined,
            "2 errors (above)",
        ],
        [
            "no diagnostics: the CLI's error lines",
            [],
            commandError(
                "Command failed with exit code 255: pulumi stack select --stack x --non-interactive\nerror: the stack is currently locked by 1 lock(s).\n",
            ),
            "the stack is currently locked by 1 lock(s).",
        ],
        [
            "no diagnostics, no error line: the command and its code",
            [],
            commandError("Command failed with exit code 6: pulumi preview --color never --stack x\n"),
            "`pulumi preview` exited with code 6",
        ],
        ["not a command error", [], new Error("ENOENT: no such file\n  more"), "ENOENT: no such file"],
    ];
    for (const [what, diagnostics, err, want] of cases) {
        it(what, () => {
            const got = failureSummary(diagnostics, err);
            assert.equal(got, want);
            assert.ok(!got.includes("\n"), "one line");
        });
    }

    it("names at most six keys", () => {
        const many = `Invalid stack configuration:\n${Array.from({ length: 8 }, (_, n) => `  - couchbase-images:k${n}: is wrong`).join("\n")}\n`;
        assert.equal(
            failureSummary([many], undefined),
            "8 configuration errors (above): couchbase-images:k0, couchbase-images:k1, couchbase-images:k2, couchbase-images:k3, couchbase-images:k4, couchbase-images:k5, …",
        );
    });

    it("StackError: the summary as its message, the diagnostics and the original error kept", () => {
        const original = commandError("x");
        const e = new StackError([CHECK_FAILURE], original);
        assert.equal(e.message, "1 invalid input (above): templateDir");
        assert.equal(e.name, "StackError");
        assert.deepEqual(e.diagnostics, [CHECK_FAILURE]);
        assert.equal(e.original, original);
    });
});
