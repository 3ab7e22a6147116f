import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { removeStackBuildFiles } from "../fixtures/buildFiles";

describe("test fixtures: removeStackBuildFiles", () => {
    let root: string;
    beforeEach(() => {
        root = fs.mkdtempSync(path.join(os.tmpdir(), "cbimg-files-"));
        const files = [
            "packer/local-e2e-a1-0123456789ab-20261125T141834Z/vars.pkrvars.json",
            "logs/local-e2e-a1-0123456789ab-20261125T141834Z.log",
            "check/local-e2e-a1-0123456789ab/validated",
            "packer/local-e2e-a1-bob-0123456789ab-20261125T141834Z/vars.pkrvars.json",
            "packer/local-0123456789ab-20261125T141834Z/vars.pkrvars.json",
            "logs/local-e2e-a10-0123456789ab-20261125T141834Z.log",
            "check/tools.json",
        ];
        for (const f of files) {
            fs.mkdirSync(path.dirname(path.join(root, ".build", f)), { recursive: true });
            fs.writeFileSync(path.join(root, ".build", f), "x");
        }
    });
    afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

    it("removes exactly the named stacks' var files, logs and validate stamps", () => {
        const removed = removeStackBuildFiles(["local-e2e-a1"], root).sort();
        assert.deepEqual(removed, [
            ".build/check/local-e2e-a1-0123456789ab",
            ".build/logs/local-e2e-a1-0123456789ab-20261125T141834Z.log",
            ".build/packer/local-e2e-a1-0123456789ab-20261125T141834Z",
        ]);
        assert.deepEqual(fs.readdirSync(path.join(root, ".build", "packer")).sort(), [
            "local-0123456789ab-20261125T141834Z",
            "local-e2e-a1-bob-0123456789ab-20261125T141834Z",
        ]);
        assert.deepEqual(fs.readdirSync(path.join(root, ".build", "logs")), ["local-e2e-a10-0123456789ab-20261125T141834Z.log"]);
        assert.deepEqual(fs.readdirSync(path.join(root, ".build", "check")), ["tools.json"]);
    });

    it("does nothing without a .build folder", () => {
        fs.rmSync(path.join(root, ".build"), { recursive: true });
        assert.deepEqual(removeStackBuildFiles(["local-e2e-a1"], root), []);
    });
});
