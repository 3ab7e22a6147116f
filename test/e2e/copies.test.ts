/**
 * Copy regions on the real engine, real Packer and moto: a local stack with two copy regions
 * (us-west-2, eu-west-1). The program registers an explicit aws provider pointed at `ec2Endpoint`
 * and one `aws.ec2.AmiCopy` per region (pipeline/component.ts), so this needs the aws provider
 * plugin (`pulumi-resource-aws`). It cannot be had on the project's offline machines: there the
 * whole file is skipped and says so; on a machine with a standard Pulumi install it runs.
 *
 * up → amiIds has the build region and both copy regions; each copy exists in its own region,
 * tagged like the source plus SourceRegion/SourceImage; the versions file names them.
 * destroy → no image or snapshot of the stack in any of the three regions, by tags and by ids.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { ec2Client } from "../../providers/ec2/client";
import { inventory, inventorySize } from "../../providers/ec2/inventory";
import { PROJECT, TAG } from "../../providers/ec2/tags";
import { awsPluginLocation, baseConfig, driverOk, REGION, ROOT, upOutputs, useWorld, writeStackConfig } from "./harness";

const COPY_REGIONS = ["us-west-2", "eu-west-1"];
const ALL_REGIONS = [REGION, ...COPY_REGIONS];

describe("e2e: copy regions (needs the aws provider plugin)", function () {
    this.timeout(240_000);
    const { world, itStopsCleanly } = useWorld("copy", {
        skipWhen: () =>
            awsPluginLocation()
                ? undefined
                : "the aws provider plugin (pulumi-resource-aws) is not installed here (not on PATH, not in ~/.pulumi/plugins, not in `pulumi plugin ls`); " +
                  "copy regions (aws.ec2.AmiCopy) run only where a standard Pulumi install has it",
    });
    let stack = "";
    const clients = new Map<string, EC2Client>();
    /** region → image id, from the up's outputs. */
    let amiIds: Record<string, string> = {};
    /** region → snapshot ids behind that region's image. */
    const snapshots = new Map<string, string[]>();

    const client = async (region: string): Promise<EC2Client> => {
        let c = clients.get(region);
        if (!c) {
            c = await ec2Client(region, world().moto.endpoint);
            clients.set(region, c);
        }
        return c;
    };

    before(() => {
        const w = world();
        stack = `local-e2e-${w.id}`;
        writeStackConfig(w, stack, { ...baseConfig(w), copyRegions: COPY_REGIONS });
    });

    after(() => {
        for (const c of clients.values()) c.destroy();
        clients.clear();
    });

    it("up: the image and one copy per region, each in its region, tagged like the source", async () => {
        const out = await driverOk(world(), "up", stack);
        amiIds = upOutputs(out).amiIds as Record<string, string>;
        assert.deepEqual(Object.keys(amiIds).sort(), [...ALL_REGIONS].sort());
        for (const r of ALL_REGIONS) assert.match(amiIds[r], /^ami-[0-9a-f]+$/, `amiIds.${r}`);
        assert.equal(new Set(Object.values(amiIds)).size, 3, "copies must be distinct images");

        const [source] = (await inventory(await client(REGION), { ids: [amiIds[REGION]] })).images;
        assert.ok(source, `source image ${amiIds[REGION]} not in ${REGION}`);
        assert.equal(source.tags[TAG.stack], stack);
        snapshots.set(REGION, source.snapshotIds);
        for (const r of COPY_REGIONS) {
            const inv = await inventory(await client(r), { ids: [amiIds[r]] });
            assert.equal(inv.images.length, 1, `copy ${amiIds[r]} not found in ${r}`);
            const copy = inv.images[0];
            assert.equal(copy.state, "available");
            assert.equal(copy.name, source.name, "a copy keeps the source's name");
            for (const [k, v] of Object.entries(source.tags)) assert.equal(copy.tags[k], v, `${r}: tag ${k}`);
            assert.equal(copy.tags[TAG.sourceRegion], REGION);
            assert.equal(copy.tags[TAG.sourceImage], amiIds[REGION]);
            // Selected by the stack's tags in its region: exactly the copy.
            const byTags = await inventory(await client(r), { tags: { [TAG.project]: PROJECT, [TAG.stack]: stack } });
            assert.deepEqual(
                byTags.images.map((i) => i.id),
                [amiIds[r]],
            );
            snapshots.set(r, copy.snapshotIds);
            // The copy is not in any other region.
            for (const o of ALL_REGIONS.filter((x) => x !== r)) {
                assert.equal((await inventory(await client(o), { ids: [amiIds[r]] })).images.length, 0, `${amiIds[r]} also in ${o}`);
            }
        }
        // The versions file names every region's image.
        const versions = fs.readFileSync(path.join(ROOT, world().buildDir, "versions", `${stack}.json`), "utf8");
        for (const r of ALL_REGIONS) assert.ok(versions.includes(amiIds[r]), `versions file lacks ${r} ${amiIds[r]}`);
    });

    it("destroy: no image or snapshot of the stack in any of the three regions, by tags and by ids", async () => {
        assert.equal(Object.keys(amiIds).length, 3, "up did not run");
        await driverOk(world(), "destroy", stack, ["--remove"]);
        for (const r of ALL_REGIONS) {
            const byTags = await inventory(await client(r), { tags: { [TAG.project]: PROJECT, [TAG.stack]: stack } });
            assert.equal(byTags.images.length + byTags.snapshots.length, 0, `${r} by tags: ${JSON.stringify(byTags)}`);
            const ids = [amiIds[r], ...(snapshots.get(r) ?? [])];
            const byIds = await inventory(await client(r), { ids });
            assert.equal(inventorySize(byIds), 0, `${r} by ids ${ids.join(", ")}: ${JSON.stringify(byIds)}`);
        }
    });

    itStopsCleanly(() => {
        for (const c of clients.values()) c.destroy();
        clients.clear();
    });
});
