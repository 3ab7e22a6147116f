/**
 * The builder's network settings: vpcId without subnetId is refused at preview (Packer would fail
 * at build time), and a custom subnet without public IPs has two settings, associatePublicIpAddress
 * and sshInterface, which reach the template.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseConfig } from "../../pipeline/config";
import { declaredVariables, packerVariables } from "../../providers/packer/argv";
import { validateInputs } from "../../providers/packer/validate";
import { goodInputs } from "./packer/fixtures";

const ROOT = path.resolve(__dirname, "../..");
const TEMPLATE = fs.readFileSync(path.join(ROOT, "images/aws/couchbase-cloud.pkr.hcl"), "utf8");
const ctx = { stack: "dev-alice", project: "couchbase-images", user: "alice" };
const base = { sshCidrs: ["203.0.113.7/32"], couchbasePackageSource: ".build/standin" };
const BUILD = {
    imageName: "cb-dev-alice-0123456789ab",
    tags: { Project: "couchbase-images" },
    manifestPath: ".build/packer/x/manifest.json",
    temporaryKeyPairName: "packer-abc",
};

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseConfig({ ...base, ...raw }, ctx);
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
}

describe("builder network config", () => {
    const table: { name: string; raw: Record<string, unknown>; want: RegExp[] }[] = [
        {
            name: "vpcId without subnetId: refused, saying why and the fix",
            raw: { vpcId: "vpc-0123456789abcdef0" },
            want: [
                /^couchbase-images:vpcId: is set without subnetId: Packer cannot choose a subnet in a VPC that is not the default one and fails at build time; set subnetId to a subnet of that VPC .*or remove vpcId/,
            ],
        },
        { name: "vpcId with subnetId", raw: { vpcId: "vpc-0123456789abcdef0", subnetId: "subnet-0123456789abcdef0" }, want: [] },
        { name: "subnetId alone", raw: { subnetId: "subnet-0123456789abcdef0" }, want: [] },
        {
            name: "a private subnet reached from inside the VPC",
            raw: { subnetId: "subnet-0123456789abcdef0", sshInterface: "private_ip" },
            want: [],
        },
        { name: "a public IP asked for", raw: { subnetId: "subnet-0123456789abcdef0", associatePublicIpAddress: "true" }, want: [] },
        {
            name: "an unknown SSH interface",
            raw: { sshInterface: "bastion" },
            want: [
                /^couchbase-images:sshInterface: "bastion" is not an SSH interface: use public_ip, private_ip, public_dns, private_dns, or ""/,
            ],
        },
        {
            name: "session_manager is not supported",
            raw: { sshInterface: "session_manager" },
            want: [/sshInterface: "session_manager" is not an SSH interface/],
        },
        {
            name: "associatePublicIpAddress not a boolean",
            raw: { associatePublicIpAddress: "yes" },
            want: [/^couchbase-images:associatePublicIpAddress: expected true or false, got "yes"/],
        },
    ];
    for (const t of table) {
        it(t.name, () => {
            const got = problems(t.raw);
            assert.equal(got.length, t.want.length, got.join("\n"));
            t.want.forEach((re, i) => assert.match(got[i], re));
        });
    }

    it("parses the settings (Pulumi's string form too)", () => {
        const c = parseConfig(
            { ...base, subnetId: "subnet-0123456789abcdef0", associatePublicIpAddress: "true", sshInterface: "private_ip" },
            ctx,
        );
        assert.equal(c.associatePublicIpAddress, true);
        assert.equal(c.sshInterface, "private_ip");
        const d = parseConfig(base, ctx);
        assert.equal(d.associatePublicIpAddress, false);
        assert.equal(d.sshInterface, "");
    });

    it("the image resource's check refuses the same (providers/packer/validate.ts)", () => {
        assert.deepEqual(
            validateInputs(goodInputs({ vpcId: "vpc-0123456789abcdef0" })).map((f) => f.property),
            ["vpcId"],
        );
        assert.deepEqual(
            validateInputs(goodInputs({ sshInterface: "x" })).map((f) => f.property),
            ["sshInterface"],
        );
        assert.deepEqual(
            validateInputs(goodInputs({ associatePublicIpAddress: "true" as unknown as boolean })).map((f) => f.property),
            ["associatePublicIpAddress"],
        );
    });

    it("both reach the template, which declares them and sets them in its source block", () => {
        const declared = declaredVariables([TEMPLATE]);
        const v = packerVariables(
            goodInputs({ subnetId: "subnet-0123456789abcdef0", associatePublicIpAddress: true, sshInterface: "private_ip" }),
            BUILD,
            declared,
        );
        assert.equal(v.associate_public_ip_address, true);
        assert.equal(v.ssh_interface, "private_ip");
        const off = packerVariables(goodInputs(), BUILD, declared);
        assert.equal(off.ssh_interface, undefined, "empty: the template's default (Packer's own)");
        assert.match(TEMPLATE, /^\s*associate_public_ip_address\s*=\s*var\.associate_public_ip_address \? true : null$/m);
        assert.match(TEMPLATE, /^\s*ssh_interface\s*=\s*var\.ssh_interface != "" \? var\.ssh_interface : null$/m);
    });
});
