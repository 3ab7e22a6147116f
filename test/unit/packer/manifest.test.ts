/** Manifest parser table: the image id from a fresh manifest; every malformed variant is an error. */
import * as assert from "node:assert/strict";
import { parseManifest } from "../../../providers/packer/manifest";

const build = (artifact: string, run = "run-2", time = 1_800_000_000) => ({
    name: "couchbase",
    builder_type: "amazon-ebs",
    build_time: time,
    files: null,
    artifact_id: artifact,
    packer_run_uuid: run,
    custom_data: null,
});
const doc = (builds: unknown[], last = "run-2") => JSON.stringify({ builds, last_run_uuid: last });

describe("manifest: parseManifest", () => {
    it("reads region and image id of the last build of the last run", () => {
        const m = parseManifest(doc([build("eu-west-1:ami-0aaa1111", "run-1"), build("eu-west-1:ami-0bbb2222")]), { region: "eu-west-1" });
        assert.deepEqual(m, { region: "eu-west-1", imageId: "ami-0bbb2222", runUuid: "run-2", buildTime: 1_800_000_000 });
    });

    const bad: [string, string | undefined, RegExp, number?][] = [
        ["missing file", undefined, /wrote no manifest/],
        ["garbage", "not json {", /not JSON/],
        ["no builds list", "{}", /no builds list/],
        ["empty builds", doc([]), /lists no builds/],
        ["multi-region artifact", doc([build("eu-west-1:ami-0aaa1111,us-east-1:ami-0bbb2222")]), /names 2 images/],
        ["stale entry (last build from another run)", doc([build("eu-west-1:ami-0aaa1111", "run-1")]), /stale entry/],
        [
            "stale entry (older than this build)",
            doc([build("eu-west-1:ami-0aaa1111", "run-2", 1_700_000_000)]),
            /stale entry/,
            1_800_000_000,
        ],
        ["other region", doc([build("us-east-1:ami-0aaa1111")]), /not the build region/],
        ["no artifact id", doc([{ ...build("x"), artifact_id: "" }]), /no artifact_id/],
        ["artifact without region", doc([build("ami-0aaa1111")]), /not region:ami/],
    ];
    for (const [what, text, err, notBefore] of bad) {
        it(`rejects ${what}`, () => {
            assert.throws(() => parseManifest(text, { region: "eu-west-1", ...(notBefore ? { notBefore } : {}) }), err);
        });
    }
});
