/**
 * The download mode's table and its pure functions: the package URL pattern, the table's rows
 * (exactly the shared data file's facts), and which sha256 a build must find. Proof limit: the
 * table's values are as collected from Couchbase's Docker definitions; nothing here reaches
 * Couchbase's site (the published .sha256 files are not re-read).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    ENTERPRISE_DEB_SHA256,
    expectedSha256,
    packageFileName,
    packageSha256Url,
    packageUrl,
    PACKAGE_ARCHES,
    stackPin,
    tableSha256,
} from "../../../providers/packer/couchbasePackages";

const PIN = "0123456789abcdef".repeat(4);

describe("couchbasePackages", () => {
    it("packageUrl: Couchbase's release URL pattern, per version, edition and architecture", () => {
        const table: [string, string, string, string][] = [
            [
                "8.0.0",
                "enterprise",
                "amd64",
                "https://packages.couchbase.com/releases/8.0.0/couchbase-server-enterprise_8.0.0-linux_amd64.deb",
            ],
            [
                "7.6.11",
                "enterprise",
                "arm64",
                "https://packages.couchbase.com/releases/7.6.11/couchbase-server-enterprise_7.6.11-linux_arm64.deb",
            ],
            [
                "7.6.4",
                "community",
                "amd64",
                "https://packages.couchbase.com/releases/7.6.4/couchbase-server-community_7.6.4-linux_amd64.deb",
            ],
        ];
        for (const [v, e, a, url] of table) {
            assert.equal(packageUrl(v, e, a), url);
            assert.equal(packageSha256Url(v, e, a), `${url}.sha256`);
            assert.equal(packageFileName(v, e, a), url.split("/").pop());
        }
    });

    it("the table holds exactly the shared data file's rows (Enterprise 7.6.0-7.6.11 and 8.0.0-8.0.2, amd64 and arm64)", function () {
        const data = path.resolve(__dirname, "../../../../shared/data/couchbase-server-enterprise-debs.tsv");
        if (!fs.existsSync(data)) this.skip(); // only beside the shared data, where the table was seeded
        const rows = fs
            .readFileSync(data, "utf8")
            .split("\n")
            .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("version\t"))
            .map((l) => l.split("\t"));
        assert.deepEqual(
            ENTERPRISE_DEB_SHA256.map((r) => [...r]),
            rows,
        );
    });

    it("the table: one row per version and architecture, every sha256 64 lowercase hex, every version for both architectures", () => {
        const keys = ENTERPRISE_DEB_SHA256.map(([v, a]) => `${v}/${a}`);
        assert.equal(new Set(keys).size, keys.length);
        for (const [v, a, sha] of ENTERPRISE_DEB_SHA256) {
            assert.match(v, /^\d+\.\d+\.\d+$/);
            assert.ok((PACKAGE_ARCHES as readonly string[]).includes(a));
            assert.match(sha, /^[0-9a-f]{64}$/);
        }
        const versions = new Set(ENTERPRISE_DEB_SHA256.map(([v]) => v));
        for (const v of versions) for (const a of PACKAGE_ARCHES) assert.ok(tableSha256(v, "enterprise", a), `${v} ${a}`);
        assert.equal(versions.size, 15);
    });

    it("tableSha256: Enterprise rows only", () => {
        assert.equal(tableSha256("8.0.0", "enterprise", "amd64"), "5cf4f59906fa378b42ea58c3268febe222a1723387d472a853c6a0e4542df0e0");
        assert.equal(tableSha256("8.0.0", "enterprise", "arm64"), "cd5879dbc2a3b5776e19fd8e340727376c9aa38be01bdc1c710e538a68d8f7ad");
        assert.equal(tableSha256("8.0.0", "community", "amd64"), undefined);
        assert.equal(tableSha256("8.0.3", "enterprise", "amd64"), undefined);
        assert.equal(tableSha256("8.0.0", "enterprise", "s390x"), undefined);
    });

    it("expectedSha256: the table's, the pin where the table lacks it, else where Couchbase publishes it", () => {
        const t = "d08569edff129295eaf4faebc9d2c98b5d152226c88e5e7e8a1550965d7567f0"; // 8.0.2 amd64
        assert.deepEqual(expectedSha256("8.0.2", "enterprise", "amd64", ""), { sha256: t, from: "table" });
        assert.deepEqual(expectedSha256("8.0.2", "enterprise", "amd64", t), { sha256: t, from: "table" });
        assert.deepEqual(expectedSha256("8.0.3", "enterprise", "amd64", PIN), { sha256: PIN, from: "pin" });
        assert.deepEqual(expectedSha256("8.0.2", "community", "arm64", PIN), { sha256: PIN, from: "pin" });
        const lacks = expectedSha256("8.0.3", "enterprise", "arm64", "");
        assert.ok("problem" in lacks);
        assert.match(
            lacks.problem,
            /^Couchbase Server enterprise 8\.0\.3 for arm64 is not in the project's table .* pin its sha256, which Couchbase publishes at https:\/\/packages\.couchbase\.com\/releases\/8\.0\.3\/couchbase-server-enterprise_8\.0\.3-linux_arm64\.deb\.sha256 /,
        );
        const conflict = expectedSha256("8.0.2", "enterprise", "amd64", PIN);
        assert.ok("problem" in conflict);
        assert.match(conflict.problem, new RegExp(`^the pinned sha256 ${PIN} .* differs from the project's table .* which has ${t} `));
    });

    it("stackPin: exactly the version's and architecture's entry, or empty", () => {
        const pins = { "8.0.3": { amd64: PIN } };
        assert.equal(stackPin(pins, "8.0.3", "amd64"), PIN);
        assert.equal(stackPin(pins, "8.0.3", "arm64"), "");
        assert.equal(stackPin(pins, "8.0.4", "amd64"), "");
        assert.equal(stackPin({}, "constructor", "amd64"), "");
    });
});
