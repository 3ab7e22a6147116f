/**
 * The checkout build id, the agent command's trigger that makes a checkout without the artifact
 * (a teammate's clone, a CI runner, `git clean`) rebuild it instead of the image finding no file.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

import { checkoutBuildId, CHECKOUT_ID_FILE } from "../../../pipeline/agentFiles";

describe("checkoutBuildId", () => {
    let root = "";
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "checkout-id-"));
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    const ID = "0123456789abcdef0123456789abcdef";
    const cases: [string, { artifact: boolean; id?: string }, "kept" | "new"][] = [
        ["fresh checkout: no folder at all", { artifact: false }, "new"],
        ["artifact and id: the checkout that built it", { artifact: true, id: ID }, "kept"],
        ["id without the artifact (removed, or a preview that never built)", { artifact: false, id: ID }, "new"],
        ["artifact without an id (copied in by hand)", { artifact: true }, "new"],
        ["artifact and a garbled id", { artifact: true, id: "not-an-id" }, "new"],
    ];
    for (const [what, has, want] of cases) {
        it(`${what} → ${want} id`, () => {
            const dir = path.join(root, ".build/agent");
            if (has.artifact || has.id !== undefined) fs.mkdirSync(dir, { recursive: true });
            if (has.artifact) fs.writeFileSync(path.join(dir, "dp-agent.gz"), "bytes");
            if (has.id !== undefined) fs.writeFileSync(path.join(dir, CHECKOUT_ID_FILE), `${has.id}\n`);
            const got = checkoutBuildId(dir);
            assert.match(got, /^[0-9a-f]{32}$/);
            if (want === "kept") assert.equal(got, ID);
            else assert.notEqual(got, ID);
            assert.equal(fs.readFileSync(path.join(dir, CHECKOUT_ID_FILE), "utf8").trim(), got, "the id in use is on disk");
        });
    }

    it("is stable once the artifact exists, and differs between two fresh checkouts", () => {
        const a = path.join(root, "a/.build/agent");
        const b = path.join(root, "b/.build/agent");
        const first = checkoutBuildId(a);
        fs.writeFileSync(path.join(a, "dp-agent.gz"), "bytes"); // the command ran here
        assert.equal(checkoutBuildId(a), first);
        assert.equal(checkoutBuildId(a), first);
        assert.notEqual(checkoutBuildId(b), first);
    });
});
