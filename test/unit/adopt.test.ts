/**
 * Encryption through the launch mapping, and adoption limited to this build's own result: an image
 * of the expected name whose every volume is encrypted (providers/packer/adopt.ts).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { imageSummary } from "../../providers/ec2/images";
import { adoptProblem } from "../../providers/packer/adopt";

const ROOT = path.resolve(__dirname, "../..");
const NAME = "couchbase-cloud-server-dev-alice-0123456789ab";

describe("adoption after an interrupted up", () => {
    const table: {
        name: string;
        img: { name: string; state: string; encrypted?: (boolean | undefined)[] };
        emulator?: true;
        says?: RegExp;
    }[] = [
        { name: "the build's own image, encrypted", img: { name: NAME, state: "available", encrypted: [true] } },
        { name: "every volume encrypted (two)", img: { name: NAME, state: "available", encrypted: [true, true] } },
        { name: "still pending", img: { name: NAME, state: "pending", encrypted: [true] }, says: /is pending, not available/ },
        {
            name: "encrypt_boot's temporary image (random name)",
            img: { name: "a1B2c3D", state: "available", encrypted: [false] },
            says: /its name is "a1B2c3D", not "couchbase-cloud-server-dev-alice-0123456789ab"/,
        },
        {
            name: "right name, one volume unencrypted",
            img: { name: NAME, state: "available", encrypted: [true, false] },
            says: /not every volume of it is encrypted/,
        },
        {
            name: "right name, encryption not reported",
            img: { name: NAME, state: "available", encrypted: [undefined] },
            says: /not every volume/,
        },
        { name: "right name, no EBS volume at all", img: { name: NAME, state: "available", encrypted: [] }, says: /not every volume/ },
        { name: "emulator (moto reports no encryption)", img: { name: NAME, state: "available", encrypted: [undefined] }, emulator: true },
        { name: "emulator still checks the name", img: { name: "a1B2c3D", state: "available" }, emulator: true, says: /its name is/ },
    ];
    for (const t of table) {
        it(`${t.name}: ${t.says ? "not adopted" : "adopted"}`, () => {
            const got = adoptProblem(t.img, NAME, !t.emulator);
            if (t.says) assert.match(got ?? "", t.says);
            else assert.equal(got, undefined);
        });
    }

    it("the image summary carries each EBS mapping's Encrypted", () => {
        const s = imageSummary({
            ImageId: "ami-1",
            BlockDeviceMappings: [
                { DeviceName: "/dev/sda1", Ebs: { SnapshotId: "snap-1", Encrypted: true } },
                { DeviceName: "/dev/sdb", VirtualName: "ephemeral0" },
                { DeviceName: "/dev/sdc", Ebs: { SnapshotId: "snap-2" } },
            ],
        });
        assert.deepEqual(s.encrypted, [true, undefined]);
    });
});

describe("the template encrypts through the launch mapping", () => {
    const hcl = fs.readFileSync(path.join(ROOT, "images/aws/couchbase-cloud.pkr.hcl"), "utf8");
    const settings = hcl.replace(/#.*$/gm, "");
    it("no encrypt_boot (its temporary unencrypted image carries the run tags, and costs a copy)", () => {
        assert.doesNotMatch(settings, /^\s*encrypt_boot\s*=/m);
    });
    it("the root launch volume is encrypted, with kms_key_id when given, and no top-level kms_key_id", () => {
        const mapping = /launch_block_device_mappings\s*\{([^}]*)\}/.exec(settings)?.[1] ?? "";
        assert.match(mapping, /^\s*device_name\s*=\s*var\.root_device_name$/m);
        assert.match(mapping, /^\s*encrypted\s*=\s*true$/m);
        assert.match(mapping, /^\s*kms_key_id\s*=\s*var\.kms_key_id != "" \? var\.kms_key_id : null$/m);
        const source = settings.slice(settings.search(/^source "amazon-ebs"/m));
        const topLevel = source.replace(/launch_block_device_mappings\s*\{[^}]*\}/, "");
        assert.doesNotMatch(topLevel.slice(0, topLevel.search(/^}/m)), /^\s*kms_key_id\s*=/m);
    });
});
