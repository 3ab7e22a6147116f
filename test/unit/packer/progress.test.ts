/**
 * Build progress: which process logs to the engine (the dynamic-provider host, by its entry file
 * and engine address argument) and the fallback everywhere else. The engine path itself is proven
 * by test/integration/provider-engine.test.ts (Packer lines once, on the image's row).
 */
import * as assert from "node:assert/strict";
import { engineAddress, progressFor } from "../../../providers/packer/progress";

describe("build progress", () => {
    const HOST = "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider/index.js";
    const cases: [string, string | undefined, string[], string | undefined][] = [
        ["the provider host with its engine address", HOST, ["node", HOST, "127.0.0.1:45678"], "127.0.0.1:45678"],
        ["the provider host, IPv6 loopback", HOST, ["node", HOST, "[::1]:45678"], "[::1]:45678"],
        ["the provider host without an address", HOST, ["node", HOST], undefined],
        ["the provider host with something else as argument", HOST, ["node", HOST, "--flag"], undefined],
        ["mocha", "/p/node_modules/mocha/bin/mocha.js", ["node", "mocha", "127.0.0.1:1"], undefined],
        ["no main module (REPL, -e)", undefined, ["node"], undefined],
    ];
    for (const [what, main, argv, want] of cases)
        it(`${what} → ${want ?? "fallback"}`, () => assert.equal(engineAddress(main, argv), want));

    it("outside the provider host every line and note goes to the fallback, in order", async () => {
        const got: string[] = [];
        const p = progressFor("urn:pulumi:s::p::t::n", (m) => got.push(m));
        p.line("packer: a");
        p.note("packer-image: b");
        await p.flush();
        assert.deepEqual(got, ["packer: a", "packer-image: b"]);
    });
});
