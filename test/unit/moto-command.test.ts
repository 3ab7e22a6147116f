/**
 * How moto is started (scripts/local/moto.ts motoCommand): the shim that gives built images EC2's
 * root device type, under the Python of moto's virtual environment, found next to `moto_server`
 * on PATH; `moto_server` itself when there is no such Python.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import { motoCommand, MOTO_SERVER_SHIM } from "../../scripts/local/moto";

describe("motoCommand", () => {
    const files =
        (...fs: string[]) =>
        (f: string) =>
            fs.includes(f);
    it("the shim under the venv's python next to moto_server", () => {
        assert.deepEqual(motoCommand(["/a", "/venv/bin"].join(path.delimiter), files("/venv/bin/moto_server", "/venv/bin/python3")), {
            file: "/venv/bin/python3",
            args: [MOTO_SERVER_SHIM],
        });
    });
    it("the first moto_server on PATH decides", () => {
        assert.equal(
            motoCommand(["/x", "/venv/bin"].join(path.delimiter), files("/x/moto_server", "/venv/bin/moto_server", "/venv/bin/python3"))
                .file,
            "moto_server",
        );
    });
    it("no moto_server on PATH: moto_server (spawn then says it is missing)", () => {
        assert.deepEqual(motoCommand("/a:/b", files()), { file: "moto_server", args: [] });
        assert.deepEqual(motoCommand(undefined, files()), { file: "moto_server", args: [] });
    });
    it("the shim exists and is Python", () => {
        assert.match(require("node:fs").readFileSync(MOTO_SERVER_SHIM, "utf8"), /^import moto\.ec2\.models\.amis as amis$/m);
    });
});
