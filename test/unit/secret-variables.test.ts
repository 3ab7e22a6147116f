/** Which Packer variables leave the var file for Packer's environment, and how their values are written. */
import * as assert from "node:assert/strict";
import { hclValue, splitSecretVariables } from "../../providers/packer/secretVariables";

describe("packer/secretVariables", () => {
    it("moves every variable holding a secret (anywhere in it, short ones too) to PKR_VAR_<name>", () => {
        const vars = {
            image_name: "couchbase-x",
            tags: { Team: "s3cr3t", Owner: "e2e" },
            region: "us-east-1",
            ssh_password: "ab",
            list: ["a", "zz"],
        };
        const r = splitSecretVariables(vars, ["s3cr3t", "ab", ""]);
        assert.deepEqual(r.file, { image_name: "couchbase-x", region: "us-east-1", list: ["a", "zz"] });
        assert.deepEqual(r.env, { PKR_VAR_tags: '{"Team": "s3cr3t", "Owner": "e2e"}', PKR_VAR_ssh_password: "ab" });
    });
    it("no secrets: everything stays in the file", () => {
        assert.deepEqual(splitSecretVariables({ a: "x", b: { c: "d" } }, []), { file: { a: "x", b: { c: "d" } }, env: {} });
    });
    const cases: [string, unknown, string][] = [
        ["a plain string", "abc", '"abc"'],
        ["quotes and backslashes", 'a"b\\c', '"a\\"b\\\\c"'],
        ["template sequences are doubled", "x${y}%{z}", '"x$${y}%%{z}"'],
        ["control characters HCL lacks a short escape for", "\b\f\n\t", '"\\u0008\\u000c\\n\\t"'],
        ["numbers, booleans, null", [1, true, null], "[1, true, null]"],
        ["an object", { k: "v", "a b": ["x"] }, '{"k": "v", "a b": ["x"]}'],
    ];
    for (const [what, v, want] of cases) it(`hclValue: ${what}`, () => assert.equal(hclValue(v), want));
});
