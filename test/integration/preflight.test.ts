/**
 * `npm run preflight` against moto's EC2, KMS and STS (one moto_server answers all three): a sound
 * stack passes every check; each broken piece fails its own check, naming the key and the fix.
 * Stack files are read the way the command reads them (Pulumi.<stack>.yaml in a scratch root).
 * moto has no opt-in regions, so "region not enabled" is a table test (test/unit/preflight.test.ts).
 * moto 5.2.5 has no iam:SimulatePrincipalPolicy (it answers HTTP 500), so against moto the
 * permission check proves what it can: the principal made from a real assumed-role ARN (moto's STS
 * AssumeRole), the call reaching IAM, and a failed simulation reported as a warning that does not
 * fail the run. Its verdicts are table tests and mocked-client tests (test/unit/preflight-*.test.ts).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    CreateSubnetCommand,
    CreateVpcCommand,
    DeleteSubnetCommand,
    DeleteVpcCommand,
    DescribeImagesCommand,
    DescribeSubnetsCommand,
    DescribeVpcsCommand,
} from "@aws-sdk/client-ec2";
import { CreateRoleCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateKeyCommand, DisableKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { startMoto, motoEnv, type MotoServer } from "../../scripts/local/moto";
import { ec2Client } from "../../providers/ec2/client";
import { runPreflight } from "../../scripts/preflight";
import { setEnv } from "../fixtures/env";

const ROOT = path.resolve(__dirname, "../..");

describe("preflight against moto", function () {
    this.timeout(180_000);
    let moto: MotoServer;
    let root: string;
    let restoreEnv = () => {};
    let n = 0;
    const good: Record<string, unknown> = {};

    async function kmsKey(region: string, disabled = false): Promise<string> {
        const kms = new KMSClient({ region, endpoint: moto.endpoint });
        try {
            const k = await kms.send(new CreateKeyCommand({ Description: "preflight test" }));
            if (disabled) await kms.send(new DisableKeyCommand({ KeyId: k.KeyMetadata!.KeyId! }));
            return k.KeyMetadata!.Arn!;
        } finally {
            kms.destroy();
        }
    }

    /** Writes Pulumi.<stack>.yaml with `config` (couchbase-images: keys) and runs the command on it. */
    async function preflight(
        config: Record<string, unknown>,
        opts: { janitor?: boolean; principalArn?: string } = {},
    ): Promise<{ code: number; out: string[]; err: string[] }> {
        const stack = `pre-${process.pid}-${n++}`;
        const lines = ["config:", ...Object.entries(config).map(([k, v]) => `  couchbase-images:${k}: ${JSON.stringify(v)}`)];
        fs.writeFileSync(path.join(root, `Pulumi.${stack}.yaml`), `${lines.join("\n")}\n`);
        const out: string[] = [];
        const err: string[] = [];
        const code = await runPreflight(
            { stack, root, endpoint: moto.endpoint, ...opts },
            { out: (l) => out.push(l), err: (l) => err.push(l) },
        );
        return { code, out, err };
    }
    const line = (out: string[], name: string) =>
        out.find((l) => l.slice(6).startsWith(name)) ?? `(no line for ${name} in:\n${out.join("\n")})`;

    before(async () => {
        moto = await startMoto();
        restoreEnv = setEnv({ ...motoEnv(moto.endpoint), AWS_REGION: "us-east-1" });
        root = fs.mkdtempSync(path.join(os.tmpdir(), "preflight-it-"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
        const ec2 = await ec2Client("us-east-1", moto.endpoint);
        const base = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: "name", Values: ["*ubuntu*"] }] }))).Images![0];
        ec2.destroy();
        Object.assign(good, {
            sshCidrs: ["203.0.113.7/32"],
            couchbasePackageSource: ".build/standin",
            copyRegions: ["eu-west-1"],
            baseImageNameFilter: base.Name,
            baseImageOwners: [base.OwnerId],
            kmsKeyIds: { "us-east-1": await kmsKey("us-east-1"), "eu-west-1": await kmsKey("eu-west-1") },
        });
    });
    after(async () => {
        await moto?.stop();
        restoreEnv();
        if (root) fs.rmSync(root, { recursive: true, force: true });
    });

    it("a sound stack passes every check (credentials, regions, default VPC, base image, both keys)", async () => {
        const r = await preflight(good);
        assert.equal(r.code, 0, [...r.out, ...r.err].join("\n"));
        assert.deepEqual(
            r.out.filter((l) => !l.startsWith(" ")).map((l) => l.slice(0, 4).trim() + " " + l.slice(6).split(/\s{2,}/)[0]),
            [
                "ok credentials",
                "ok buildRegion",
                "ok copyRegions (eu-west-1)",
                "ok subnetId (default VPC)",
                "ok baseImageNameFilter",
                "skip couchbasePackageSource (amd64)",
                "ok kmsKeyIds.eu-west-1",
                "ok kmsKeyIds.us-east-1",
                "WARN permissions",
            ],
        );
        assert.match(line(r.out, "credentials"), /account \d{12} as arn:aws:/);
        // moto's own caller (arn:aws:sts::…:user/moto) names no IAM user or role: not simulated, a warning.
        assert.match(
            line(r.out, "permissions"),
            /^WARN {2}permissions\s+not checked: arn:aws:sts::\d{12}:user\/moto names no IAM user or assumed role/,
        );
        assert.match(
            r.err.join("\n"),
            /every check passed; next: preview, then up \(1 warning\(s\) above: what could not be checked, and how to\)/,
        );
    });

    it("a subnet without public IPs fails with the fix; associatePublicIpAddress or sshInterface private_ip pass", async () => {
        const ec2 = await ec2Client("us-east-1", moto.endpoint);
        try {
            const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.42.0.0/16" }))).Vpc!.VpcId!;
            const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: "10.42.1.0/24" }))).Subnet!.SubnetId!;
            const bad = await preflight({ ...good, vpcId: vpc, subnetId: subnet });
            assert.equal(bad.code, 1);
            assert.match(
                line(bad.out, "subnetId"),
                /^FAIL {2}subnetId .* maps no public IP on launch: .*Packer would wait 10 minutes for SSH/,
            );
            assert.match(
                bad.out.join("\n"),
                /fix: set associatePublicIpAddress true .*or sshInterface private_ip when Packer runs inside the VPC/,
            );
            for (const fix of [{ associatePublicIpAddress: true }, { sshInterface: "private_ip" }]) {
                const ok = await preflight({ ...good, vpcId: vpc, subnetId: subnet, ...fix });
                assert.equal(ok.code, 0, ok.out.join("\n"));
                assert.match(line(ok.out, "subnetId"), /no public IPs on launch; SSH through/);
            }
            const wrongVpc = await preflight({ ...good, vpcId: "vpc-0123456789abcdef0", subnetId: subnet, sshInterface: "private_ip" });
            assert.match(line(wrongVpc.out, "vpcId"), new RegExp(`^FAIL  vpcId .*${subnet} is in ${vpc}, not in vpc-0123456789abcdef0`));
            const missing = await preflight({ ...good, subnetId: "subnet-0123456789abcdef0" });
            assert.match(line(missing.out, "subnetId"), /^FAIL {2}subnetId .*subnet-0123456789abcdef0 does not exist in us-east-1/);
        } finally {
            ec2.destroy();
        }
    });

    it("a build region without a default VPC fails naming subnetId and the two fixes", async () => {
        const ec2 = await ec2Client("ap-southeast-2", moto.endpoint);
        try {
            const vpc = (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] }))).Vpcs![0].VpcId!;
            for (const s of (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpc] }] }))).Subnets ?? []) {
                await ec2.send(new DeleteSubnetCommand({ SubnetId: s.SubnetId! }));
            }
            await ec2.send(new DeleteVpcCommand({ VpcId: vpc }));
            const images =
                (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: "name", Values: [String(good.baseImageNameFilter)] }] })))
                    .Images ?? [];
            const r = await preflight({
                ...good,
                buildRegion: "ap-southeast-2",
                copyRegions: [],
                kmsKeyIds: {},
                ...(images.length ? {} : { baseImageNameFilter: "*" }),
            });
            assert.equal(r.code, 1);
            assert.match(
                line(r.out, "subnetId"),
                /^FAIL {2}subnetId \(default VPC\)\s+ap-southeast-2 has no default VPC and subnetId is empty: Packer would fail with VPCIdNotSpecified/,
            );
            assert.match(
                r.out.join("\n"),
                /fix: set subnetId to a subnet of ap-southeast-2 .*or create a default VPC \(`aws ec2 create-default-vpc --region ap-southeast-2`\)/,
            );
        } finally {
            ec2.destroy();
        }
    });

    it("KMS: a key that does not exist in its region, a disabled key, an alias that resolves to nothing", async () => {
        const absent = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const disabled = await kmsKey("eu-west-1", true);
        const a = await preflight({ ...good, kmsKeyIds: { "us-east-1": "alias/no-such-alias", "eu-west-1": absent } });
        assert.equal(a.code, 1);
        assert.match(line(a.out, "kmsKeyIds.us-east-1"), /^FAIL {2}kmsKeyIds\.us-east-1\s+alias\/no-such-alias is not a key in us-east-1/);
        assert.match(
            line(a.out, "kmsKeyIds.eu-west-1"),
            /^FAIL {2}kmsKeyIds\.eu-west-1\s+arn:aws:kms:eu-west-1:123456789012:key\/1234abcd.* is not a key in eu-west-1/,
        );
        const d = await preflight({ ...good, kmsKeyIds: { ...(good.kmsKeyIds as object), "eu-west-1": disabled } });
        assert.match(line(d.out, "kmsKeyIds.eu-west-1"), /^FAIL {2}kmsKeyIds\.eu-west-1\s+.* is Disabled, not Enabled/);
    });

    it("a base image filter that finds nothing fails naming baseImageNameFilter", async () => {
        const r = await preflight({ ...good, baseImageNameFilter: "no-such-image-*" });
        assert.equal(r.code, 1);
        assert.match(line(r.out, "baseImageNameFilter"), /^FAIL {2}baseImageNameFilter\s+no image named no-such-image-\* owned by/);
    });

    it("permissions: an assumed role's session becomes the role's ARN, simulated through IAM; moto's missing simulator is a warning, exit 0", async () => {
        const iam = new IAMClient({ region: "us-east-1", endpoint: moto.endpoint });
        const sts = new STSClient({ region: "us-east-1", endpoint: moto.endpoint });
        let restore = () => {};
        try {
            const trust = JSON.stringify({
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: "sts:AssumeRole" }],
            });
            const role = (await iam.send(new CreateRoleCommand({ RoleName: `preflight-${process.pid}`, AssumeRolePolicyDocument: trust })))
                .Role!;
            const c = (await sts.send(new AssumeRoleCommand({ RoleArn: role.Arn!, RoleSessionName: "preflight-it" }))).Credentials!;
            restore = setEnv({
                AWS_ACCESS_KEY_ID: c.AccessKeyId!,
                AWS_SECRET_ACCESS_KEY: c.SecretAccessKey!,
                AWS_SESSION_TOKEN: c.SessionToken!,
            });
            const r = await preflight(good, { janitor: true });
            assert.equal(r.code, 0, [...r.out, ...r.err].join("\n"));
            assert.match(line(r.out, "credentials"), new RegExp(`as arn:aws:sts::\\d{12}:assumed-role/${role.RoleName}/preflight-it`));
            const p = line(r.out, "permissions");
            assert.match(
                p,
                new RegExp(
                    `^WARN  permissions\\s+not checked \\(docs/iam/build\\.json, docs/iam/copies\\.json, docs/iam/janitor\\.json\\): iam:SimulatePrincipalPolicy on ${role.Arn!.replace(/[/.]/g, "\\$&")} failed`,
                ),
            );
            assert.match(r.out.join("\n"), /fix: retry; if it persists the first up shows any missing permission/);
            // An explicit --principal-arn is simulated as given.
            const given = await preflight(good, { principalArn: "arn:aws:iam::123456789012:role/team/Builder" });
            assert.match(
                line(given.out, "permissions"),
                /iam:SimulatePrincipalPolicy on arn:aws:iam::123456789012:role\/team\/Builder failed/,
            );
        } finally {
            restore();
            iam.destroy();
            sts.destroy();
        }
    });

    it("an invalid configuration stops before any AWS call, exit 2", async () => {
        const r = await preflight({ ...good, vpcId: "vpc-0123456789abcdef0" });
        assert.equal(r.code, 2);
        assert.match(r.err.join("\n"), /couchbase-images:vpcId: is set without subnetId/);
        assert.deepEqual(r.out, []);
    });
});
