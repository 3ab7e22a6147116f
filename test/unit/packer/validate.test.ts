/**
 * Input validation table: each bad input fails naming exactly its property, with a reason that
 * says how to fix it. Proof limit: the pure rules only; file checks and `packer validate` are
 * covered by the provider's check tests.
 */
import * as assert from "node:assert/strict";
import * as path from "node:path";
import {
    applyDefaults,
    cidrProblem,
    containsUnknown,
    parseCidr,
    relativePathProblem,
    resolvePackageSha256,
    UNKNOWN,
    validateInputs,
} from "../../../providers/packer/validate";
import type { ResolvedImageInputs } from "../../../providers/packer/types";
import { downloadInputs, goodInputs, TEST_KEY_FINGERPRINT, TEST_RELEASE_SHA256 } from "./fixtures";

describe("validate: applyDefaults", () => {
    it("fills every documented default", () => {
        const i = applyDefaults({});
        assert.equal(i.templateDir, "images/aws");
        assert.equal(i.instanceType, "t3.large");
        assert.equal(i.couchbaseEdition, "enterprise");
        assert.equal(i.couchbasePackageSource, "download");
        assert.equal(i.couchbasePackageSha256, "");
        assert.equal(i.architecture, "amd64");
        assert.equal(i.agentUnit, "agent/dp-agent.service");
        assert.equal(i.namePrefix, "couchbase-cloud-server");
        assert.equal(i.ttlHours, 72);
        assert.equal(i.buildTimeoutMinutes, 90);
        assert.equal(i.emulator, false);
        assert.deepEqual(i.copyRegions, []);
        assert.deepEqual(i.baseImage.owners, ["099720109477"]);
        assert.equal(i.couchbaseReleaseUrl, "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb");
        assert.equal(i.couchbaseReleaseSha256, "");
        assert.deepEqual(i.couchbaseKeyFingerprints, []);
    });
    it("normalizes the repository pins to the template's form (sha256 lowercase; fingerprints without spaces, uppercase)", () => {
        const i = applyDefaults({
            couchbaseReleaseSha256: ` ${TEST_RELEASE_SHA256.toUpperCase()}\n`,
            couchbaseKeyFingerprints: ["0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567"],
        });
        assert.equal(i.couchbaseReleaseSha256, TEST_RELEASE_SHA256);
        assert.deepEqual(i.couchbaseKeyFingerprints, [TEST_KEY_FINGERPRINT]);
    });
    it("leaves unknown (preview) pins alone", () => {
        const i = applyDefaults({ couchbaseReleaseSha256: UNKNOWN, couchbaseKeyFingerprints: [UNKNOWN] });
        assert.equal(i.couchbaseReleaseSha256, UNKNOWN);
        assert.deepEqual(i.couchbaseKeyFingerprints, [UNKNOWN]);
    });
    it("keeps given values, treats null as unset", () => {
        const i = applyDefaults({ instanceType: "m7i.large", ttlHours: null });
        assert.equal(i.instanceType, "m7i.large");
        assert.equal(i.ttlHours, 72);
    });
});

describe("validate: validateInputs", () => {
    it("accepts a sound input set", () => {
        assert.deepEqual(validateInputs(goodInputs()), []);
    });

    const cases: [string, Partial<ResolvedImageInputs>, string, RegExp][] = [
        ["bad region", { region: "europe-west" }, "region", /not an AWS region name/],
        ["empty region", { region: "" }, "region", /is empty/],
        ["build region among copy regions", { copyRegions: ["eu-west-1"] }, "copyRegions[0]", /is the build region/],
        ["duplicated copy region", { copyRegions: ["us-east-1", "us-east-1"] }, "copyRegions[1]", /listed twice/],
        ["bad copy region", { copyRegions: ["mars-1"] }, "copyRegions[0]", /not an AWS region name/],
        [
            "unknown build region",
            { region: "eu-west-9" },
            "region",
            /^"eu-west-9" is not an AWS region this project knows \(.*awsRegions\.ts\): did you mean eu-west-1 or eu-west-2 or eu-west-3\? fix the name, or .* COUCHBASE_IMAGES_EXTRA_REGIONS/,
        ],
        [
            "unknown copy region",
            { copyRegions: ["us-east-1", "us-east-9"] },
            "copyRegions[1]",
            /^"us-east-9" is not an AWS region this project knows/,
        ],
        ["world-open IPv4 CIDR", { sshCidrs: ["0.0.0.0/0"] }, "sshCidrs[0]", /whole internet/],
        ["world-open IPv6 CIDR", { sshCidrs: ["203.0.113.4/32", "::/0"] }, "sshCidrs[1]", /whole internet/],
        ["malformed CIDR", { sshCidrs: ["10.0.0.300/8"] }, "sshCidrs[0]", /not a CIDR/],
        ["no CIDRs", { sshCidrs: [] }, "sshCidrs", /is empty/],
        ["absolute template dir", { templateDir: path.resolve("images/aws") }, "templateDir", /is absolute/],
        ["template dir outside project", { templateDir: "../images" }, "templateDir", /leaves the project/],
        ["empty agent sha256", { agentSha256: "" }, "agentSha256", /is empty/],
        ["malformed agent sha256", { agentSha256: "ABC123" }, "agentSha256", /not a sha256/],
        ["uppercase agent sha256", { agentSha256: "A".repeat(64) }, "agentSha256", /not a sha256/],
        ["agent artifact not .gz", { agentArtifact: "dp-agent" }, "agentArtifact", /not a \.gz/],
        ["malformed Couchbase version", { couchbaseVersion: "7.6" }, "couchbaseVersion", /not a Couchbase Server version/],
        ["empty Couchbase version", { couchbaseVersion: "" }, "couchbaseVersion", /is empty/],
        ["bad edition", { couchbaseEdition: "free" }, "couchbaseEdition", /enterprise/],
        ["bad name prefix (uppercase)", { namePrefix: "Couchbase" }, "namePrefix", /usable name prefix/],
        ["bad name prefix (trailing hyphen)", { namePrefix: "couchbase-" }, "namePrefix", /usable name prefix/],
        ["negative TTL", { ttlHours: -1 }, "ttlHours", /negative/],
        ["bad instance type", { instanceType: "large" }, "instanceType", /not an EC2 instance type/],
        ["bad environment", { environment: "qa" }, "environment", /not an environment/],
        ["prod without release", { environment: "prod" }, "release", /production images carry a release/],
        ["empty owner", { owner: "" }, "owner", /is empty/],
        ["reserved extra tag", { extraTags: { Stack: "x" } }, "extraTags.Stack", /set by the project/],
        ["aws: extra tag", { extraTags: { "aws:foo": "x" } }, "extraTags.aws:foo", /reserved aws: prefix/],
        ["bad base image id", { baseImage: { id: "ami-XYZ" } }, "baseImage.id", /not an image id/],
        ["name filter without owners", { baseImage: { nameFilter: "debian-*" } }, "baseImage.owners", /is empty/],
        ["base image names nothing", { baseImage: {} }, "baseImage", /names no image/],
        ["bad KMS key", { kmsKeyId: "my-key" }, "kmsKeyId", /not a KMS key/],
        ["bad subnet", { subnetId: "sn-1" }, "subnetId", /not a subnet id/],
        ["bad endpoint", { ec2Endpoint: "localhost:5000" }, "ec2Endpoint", /not an http\(s\) URL/],
        ["bad ssh port", { sshPort: 70000 }, "sshPort", /not a TCP port/],
        ["zero deadline", { buildTimeoutMinutes: 0 }, "buildTimeoutMinutes", /usable deadline/],
        [
            "bad package source",
            { couchbasePackageSource: path.resolve(".build/debs") },
            "couchbasePackageSource",
            /is absolute.*repository/,
        ],
        [
            "repository mode without release sha256",
            { couchbaseReleaseSha256: "" },
            "couchbaseReleaseSha256",
            /^is empty, but couchbasePackageSource is "repository", which needs it .*sha256sum.*; or use a local package folder$/,
        ],
        [
            "malformed release sha256",
            { couchbaseReleaseSha256: "abc" },
            "couchbaseReleaseSha256",
            /^"abc" is not a sha256: .*64 hex digits/,
        ],
        [
            "release sha256 with a non-hex digit",
            { couchbaseReleaseSha256: "g" + TEST_RELEASE_SHA256.slice(1) },
            "couchbaseReleaseSha256",
            /is not a sha256/,
        ],
        [
            "repository mode without key fingerprints",
            { couchbaseKeyFingerprints: [] },
            "couchbaseKeyFingerprints",
            /^is empty, but couchbasePackageSource is "repository", which needs it .*gpg --show-keys.*; or use a local package folder$/,
        ],
        [
            "short key fingerprint",
            { couchbaseKeyFingerprints: ["0123456789ABCDEF"] },
            "couchbaseKeyFingerprints[0]",
            /^"0123456789ABCDEF" is not an OpenPGP key fingerprint: give 40 hex digits \(spaces are ignored\)/,
        ],
        [
            "non-hex key fingerprint",
            { couchbaseKeyFingerprints: [TEST_KEY_FINGERPRINT, "Z".repeat(40)] },
            "couchbaseKeyFingerprints[1]",
            /not an OpenPGP key fingerprint/,
        ],
        [
            "duplicated key fingerprint",
            { couchbaseKeyFingerprints: [TEST_KEY_FINGERPRINT, TEST_KEY_FINGERPRINT.toLowerCase()] },
            "couchbaseKeyFingerprints[1]",
            /listed twice/,
        ],
        [
            "key fingerprints not a list",
            { couchbaseKeyFingerprints: "x" as unknown as string[] },
            "couchbaseKeyFingerprints",
            /must be a list/,
        ],
        [
            "release URL not https",
            { couchbaseReleaseUrl: "http://packages.couchbase.com/r.deb" },
            "couchbaseReleaseUrl",
            /is not an https URL/,
        ],
        ["empty release URL", { couchbaseReleaseUrl: "" }, "couchbaseReleaseUrl", /is not an https URL/],
        [
            "malformed pin with a local package folder",
            { couchbasePackageSource: ".build/standin", couchbaseReleaseSha256: "abc", couchbaseKeyFingerprints: [] },
            "couchbaseReleaseSha256",
            /is not a sha256/,
        ],
        // Each message says exactly what is wrong: too long, empty, not a string, which characters.
        [
            "owner of 300 characters",
            { owner: "o".repeat(300) },
            "owner",
            /^"o{40}…" is 300 characters long: it becomes the Owner tag, whose value takes at most 256; give a shorter owner/,
        ],
        ["blank owner", { owner: "   " }, "owner", /^is empty: set who owns/],
        ["owner not a string", { owner: 42 as unknown as string }, "owner", /^must be a string: .*\(got 42\)$/],
        [
            "name prefix of 65 characters",
            { namePrefix: "c".repeat(65) },
            "namePrefix",
            /^"c{40}…" is not a usable name prefix: it is 65 characters long, at most 64$/,
        ],
        [
            "name prefix of 2 characters",
            { namePrefix: "cb" },
            "namePrefix",
            /^"cb" is not a usable name prefix: it is 2 characters long, at least 3$/,
        ],
        ["empty name prefix", { namePrefix: "" }, "namePrefix", /^is empty: give a name prefix such as couchbase-cloud-server$/],
        [
            "name prefix with bad characters",
            { namePrefix: "Couchbase_Server" },
            "namePrefix",
            /^"Couchbase_Server" is not a usable name prefix: it contains "C", "_", "S"; use lowercase letters, digits and hyphens$/,
        ],
        [
            "name prefix starting with a digit",
            { namePrefix: "1couchbase" },
            "namePrefix",
            /: it starts with "1"; start with a lowercase letter$/,
        ],
        ["name prefix ending with a hyphen", { namePrefix: "couchbase-" }, "namePrefix", /: it ends with "-"; end with a letter or digit$/],
        [
            "stack name of 65 characters",
            { stack: "s".repeat(65) },
            "stack",
            /is not a usable stack name: it is 65 characters long, at most 64$/,
        ],
        [
            "stack name with a space",
            { stack: "dev alice" },
            "stack",
            /^"dev alice" is not a usable stack name: it contains " "; use letters, digits/,
        ],
        [
            "release name of 70 characters",
            { release: "v".repeat(70) },
            "release",
            /is not a usable release name: it is 70 characters long, at most 64$/,
        ],
        [
            "release name starting with a dot",
            { release: ".v1" },
            "release",
            /^".v1" is not a usable release name: it starts with "."; start with a letter or digit$/,
        ],
        [
            "SSH user with an uppercase letter",
            { sshUsername: "Admin" },
            "sshUsername",
            /^"Admin" is not a usable Unix user name: it contains "A"; use lowercase letters/,
        ],
        [
            "SSH user of 33 characters",
            { sshUsername: "u".repeat(33) },
            "sshUsername",
            /is not a usable Unix user name: it is 33 characters long, at most 32$/,
        ],
        ["empty SSH user", { sshUsername: "" }, "sshUsername", /^is empty: give a Unix user name such as ubuntu$/],
        [
            "tag key of 129 characters",
            { extraTags: { ["k".repeat(129)]: "v" } },
            `extraTags.${"k".repeat(129)}`,
            /^the tag key "k{40}…" is 129 characters long: tag keys take at most 128$/,
        ],
        ["empty tag key", { extraTags: { "": "v" } }, "extraTags.", /^has a tag with an empty key/],
        [
            "tag value of 257 characters",
            { extraTags: { CostCenter: "v".repeat(257) } },
            "extraTags.CostCenter",
            /^the value of tag "CostCenter" is 257 characters long: tag values take at most 256$/,
        ],
        [
            "tag value not a string",
            { extraTags: { CostCenter: 42 as unknown as string } },
            "extraTags.CostCenter",
            /^the value of tag "CostCenter" is not a string \(got 42\)/,
        ],
        ["region not a string", { region: 5 as unknown as string }, "region", /^must be a string: set an AWS region/],
        ["template dir not a string", { templateDir: 5 as unknown as string }, "templateDir", /^must be a string: give a path/],
        ["SSH CIDRs not a list", { sshCidrs: "10.0.0.0/8" as unknown as string[] }, "sshCidrs", /^must be a list of CIDRs/],
        ["SSH CIDR not a string", { sshCidrs: [7 as unknown as string] }, "sshCidrs", /^must be a list of CIDRs/],
        [
            "Couchbase version not a string",
            { couchbaseVersion: 7 as unknown as string },
            "couchbaseVersion",
            /^must be a string: set the Couchbase Server version/,
        ],
        [
            "agent sha256 not a string",
            { agentSha256: 7 as unknown as string },
            "agentSha256",
            /^must be a string: give the artifact's sha256/,
        ],
        ["empty instance type", { instanceType: "" }, "instanceType", /^is empty: give an EC2 instance type/],
        [
            "base image owners not a list",
            { baseImage: { nameFilter: "debian-*", owners: "136693071363" as unknown as string[] } },
            "baseImage.owners",
            /^must be a list of owner account ids/,
        ],
        ["SSH host of 300 characters", { sshHost: "h".repeat(300) }, "sshHost", /is 300 characters long: a host name has at most 253$/],
    ];
    for (const [what, over, property, reason] of cases) {
        it(`rejects ${what}, naming ${property}`, () => {
            const failures = validateInputs(goodInputs(over));
            assert.equal(failures.length, 1, JSON.stringify(failures));
            assert.equal(failures[0].property, property);
            assert.match(failures[0].reason, reason);
        });
    }

    it("a region newer than the list counts as known when the override names it (option, or the environment variable)", () => {
        const i = goodInputs({ region: "us-east-9", copyRegions: ["eu-west-1", "ap-south-9"] });
        assert.deepEqual(
            validateInputs(i, { extraRegions: [] }).map((f) => f.property),
            ["region", "copyRegions[1]"],
        );
        assert.deepEqual(validateInputs(i, { extraRegions: ["us-east-9", "ap-south-9"] }), []);
        const saved = process.env.COUCHBASE_IMAGES_EXTRA_REGIONS;
        try {
            process.env.COUCHBASE_IMAGES_EXTRA_REGIONS = "us-east-9,ap-south-9";
            assert.deepEqual(validateInputs(i), [], "the provider's check calls validateInputs(i): the variable reaches it");
            process.env.COUCHBASE_IMAGES_EXTRA_REGIONS = "us-east-9";
            assert.deepEqual(
                validateInputs(i).map((f) => f.property),
                ["copyRegions[1]"],
            );
        } finally {
            if (saved === undefined) delete process.env.COUCHBASE_IMAGES_EXTRA_REGIONS;
            else process.env.COUCHBASE_IMAGES_EXTRA_REGIONS = saved;
        }
        // The override never makes a malformed name a region.
        assert.match(validateInputs(goodInputs({ region: "mars" }), { extraRegions: ["mars"] })[0]?.reason ?? "", /not an AWS region name/);
    });

    it("reports every failure at once", () => {
        const failures = validateInputs(goodInputs({ region: "x", ttlHours: -3, agentSha256: "" }));
        assert.deepEqual(
            failures.map((f) => f.property),
            ["region", "agentSha256", "ttlHours"],
        );
    });

    it("skips values not known yet (preview)", () => {
        assert.deepEqual(validateInputs(goodInputs({ agentSha256: UNKNOWN, copyRegions: [UNKNOWN] })), []);
        assert.deepEqual(validateInputs(goodInputs({ couchbaseReleaseSha256: UNKNOWN, couchbaseKeyFingerprints: [UNKNOWN] })), []);
        assert.deepEqual(
            validateInputs(goodInputs({ couchbasePackageSource: UNKNOWN, couchbaseReleaseSha256: "", couchbaseKeyFingerprints: [] })),
            [],
        );
    });

    it("a local package folder needs no repository pins", () => {
        assert.deepEqual(
            validateInputs(
                goodInputs({ couchbasePackageSource: ".build/standin", couchbaseReleaseSha256: "", couchbaseKeyFingerprints: [] }),
            ),
            [],
        );
    });

    it("accepts fingerprints as gpg prints them (grouped, any case) and several keys", () => {
        const spaced = "0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567";
        assert.deepEqual(
            validateInputs(goodInputs({ couchbaseKeyFingerprints: [spaced, "89ABCDEF0123456789ABCDEF0123456789ABCDEF"] })),
            [],
        );
    });

    it("accepts release names for prod, a TTL of 0, IPv6 CIDRs, endpoints and explicit base images", () => {
        const i = goodInputs({
            environment: "prod",
            release: "v0.1.17",
            ttlHours: 0,
            sshCidrs: ["2001:db8::/64", "10.0.0.0/8"],
            ec2Endpoint: "http://127.0.0.1:5000",
            baseImage: { id: "ami-0123456789abcdef0" },
            kmsKeyId: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            couchbasePackageSource: ".build/couchbase",
        });
        assert.deepEqual(validateInputs(i), []);
    });
});

describe("validate: helpers", () => {
    const cidrs: [string, ReturnType<typeof parseCidr>][] = [
        ["10.0.0.0/8", { family: 4, prefix: 8 }],
        ["203.0.113.4/32", { family: 4, prefix: 32 }],
        ["0.0.0.0/0", { family: 4, prefix: 0 }],
        ["::/0", { family: 6, prefix: 0 }],
        ["2001:db8::/64", { family: 6, prefix: 64 }],
        ["10.0.0.0/33", undefined],
        ["10.0.0/8", undefined],
        ["010.0.0.0/8", undefined],
        ["2001:db8::1::/64", undefined],
        ["example.com/32", undefined],
    ];
    for (const [c, want] of cidrs) it(`parseCidr(${c})`, () => assert.deepEqual(parseCidr(c), want));
    it("cidrProblem accepts a /32", () => assert.equal(cidrProblem("198.51.100.7/32"), undefined));
    it("relativePathProblem", () => {
        assert.equal(relativePathProblem("images/aws"), undefined);
        assert.match(relativePathProblem("C:\\x") ?? "", /absolute/);
        assert.match(relativePathProblem("a\\b") ?? "", /backslash/);
        assert.match(relativePathProblem("~/x") ?? "", /absolute/);
    });
    it("containsUnknown looks inside arrays and objects", () => {
        assert.equal(containsUnknown({ a: [1, { b: UNKNOWN }] }), true);
        assert.equal(containsUnknown({ a: [1, { b: "x" }] }), false);
    });
});

describe("validate: download mode (the default)", () => {
    // Couchbase Server Enterprise 7.6.4 amd64, from the project's table.
    const TABLE_764 = "9616bba1b213231493b4d17ed677f0dc26575e0d7f09234e6d4a6e0f6b1358ad";
    const PIN = "0123456789abcdef".repeat(4);
    const published = (v: string, e: string, a: string) =>
        `https://packages.couchbase.com/releases/${v}/couchbase-server-${e}_${v}-linux_${a}.deb.sha256`;

    it("a version the table holds needs no pins at all (no repository pins either)", () => {
        assert.deepEqual(validateInputs(downloadInputs()), []);
        assert.deepEqual(validateInputs(downloadInputs({ architecture: "arm64" })), []);
    });
    it("check's resolution fills in the table's sha256, and leaves a pin, another mode and unknowns alone", () => {
        assert.equal(resolvePackageSha256(downloadInputs()).couchbasePackageSha256, TABLE_764);
        assert.equal(
            resolvePackageSha256(downloadInputs({ couchbaseVersion: "8.0.9", couchbasePackageSha256: PIN })).couchbasePackageSha256,
            PIN,
        );
        assert.equal(resolvePackageSha256(downloadInputs({ couchbaseVersion: "8.0.9" })).couchbasePackageSha256, "");
        assert.equal(resolvePackageSha256(goodInputs()).couchbasePackageSha256, "");
        assert.equal(resolvePackageSha256(downloadInputs({ couchbaseVersion: UNKNOWN })).couchbasePackageSha256, "");
    });

    const cases: [string, Partial<ResolvedImageInputs>, string, string | RegExp][] = [
        [
            "a version the table lacks, no pin",
            { couchbaseVersion: "8.0.9" },
            "couchbasePackageSha256",
            "Couchbase Server enterprise 8.0.9 for amd64 is not in the project's table (providers/packer/couchbasePackages.ts), so the download cannot be checked: " +
                `pin its sha256, which Couchbase publishes at ${published("8.0.9", "enterprise", "amd64")} (read it over a trusted network), or add the row to the table`,
        ],
        [
            "the community edition, no pin (the table holds Enterprise only)",
            { couchbaseEdition: "community" },
            "couchbasePackageSha256",
            "Couchbase Server community 7.6.4 for amd64 has no entry in the project's table (it holds Enterprise packages only) (providers/packer/couchbasePackages.ts), so the download cannot be checked: " +
                `pin its sha256, which Couchbase publishes at ${published("7.6.4", "community", "amd64")} (read it over a trusted network), or add the row to the table`,
        ],
        [
            "a pin that differs from the table",
            { couchbasePackageSha256: PIN },
            "couchbasePackageSha256",
            `the pinned sha256 ${PIN} of Couchbase Server enterprise 7.6.4 (amd64) differs from the project's table (providers/packer/couchbasePackages.ts), ` +
                `which has ${TABLE_764} from ${published("7.6.4", "enterprise", "amd64")}: remove the pin, or, if Couchbase republished the package, correct the table's row`,
        ],
        [
            "a malformed pin",
            { couchbaseVersion: "8.0.9", couchbasePackageSha256: "abc" },
            "couchbasePackageSha256",
            `"abc" is not a sha256: give the 64 hex digits Couchbase publishes at ${published("8.0.9", "enterprise", "amd64")}`,
        ],
        ["an unknown architecture", { architecture: "x86_64" }, "architecture", '"x86_64" is not an architecture: use amd64 or arm64'],
    ];
    for (const [name, over, property, reason] of cases) {
        it(`rejects ${name}, naming ${property}`, () => {
            const f = validateInputs(downloadInputs(over));
            assert.equal(f.length, 1, JSON.stringify(f));
            assert.equal(f[0].property, property);
            if (typeof reason === "string") assert.equal(f[0].reason, reason);
            else assert.match(f[0].reason, reason);
        });
    }
    it("accepts a pin for a version the table lacks, and the table's own value as a pin (uppercase too)", () => {
        assert.deepEqual(validateInputs(downloadInputs({ couchbaseVersion: "8.0.9", couchbasePackageSha256: PIN })), []);
        assert.deepEqual(validateInputs(downloadInputs({ couchbaseEdition: "community", couchbasePackageSha256: PIN })), []);
        assert.deepEqual(validateInputs(applyDefaults({ ...downloadInputs(), couchbasePackageSha256: TABLE_764.toUpperCase() })), []);
    });
    it("another mode ignores the download pin's absence (a malformed one is still a mistake)", () => {
        assert.deepEqual(validateInputs(goodInputs({ couchbaseVersion: "8.0.9" })), []);
        assert.deepEqual(validateInputs(goodInputs({ couchbasePackageSource: ".build/standin", couchbaseVersion: "8.0.9" })), []);
        assert.equal(validateInputs(goodInputs({ couchbasePackageSha256: "abc" }))[0]?.property, "couchbasePackageSha256");
    });
    it("a package source of download is no folder; a bad folder's message names all three sources", () => {
        const f = validateInputs(downloadInputs({ couchbasePackageSource: "/abs/debs" }));
        assert.equal(f[0]?.property, "couchbasePackageSource");
        assert.match(
            f[0].reason,
            /is absolute.*; or use "download" \(Couchbase's release package, checked by sha256\) or "repository" \(Couchbase's apt repository\)$/,
        );
    });
    it("values not known yet (preview) are skipped", () => {
        assert.deepEqual(validateInputs(downloadInputs({ couchbaseVersion: UNKNOWN })), []);
        assert.deepEqual(validateInputs(downloadInputs({ couchbaseVersion: "8.0.9", couchbasePackageSource: UNKNOWN })), []);
        assert.deepEqual(validateInputs(downloadInputs({ couchbaseVersion: "8.0.9", couchbasePackageSha256: UNKNOWN })), []);
    });
});
