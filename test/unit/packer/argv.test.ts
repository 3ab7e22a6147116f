/** argv builder table: Packer command lines carry no values, variables match the template, output parsing. */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    buildArgv,
    declaredVariables,
    packerEnv,
    packerVariables,
    parseMachineLine,
    parsePackerVersion,
    parsePluginVersion,
    readableLine,
    validateArgv,
} from "../../../providers/packer/argv";
import { downloadInputs, goodInputs, TEST_KEY_FINGERPRINT, TEST_RELEASE_SHA256 } from "./fixtures";

const BUILD = {
    imageName: "cb-dev-alice-0123456789ab",
    tags: { Project: "couchbase-images" },
    manifestPath: ".build/packer/x/manifest.json",
    temporaryKeyPairName: "packer-abc",
};

describe("argv", () => {
    it("buildArgv: machine-readable, no colour, cleanup on error, one var file, the template folder", () => {
        assert.deepEqual(buildArgv(".build/packer/x/vars.pkrvars.json", "images/aws"), [
            "build",
            "-machine-readable",
            "-color=false",
            "-on-error=cleanup",
            "-var-file=.build/packer/x/vars.pkrvars.json",
            "images/aws",
        ]);
    });
    it("validateArgv", () => {
        assert.deepEqual(validateArgv("v.pkrvars.json", "images/aws"), ["validate", "-var-file=v.pkrvars.json", "images/aws"]);
    });
    it("argv never carries input values (nothing to leak through ps)", () => {
        const argv = buildArgv("f.pkrvars.json", "images/aws").join(" ");
        assert.doesNotMatch(argv, /-var /);
        assert.doesNotMatch(argv, /7\.6\.4|eu-west-1|aaaa/);
    });

    it("packerVariables: the template's names; empty optional values left to template defaults", () => {
        const v = packerVariables(goodInputs(), BUILD);
        assert.deepEqual(v, {
            agent_artifact: ".build/agent/dp-agent.gz",
            agent_sha256: "a".repeat(64),
            agent_unit: "agent/dp-agent.service",
            couchbase_edition: "enterprise",
            couchbase_key_fingerprints: [TEST_KEY_FINGERPRINT],
            couchbase_package_source: "repository",
            couchbase_release_sha256: TEST_RELEASE_SHA256,
            couchbase_release_url: "https://packages.couchbase.com/releases/couchbase-release/couchbase-release-1.0-noarch.deb",
            couchbase_version: "7.6.4",
            emulator: false,
            image_name: "cb-dev-alice-0123456789ab",
            instance_type: "t3.large",
            manifest_path: ".build/packer/x/manifest.json",
            region: "eu-west-1",
            source_ami_name_filter: "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
            source_ami_owners: ["099720109477"],
            ssh_cidrs: ["203.0.113.4/32"],
            ssh_username: "ubuntu",
            tags: { Project: "couchbase-images" },
            temporary_key_pair_name: "packer-abc",
        });
    });
    it("packerVariables: emulator settings and an explicit base image", () => {
        const v = packerVariables(
            goodInputs({
                emulator: true,
                ec2Endpoint: "http://127.0.0.1:5000",
                sshHost: "127.0.0.1",
                sshPort: 2222,
                baseImage: { id: "ami-0123456789abcdef0", nameFilter: "ignored-*", owners: ["amazon"] },
            }),
            BUILD,
        );
        assert.equal(v.emulator, true);
        assert.equal(v.ec2_endpoint, "http://127.0.0.1:5000");
        assert.equal(v.ssh_host, "127.0.0.1");
        assert.equal(v.ssh_port, 2222);
        assert.equal(v.source_ami, "ami-0123456789abcdef0");
        assert.equal("source_ami_name_filter" in v, false);
        assert.equal("source_ami_owners" in v, false);
    });
    it("packerVariables: repository pins in the template's form (fingerprints without spaces, uppercase)", () => {
        const v = packerVariables(
            goodInputs({
                couchbaseKeyFingerprints: [
                    "0123 4567 89ab cdef 0123  4567 89AB CDEF 0123 4567",
                    "89ABCDEF0123456789ABCDEF0123456789ABCDEF",
                ],
            }),
            BUILD,
        );
        assert.deepEqual(v.couchbase_key_fingerprints, [TEST_KEY_FINGERPRINT, "89ABCDEF0123456789ABCDEF0123456789ABCDEF"]);
    });
    it("packerVariables: a local package folder passes no repository pins (the template's defaults stay)", () => {
        const v = packerVariables(goodInputs({ couchbasePackageSource: ".build/standin" }), BUILD);
        assert.equal(v.couchbase_package_source, ".build/standin");
        assert.deepEqual(
            Object.keys(v).filter((k) => k.startsWith("couchbase_release") || k === "couchbase_key_fingerprints"),
            [],
        );
    });
    it("packerVariables: download mode passes the package's URL (Couchbase's release URL pattern) and its sha256, no repository pins", () => {
        const sha = "0123456789abcdef".repeat(4);
        const v = packerVariables(downloadInputs({ couchbaseVersion: "8.0.9", architecture: "arm64", couchbasePackageSha256: sha }), BUILD);
        assert.equal(v.couchbase_package_source, "download");
        assert.equal(
            v.couchbase_package_url,
            "https://packages.couchbase.com/releases/8.0.9/couchbase-server-enterprise_8.0.9-linux_arm64.deb",
        );
        assert.equal(v.couchbase_package_sha256, sha);
        assert.deepEqual(
            Object.keys(v).filter((k) => k.startsWith("couchbase_release") || k === "couchbase_key_fingerprints"),
            [],
        );
        assert.deepEqual(
            Object.keys(packerVariables(goodInputs(), BUILD)).filter(
                (k) => k.startsWith("couchbase_package_") && k !== "couchbase_package_source",
            ),
            [],
        );
    });
    it("packerVariables: drops variables the template does not declare", () => {
        const v = packerVariables(goodInputs(), BUILD, ["region", "image_name"]);
        assert.deepEqual(Object.keys(v), ["image_name", "region"]);
    });
    it("every variable we pass is declared by the real template (when present)", function () {
        const tpl = path.resolve(__dirname, "../../../images/aws/couchbase-cloud.pkr.hcl");
        if (!fs.existsSync(tpl)) this.skip();
        const declared = declaredVariables([fs.readFileSync(tpl, "utf8")]);
        const ours = Object.keys(
            packerVariables(
                goodInputs({
                    emulator: true,
                    ec2Endpoint: "http://x:1",
                    sshHost: "h",
                    sshPort: 1,
                    kmsKeyId: "alias/k",
                    subnetId: "subnet-01234567",
                    vpcId: "vpc-01234567",
                    baseImage: { id: "ami-01234567" },
                }),
                BUILD,
            ),
        );
        assert.deepEqual(
            ours.filter((k) => !declared.includes(k)),
            [],
        );
        const download = Object.keys(packerVariables(downloadInputs({ couchbasePackageSha256: "f".repeat(64) }), BUILD));
        assert.deepEqual(
            download.filter((k) => !declared.includes(k)),
            [],
        );
    });
    it("declaredVariables", () => {
        assert.deepEqual(declaredVariables(['variable "b" {\n}\n  variable "a" {', 'variable "b" {']), ["a", "b"]);
    });

    it("packerEnv: inherits credentials from the environment, adds the EC2 endpoint override", () => {
        const env = packerEnv(
            { PATH: "/bin", AWS_PROFILE: "dev", UNSET: undefined },
            { ec2Endpoint: "http://127.0.0.1:5000", emulator: true },
        );
        assert.deepEqual(env, {
            PATH: "/bin",
            AWS_PROFILE: "dev",
            CHECKPOINT_DISABLE: "1",
            PACKER_NO_COLOR: "1",
            AWS_ENDPOINT_URL_EC2: "http://127.0.0.1:5000",
            AWS_EC2_METADATA_DISABLED: "true",
        });
        assert.equal("AWS_ENDPOINT_URL_EC2" in packerEnv({}, { ec2Endpoint: "", emulator: false }), false);
    });

    const lines: [string, ReturnType<typeof parseMachineLine>, string | undefined][] = [
        [
            "1732536000,,ui,say,==> amazon-ebs.couchbase: Creating temporary keypair",
            { timestamp: 1732536000, target: "", type: "ui", data: ["say", "==> amazon-ebs.couchbase: Creating temporary keypair"] },
            "==> amazon-ebs.couchbase: Creating temporary keypair",
        ],
        [
            "1732536000,,ui,message,    a%!(PACKER_COMMA) b\\nc",
            { timestamp: 1732536000, target: "", type: "ui", data: ["message", "    a, b\nc"] },
            "    a, b\nc",
        ],
        [
            "1732536000,,ui,error,Build failed",
            { timestamp: 1732536000, target: "", type: "ui", data: ["error", "Build failed"] },
            "ERROR: Build failed",
        ],
        [
            "1732536000,amazon-ebs.couchbase,artifact,0,id,eu-west-1:ami-0abc",
            { timestamp: 1732536000, target: "amazon-ebs.couchbase", type: "artifact", data: ["0", "id", "eu-west-1:ami-0abc"] },
            "amazon-ebs.couchbase: artifact 0 id eu-west-1:ami-0abc",
        ],
        ["1732536000,,version,1.16.0", { timestamp: 1732536000, target: "", type: "version", data: ["1.16.0"] }, undefined],
        ["plain text line", undefined, undefined],
    ];
    for (const [line, parsed, readable] of lines) {
        it(`parseMachineLine/readableLine: ${line.slice(0, 40)}`, () => {
            const p = parseMachineLine(line);
            assert.deepEqual(p, parsed);
            if (p) assert.equal(readableLine(p), readable);
        });
    }
    it("parsePackerVersion / parsePluginVersion", () => {
        assert.equal(parsePackerVersion("Packer v1.16.0\n"), "1.16.0");
        assert.equal(parsePackerVersion("nope"), undefined);
        assert.equal(parsePluginVersion("/c/github.com/hashicorp/amazon/packer-plugin-amazon_v1.8.2_x5.0_linux_amd64\n"), "1.8.2");
        assert.equal(parsePluginVersion(""), undefined);
    });
});
