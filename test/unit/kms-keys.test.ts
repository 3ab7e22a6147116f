import * as assert from "node:assert/strict";
import { ConfigError, parseConfig } from "../../pipeline/config";
import { buildKmsKeyRegionProblem, copyKmsKeyProblem, parseKmsArn } from "../../pipeline/kmsKeys";

const KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
const arn = (region: string, rest = `key/${KEY_ID}`) => `arn:aws:kms:${region}:123456789012:${rest}`;

describe("KMS keys per region (pipeline/kmsKeys.ts)", () => {
    const copyTable: { key: string; ok?: true; says?: RegExp }[] = [
        { key: "", ok: true },
        { key: arn("eu-west-1"), ok: true },
        { key: arn("eu-west-1", "alias/images"), ok: true },
        { key: arn("eu-west-1", "key/mrk-0123456789abcdef0123456789abcdef"), ok: true },
        { key: "arn:aws-cn:kms:eu-west-1:123456789012:key/x", ok: true },
        {
            key: "alias/images",
            says: /^"alias\/images" is not a key ARN: .* in eu-west-1 .*aws kms describe-key --region eu-west-1 --key-id alias\/images/,
        },
        { key: KEY_ID, says: /is not a key ARN/ },
        { key: "mrk-0123456789abcdef0123456789abcdef", says: /is not a key ARN/ },
        { key: arn("us-east-1"), says: /is a key in us-east-1, but this copy is made in eu-west-1: .*give the ARN of a key in eu-west-1/ },
        { key: "arn:aws:kms:eu-west-1:12345:key/x", says: /is not a key ARN/ },
    ];
    for (const t of copyTable) {
        it(`copy region eu-west-1, ${JSON.stringify(t.key)}: ${t.ok ? "accepted" : "refused"}`, () => {
            const got = copyKmsKeyProblem(t.key, "eu-west-1");
            if (t.ok) assert.equal(got, undefined);
            else assert.match(got ?? "", t.says!);
        });
    }

    const buildTable: { key: string; ok?: true }[] = [
        { key: "", ok: true },
        { key: KEY_ID, ok: true },
        { key: "alias/images", ok: true },
        { key: arn("us-east-1"), ok: true },
        { key: arn("eu-west-1") },
    ];
    for (const t of buildTable) {
        it(`build region us-east-1, ${JSON.stringify(t.key)}: ${t.ok ? "accepted" : "refused"}`, () => {
            const got = buildKmsKeyRegionProblem(t.key, "us-east-1");
            if (t.ok) assert.equal(got, undefined);
            else assert.match(got ?? "", /is a key in eu-west-1, but the image is built in us-east-1/);
        });
    }

    it("parses an ARN's parts", () => {
        assert.deepEqual(parseKmsArn(arn("eu-west-1", "alias/a/b")), {
            partition: "aws",
            region: "eu-west-1",
            account: "123456789012",
            kind: "alias",
            name: "a/b",
        });
        assert.equal(parseKmsArn("alias/a"), undefined);
    });
});

describe("KMS keys at preview (parseConfig)", () => {
    const ctx = { stack: "dev-alice", project: "couchbase-images", user: "alice" };
    const base = { sshCidrs: ["203.0.113.7/32"], couchbasePackageSource: ".build/standin", copyRegions: ["eu-west-1"] };
    function problems(kmsKeyIds: Record<string, string>): string[] {
        try {
            parseConfig({ ...base, kmsKeyIds }, ctx);
            return [];
        } catch (e) {
            assert.ok(e instanceof ConfigError, String(e));
            return e.problems;
        }
    }
    it("Pulumi.yaml's old example, alias/images for a copy region, is refused naming kmsKeyIds and the region", () => {
        const got = problems({ "eu-west-1": "alias/images" });
        assert.equal(got.length, 1);
        assert.match(
            got[0],
            /^couchbase-images:kmsKeyIds\.eu-west-1: "alias\/images" is not a key ARN: a copy region's key must be the full ARN of a key \(or alias\) in eu-west-1/,
        );
    });
    it("a key ARN of another region for a copy region is refused", () => {
        assert.match(
            problems({ "eu-west-1": arn("us-east-1") })[0],
            /^couchbase-images:kmsKeyIds\.eu-west-1: .* is a key in us-east-1, but this copy is made in eu-west-1/,
        );
    });
    it("the build region keeps ids and aliases; its ARN must be of the build region", () => {
        assert.deepEqual(problems({ "us-east-1": "alias/images", "eu-west-1": arn("eu-west-1") }), []);
        assert.deepEqual(problems({ "us-east-1": KEY_ID }), []);
        assert.match(
            problems({ "us-east-1": arn("eu-west-1") })[0],
            /^couchbase-images:kmsKeyIds\.us-east-1: .* is a key in eu-west-1, but the image is built in us-east-1/,
        );
    });
    it("a malformed build-region key is reported once, by the form rule", () => {
        const got = problems({ "us-east-1": "bogus" });
        assert.equal(got.length, 1);
        assert.match(got[0], /kmsKeyIds\.us-east-1: "bogus" is not a KMS key/);
    });
});
