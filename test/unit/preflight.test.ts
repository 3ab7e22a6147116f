/** The preflight's judgements (scripts/preflight/checks.ts) and its arguments, as tables. */
import * as assert from "node:assert/strict";
import {
    awsFailure,
    baseImageCheck,
    identityCheck,
    kmsKeyCheck,
    networkChecks,
    packageCheck,
    regionChecks,
    renderResults,
    type NetworkFacts,
} from "../../scripts/preflight/checks";
import { ENTERPRISE_DEB_SHA256 } from "../../providers/packer/couchbasePackages";
import { parseArgs } from "../../scripts/preflight";
import { awsError } from "./ec2/awsError";

const net = {
    buildRegion: "us-east-1",
    subnetId: undefined as string | undefined,
    vpcId: undefined as string | undefined,
    associatePublicIpAddress: false,
    sshInterface: "",
    sshHost: undefined as string | undefined,
};

describe("preflight checks", () => {
    it("credentials: the account, or the fix for bad credentials or a denial", () => {
        assert.deepEqual(identityCheck({ Account: "123456789012", Arn: "arn:aws:iam::123456789012:user/a" }), {
            name: "credentials",
            status: "ok",
            detail: "account 123456789012 as arn:aws:iam::123456789012:user/a",
        });
        const bad = identityCheck(awsFailure(awsError("InvalidClientTokenId")));
        assert.equal(bad.status, "fail");
        assert.match(bad.fix!, /give working credentials \(AWS_PROFILE/);
        assert.match(identityCheck(awsFailure(awsError("AccessDenied"))).fix!, /allow sts:GetCallerIdentity/);
    });

    it("regions: enabled, not opted in, unknown, and DescribeRegions denied", () => {
        const regions = [
            { RegionName: "us-east-1", OptInStatus: "opt-in-not-required" },
            { RegionName: "ap-east-1", OptInStatus: "not-opted-in" },
            { RegionName: "eu-south-1", OptInStatus: "opted-in" },
        ];
        const got = regionChecks({ buildRegion: "us-east-1", copyRegions: ["ap-east-1", "eu-south-1", "xx-east-9"] }, regions);
        assert.deepEqual(
            got.map((r) => [r.name, r.status]),
            [
                ["buildRegion", "ok"],
                ["copyRegions (ap-east-1)", "fail"],
                ["copyRegions (eu-south-1)", "ok"],
                ["copyRegions (xx-east-9)", "fail"],
            ],
        );
        assert.match(got[1].fix!, /aws account enable-region --region-name ap-east-1/);
        const denied = regionChecks({ buildRegion: "us-east-1", copyRegions: [] }, awsFailure(awsError("UnauthorizedOperation")));
        assert.deepEqual(
            [denied[0].status, denied[0].fix],
            ["fail", "allow ec2:DescribeRegions (docs/iam/build.json) for these credentials in this region"],
        );
    });

    const subnet = (map: boolean, vpc = "vpc-1"): NetworkFacts => ({
        subnetId: "subnet-1",
        subnet: { SubnetId: "subnet-1", VpcId: vpc, MapPublicIpOnLaunch: map },
    });
    const networkTable: { name: string; cfg: Partial<typeof net>; facts: NetworkFacts; want: [string, string][]; says?: RegExp }[] = [
        { name: "subnet mapping public IPs", cfg: { subnetId: "subnet-1" }, facts: subnet(true), want: [["subnetId", "ok"]] },
        {
            name: "subnet without public IPs",
            cfg: { subnetId: "subnet-1" },
            facts: subnet(false),
            want: [["subnetId", "fail"]],
            says: /Packer would wait 10 minutes for SSH/,
        },
        {
            name: "…with associatePublicIpAddress",
            cfg: { subnetId: "subnet-1", associatePublicIpAddress: true },
            facts: subnet(false),
            want: [["subnetId", "ok"]],
        },
        {
            name: "…with sshInterface private_dns",
            cfg: { subnetId: "subnet-1", sshInterface: "private_dns" },
            facts: subnet(false),
            want: [["subnetId", "ok"]],
        },
        {
            name: "…with sshInterface public_ip (no route still)",
            cfg: { subnetId: "subnet-1", sshInterface: "public_ip" },
            facts: subnet(false),
            want: [["subnetId", "fail"]],
        },
        {
            name: "…with sshHost (the local sandbox)",
            cfg: { subnetId: "subnet-1", sshHost: "127.0.0.1" },
            facts: subnet(false),
            want: [["subnetId", "ok"]],
        },
        {
            name: "subnet of another VPC than vpcId",
            cfg: { subnetId: "subnet-1", vpcId: "vpc-2" },
            facts: subnet(true),
            want: [
                ["vpcId", "fail"],
                ["subnetId", "ok"],
            ],
        },
        {
            name: "subnet not found",
            cfg: { subnetId: "subnet-1" },
            facts: { subnetId: "subnet-1", subnet: undefined },
            want: [["subnetId", "fail"]],
            says: /does not exist in us-east-1/,
        },
        {
            name: "no default VPC",
            cfg: {},
            facts: { defaultVpcId: undefined, defaultSubnets: [] },
            want: [["subnetId (default VPC)", "fail"]],
            says: /VPCIdNotSpecified/,
        },
        {
            name: "default VPC without subnets",
            cfg: {},
            facts: { defaultVpcId: "vpc-d", defaultSubnets: [] },
            want: [["subnetId (default VPC)", "fail"]],
            says: /has no subnets/,
        },
        {
            name: "default VPC, one default subnet without public IPs",
            cfg: {},
            facts: {
                defaultVpcId: "vpc-d",
                defaultSubnets: [
                    { DefaultForAz: true, MapPublicIpOnLaunch: true },
                    { DefaultForAz: true, MapPublicIpOnLaunch: false },
                ],
            },
            want: [["subnetId (default VPC)", "fail"]],
            says: /1 of the default VPC's 2 default subnets map no public IP/,
        },
        {
            name: "default VPC, all mapping",
            cfg: {},
            facts: { defaultVpcId: "vpc-d", defaultSubnets: [{ DefaultForAz: true, MapPublicIpOnLaunch: true }] },
            want: [["subnetId (default VPC)", "ok"]],
        },
        {
            name: "DescribeVpcs denied",
            cfg: {},
            facts: { defaultVpc: awsFailure(awsError("UnauthorizedOperation")) },
            want: [["subnetId (default VPC)", "fail"]],
            says: /UnauthorizedOperation/,
        },
    ];
    for (const t of networkTable) {
        it(`network: ${t.name}`, () => {
            const got = networkChecks({ ...net, ...t.cfg }, t.facts);
            assert.deepEqual(
                got.map((r) => [r.name, r.status]),
                t.want,
            );
            if (t.says) assert.match(got.map((r) => `${r.detail} ${r.fix ?? ""}`).join("\n"), t.says);
            for (const r of got) if (r.status === "fail") assert.ok(r.fix, `${r.name} says its fix`);
        });
    }

    it("KMS: enabled key, not found, disabled, wrong region, denied", () => {
        const arn = "arn:aws:kms:eu-west-1:123456789012:key/k";
        assert.equal(kmsKeyCheck("eu-west-1", arn, { Arn: arn, KeyState: "Enabled", KeyManager: "CUSTOMER" }).status, "ok");
        const nf = kmsKeyCheck("eu-west-1", arn, awsFailure(awsError("NotFoundException")));
        assert.deepEqual([nf.name, nf.status], ["kmsKeyIds.eu-west-1", "fail"]);
        assert.match(nf.fix!, /give a key of eu-west-1/);
        assert.match(kmsKeyCheck("eu-west-1", arn, { Arn: arn, KeyState: "PendingDeletion" }).detail, /is PendingDeletion, not Enabled/);
        assert.match(
            kmsKeyCheck("eu-west-1", "alias/x", { Arn: "arn:aws:kms:us-east-1:123456789012:key/k", KeyState: "Enabled" }).detail,
            /is a key of us-east-1, not eu-west-1/,
        );
        assert.match(kmsKeyCheck("eu-west-1", arn, awsFailure(awsError("AccessDeniedException"))).fix!, /allow kms:DescribeKey/);
    });

    it("base image: the newest match, or the key to fix", () => {
        const cfg = {
            buildRegion: "us-east-1",
            baseImageId: undefined,
            baseImageNameFilter: "ubuntu-*",
            baseImageOwners: ["099720109477"],
        };
        const ok = baseImageCheck(cfg, [
            { ImageId: "ami-old", Name: "ubuntu-1", CreationDate: "2024-01-01" },
            { ImageId: "ami-new", Name: "ubuntu-2", CreationDate: "2025-01-01" },
        ]);
        assert.deepEqual([ok.status, ok.detail], ["ok", "ami-new ubuntu-2"]);
        assert.equal(baseImageCheck(cfg, []).name, "baseImageNameFilter");
        assert.equal(baseImageCheck({ ...cfg, baseImageId: "ami-0123456789abcdef0" }, []).name, "baseImageId");
    });

    it("base image per architecture names that architecture's key", () => {
        const cfg = { buildRegion: "us-east-1", baseImageId: undefined, baseImageNameFilter: "x-*", baseImageOwners: ["self"] };
        assert.equal(baseImageCheck(cfg, [], "arm64").name, "arm64BaseImageNameFilter");
    });

    it("Couchbase package: in the table, pinned, neither; other modes skipped", () => {
        const [version, arch, sha] = ENTERPRISE_DEB_SHA256[0];
        const base = {
            couchbasePackageSource: "download",
            couchbaseEdition: "enterprise" as const,
            couchbaseVersion: version,
            couchbasePackageSha256: {},
        };
        const inTable = packageCheck(base, arch);
        assert.equal(inTable.status, "ok");
        assert.match(inTable.detail, /sha256 from the project's table/);
        const pinned = packageCheck({ ...base, couchbaseVersion: "9.9.9", couchbasePackageSha256: { "9.9.9": { [arch]: sha } } }, arch);
        assert.match(pinned.detail, /sha256 from the stack's pin/);
        const none = packageCheck({ ...base, couchbaseVersion: "9.9.9" }, arch);
        assert.equal(none.status, "fail");
        assert.match(none.detail, /9\.9\.9 .*is not in the project's table/);
        assert.equal(packageCheck({ ...base, couchbasePackageSource: "repository" }, arch).status, "skip");
        assert.equal(packageCheck({ ...base, couchbasePackageSource: ".build/standin" }, arch).status, "skip");
    });

    it("renders one line per check, and the fix under a failure", () => {
        assert.deepEqual(
            renderResults([
                { name: "credentials", status: "ok", detail: "account 1" },
                { name: "subnetId", status: "fail", detail: "no route", fix: "do x" },
            ]),
            ["ok    credentials  account 1", "FAIL  subnetId     no route", "                   fix: do x"],
        );
    });

    it("arguments", () => {
        assert.deepEqual(parseArgs(["--stack", "dev-a"], {}), { stack: "dev-a" });
        assert.deepEqual(parseArgs(["--stack=dev-a", "--endpoint", "http://127.0.0.1:5000"], {}), {
            stack: "dev-a",
            endpoint: "http://127.0.0.1:5000",
        });
        assert.deepEqual(parseArgs([], { PULUMI_STACK: "dev-b" }), { stack: "dev-b" });
        assert.throws(() => parseArgs([], {}), /--stack NAME is required/);
        assert.throws(() => parseArgs(["--stack", "a", "--region", "x"], {}), /unknown argument --region/);
        assert.throws(() => parseArgs(["--stack", "a", "--endpoint", "localhost"], {}), /is not an http\(s\) URL/);
    });
});
