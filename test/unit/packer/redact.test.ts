/** Redaction table: AWS keys, secret values, signatures and private keys never pass through. */
import * as assert from "node:assert/strict";
import { createRedactor, redactText } from "../../../providers/packer/redact";

describe("redact", () => {
    const cases: [string, string, RegExp, RegExp?][] = [
        ["access key id", "using AKIAIOSFODNN7EXAMPLE now", /AKIAIOSFODNN7EXAMPLE/, /using \[REDACTED\] now/],
        ["temporary key id", "key ASIAIOSFODNN7EXAMPLE", /ASIAIOSFODNN7EXAMPLE/],
        [
            "secret key assignment",
            "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            /wJalrXUtnFEMI/,
            /aws_secret_access_key=\[REDACTED\]/,
        ],
        ["JSON secret", '{"SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}', /wJalrXUtnFEMI/],
        ["session token", "AWS_SESSION_TOKEN=FwoGZXIvYXdzEBYaDHVeryLongToken", /FwoGZXIvYXdzEBYaD/],
        ["password", "ssh_password: hunter2hunter2", /hunter2/],
        [
            "SigV4 signature",
            "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261125/us-east-1/ec2/aws4_request, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
            /fe5f80f77d5fa3be|AKIAIOSFODNN7EXAMPLE/,
        ],
    ];
    for (const [what, line, gone, want] of cases) {
        it(`masks ${what}`, () => {
            const out = createRedactor()(line);
            assert.doesNotMatch(out, gone);
            if (want) assert.match(out, want);
        });
    }
    it("masks literal secrets given by the caller, short ones too (as Pulumi does); the empty string masks nothing", () => {
        const r = createRedactor(["s3cr3t-value-123", "abc", "Zq@x:", "x", ""]);
        assert.equal(r("token is s3cr3t-value-123 and abc, tag Zq@x:"), "token is [REDACTED] and [REDACTED], tag [REDACTED]");
        assert.equal(r("a tag wxy"), "a tag w[REDACTED]y", "a one-character secret is masked wherever it occurs");
        assert.equal(createRedactor([""])("nothing to mask"), "nothing to mask");
    });
    it("masks a secret containing another secret whole", () => {
        assert.equal(createRedactor(["ab", "xxabyy"])("v=xxabyy w=ab"), "v=[REDACTED] w=[REDACTED]");
    });
    it("masks a whole private key block across lines", () => {
        const r = createRedactor();
        const lines = [
            "before",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
            "b3BlbnNzaC1rZXktdjEAAAAA",
            "AAAAC3NzaC1lZDI1NTE5",
            "-----END OPENSSH PRIVATE KEY-----",
            "after",
        ].map(r);
        assert.deepEqual(lines, ["before", "[REDACTED] (private key)", "[REDACTED]", "[REDACTED]", "[REDACTED]", "after"]);
    });
    it("leaves ordinary Packer output alone", () => {
        const line = "==> amazon-ebs.couchbase: Creating temporary keypair: packer_6748a3c1";
        assert.equal(createRedactor()(line), line);
        assert.equal(redactText("a\nAMI: ami-0123456789abcdef0\nb"), "a\nAMI: ami-0123456789abcdef0\nb");
    });
});
