/**
 * What of the template folder the provider fingerprints (check → diff, through the provider's own
 * file reading): the folder's `.imageignore` leaves out its CI script, README and test fixtures,
 * so editing them rebuilds nothing; a provisioning script still forces a rebuild. Proof limit:
 * the fake `packer` (test/fixtures/fake-packer) answers `packer validate`; no EC2 call is made.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { PackerImageProvider } from "../../../providers/packer/provider";
import { captureConsole, inputs, makeProject, type Project, type ProviderOutputs } from "./harness";

const IMAGE = "ami-0fa4e000000000001";

describe("PackerImageProvider: template files in the fingerprint", function () {
    this.timeout(60_000);
    const provider = new PackerImageProvider();
    let p: Project;

    before(() => {
        p = makeProject();
    });
    after(() => p.restore());
    beforeEach(() => {
        p.reset();
        fs.writeFileSync("images/aws/.imageignore", "# not part of the image\nci.sh\nREADME*\ntest/\n");
        fs.writeFileSync("images/aws/ci.sh", "#!/usr/bin/env bash\nshellcheck scripts/*.sh\n", { mode: 0o755 });
        fs.writeFileSync("images/aws/scripts/install-couchbase.sh", "#!/usr/bin/env bash\necho install\n");
        fs.rmSync("images/aws/README.md", { force: true });
        fs.rmSync("images/aws/test", { recursive: true, force: true });
    });
    afterEach(() => {
        for (const f of [".imageignore", "ci.sh", "README.md", "test"]) fs.rmSync(`images/aws/${f}`, { recursive: true, force: true });
    });

    const checked = async () => {
        const r = await provider.check(inputs(p), inputs(p));
        assert.deepEqual(r.failures, []);
        return r.inputs!;
    };
    const asOuts = (i: object) =>
        ({
            ...i,
            imageId: IMAGE,
            snapshotIds: [],
            tags: {},
            createdAt: "2026-11-25T12:00:00.000Z",
            imageName: "x",
            buildLog: "",
        }) as unknown as ProviderOutputs;

    it("the parts name the template and its scripts, not ci.sh or the ignore file", async () => {
        const parts = Object.keys((await checked()).fingerprintParts ?? {}).filter((k) => k.startsWith("template/"));
        assert.deepEqual(parts.sort(), ["template/couchbase-cloud.pkr.hcl", "template/scripts/install-couchbase.sh"]);
    });

    const noRebuild: [string, () => void][] = [
        ["an edit of ci.sh", () => fs.appendFileSync("images/aws/ci.sh", "shfmt -d scripts/*.sh\n")],
        ["a new README", () => fs.writeFileSync("images/aws/README.md", "# The image template\n")],
        ["a new test fixture", () => (fs.mkdirSync("images/aws/test"), fs.writeFileSync("images/aws/test/fixture.json", "{}\n"))],
        ["an ignore file entry that matches nothing", () => fs.appendFileSync("images/aws/.imageignore", "notes/\n")],
    ];
    for (const [what, mutate] of noRebuild) {
        it(`${what} → no change (no rebuild)`, async () => {
            const olds = asOuts(await checked());
            mutate();
            const news = await checked();
            assert.equal(news.fingerprint, olds.fingerprint);
            assert.deepEqual(await provider.diff(IMAGE, olds, news), { changes: false });
        });
    }

    it("an edit of a provisioning script → replace naming the script", async () => {
        const olds = asOuts(await checked());
        fs.appendFileSync("images/aws/scripts/install-couchbase.sh", "echo changed\n");
        const news = await checked();
        const { result: d, lines } = await captureConsole(() => provider.diff(IMAGE, olds, news));
        assert.equal(d?.changes, true);
        assert.deepEqual(d?.replaces, ["fingerprint", "templateDir"]);
        assert.ok(
            lines.some((l) => l.includes("rebuild needed: changed template/scripts/install-couchbase.sh")),
            lines.join("\n"),
        );
    });

    it("without an ignore file every file counts (another template folder keeps today's rule)", async () => {
        fs.rmSync("images/aws/.imageignore");
        const olds = asOuts(await checked());
        assert.ok(olds.fingerprintParts["template/ci.sh"]);
        fs.appendFileSync("images/aws/ci.sh", "echo more\n");
        const news = await checked();
        const { result: d, lines } = await captureConsole(() => provider.diff(IMAGE, olds, news));
        assert.deepEqual(d?.replaces, ["fingerprint", "templateDir"]);
        assert.ok(
            lines.some((l) => l.includes("changed template/ci.sh")),
            lines.join("\n"),
        );
    });
});
