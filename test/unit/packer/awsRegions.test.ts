/**
 * The pinned AWS region list: well formed, and the same as the installed AWS SDK's region metadata
 * (so an SDK upgrade that brings a region says which to add); the override variable; the message.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    AWS_PARTITION_REGIONS,
    AWS_REGIONS,
    EXTRA_REGIONS_ENV,
    extraRegions,
    unknownRegionProblem,
} from "../../../providers/packer/awsRegions";
import { regionProblem } from "../../../providers/packer/validate";

/** The installed SDK's partition metadata (see the source comment of awsRegions.ts), or undefined when it moved. */
function sdkPartitions(): Record<string, string[]> | undefined {
    const core = path.dirname(require.resolve("@aws-sdk/core/package.json"));
    const file = path.join(core, "dist-es/submodules/client/util-endpoints/lib/aws/partitions.js");
    if (!fs.existsSync(file)) return undefined;
    const text = fs
        .readFileSync(file, "utf8")
        .replace(/^export const partitionsInfo = /, "")
        .replace(/;\s*$/, "");
    const doc = JSON.parse(text) as { partitions: { id: string; regions: Record<string, unknown> }[] };
    return Object.fromEntries(doc.partitions.map((p) => [p.id, Object.keys(p.regions).filter((r) => !r.endsWith("-global"))]));
}

describe("awsRegions", () => {
    it("lists each region once, sorted, every one a well-formed region name", () => {
        assert.deepEqual([...AWS_REGIONS], [...new Set(AWS_REGIONS)].sort());
        for (const r of AWS_REGIONS) assert.equal(regionProblem(r), undefined, r);
        for (const r of ["us-east-1", "eu-west-1", "ap-southeast-7", "cn-north-1", "us-gov-west-1", "eusc-de-east-1"])
            assert.ok(AWS_REGIONS.includes(r), r);
    });

    it("is the installed AWS SDK's region list (on a mismatch: update providers/packer/awsRegions.ts, its source and date)", function () {
        const sdk = sdkPartitions();
        if (!sdk) {
            // The SDK moved its metadata (it is no public API): the pinned list stands on its own.
            this.skip();
        }
        const ours = Object.fromEntries(Object.entries(AWS_PARTITION_REGIONS).map(([p, rs]) => [p, [...rs].sort()]));
        const theirs = Object.fromEntries(Object.entries(sdk).map(([p, rs]) => [p, [...rs].sort()]));
        assert.deepEqual(ours, theirs);
    });

    it(`reads ${EXTRA_REGIONS_ENV}: comma- or space-separated, empty entries dropped`, () => {
        assert.deepEqual(extraRegions({}), []);
        assert.deepEqual(extraRegions({ [EXTRA_REGIONS_ENV]: "" }), []);
        assert.deepEqual(extraRegions({ [EXTRA_REGIONS_ENV]: " us-east-9, eu-west-9  ap-x-1,," }), ["us-east-9", "eu-west-9", "ap-x-1"]);
    });

    it("an unknown region: names the list and the override, with the near names", () => {
        assert.equal(unknownRegionProblem("eu-west-1", []), undefined);
        assert.equal(unknownRegionProblem("us-east-9", ["us-east-9"]), undefined);
        assert.equal(
            unknownRegionProblem("us-east-9", []),
            '"us-east-9" is not an AWS region this project knows (the AWS SDK\'s region list of 2026-12-01, providers/packer/awsRegions.ts): ' +
                "did you mean us-east-1 or us-east-2? fix the name, or if it is a region newer than the list add it to the environment " +
                "variable COUCHBASE_IMAGES_EXTRA_REGIONS (comma-separated) of the CLI that runs preview and up",
        );
        assert.match(
            unknownRegionProblem("eu-wset-1", []) ?? "",
            /^"eu-wset-1" is not an AWS region this project knows \(.*\): fix the name/,
        );
    });
});
