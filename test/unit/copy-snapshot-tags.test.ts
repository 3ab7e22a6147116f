import * as assert from "node:assert/strict";
import { PROVIDER } from "../../providers/copySnapshotTagsProvider";
import { UNKNOWN_VALUE } from "../../providers/packer/types";

/** The snapshot tagger's check and diff (no I/O); create/update run against moto (test/integration/copy-snapshot-tags.test.ts). */
describe("CopySnapshotTags provider: check and diff", () => {
    const ok: { region: string; imageId: string; tags: Record<string, string>; ec2Endpoint: string } = {
        region: "eu-west-1",
        imageId: "ami-0123456789abcdef0",
        tags: { Project: "couchbase-images" },
        ec2Endpoint: "",
    };

    const checks: [string, Record<string, unknown>, string[]][] = [
        ["known, valid", ok, []],
        ["preview: the copy's id not known yet", { ...ok, imageId: UNKNOWN_VALUE }, []],
        ["not an image id", { ...ok, imageId: "snap-1" }, ["imageId"]],
        ["no region", { ...ok, region: "" }, ["region"]],
    ];
    for (const [what, news, failing] of checks) {
        it(`check: ${what}`, async () => {
            const r = await PROVIDER.check(ok, news as typeof ok);
            assert.deepEqual(
                (r.failures ?? []).map((f) => f.property),
                failing,
            );
        });
    }

    it("check fills the endpoint and tags when absent", async () => {
        const r = await PROVIDER.check(ok, { region: "eu-west-1", imageId: "ami-1" } as typeof ok);
        assert.deepEqual(r.inputs, { region: "eu-west-1", imageId: "ami-1", tags: {}, ec2Endpoint: "" });
    });

    const olds = { ...ok, snapshotIds: ["snap-1"] };
    const ab = { ...olds, tags: { A: "1", B: "2" } };
    const diffs: [string, typeof ok, boolean][] = [
        ["same", ok, false],
        ["same tags in another order", { ...ok, tags: { B: "2", A: "1" } }, false],
        ["a tag added", { ...ok, tags: { ...ok.tags, ExpiresAt: "never" } }, true],
        ["a new copy (replaced AmiCopy)", { ...ok, imageId: "ami-1" }, true],
        ["endpoint", { ...ok, ec2Endpoint: "http://127.0.0.1:5000" }, true],
    ];
    for (const [what, news, changes] of diffs) {
        it(`diff: ${what} → ${changes ? "update (re-tag)" : "no change"}, never a replace`, async () => {
            const d = await PROVIDER.diff("id", what.includes("order") ? ab : olds, news);
            assert.equal(d.changes, changes);
            assert.deepEqual(d.replaces, []);
        });
    }
});
