/**
 * Two architectures in one `up` on the real engine, moto and the sandbox build host, where one of
 * them fails: the arm64 image's base image filter matches no image in moto, so its Packer build
 * fails at the source image lookup, while the amd64 image builds in parallel. The failure must not
 * touch the amd64 image: it exists, is available, carries its Architecture tag and is in the
 * stack's state; no arm64 image exists; the versions file (which waits for both) is not written.
 * A second `up` keeps the same amd64 image (no rebuild), and destroy leaves nothing.
 * Proof limit: the arm64 build here fails before any builder starts (this world's hostd has no
 * arm64 lane, and needs none); a passing arm64 build is test/e2e/parallel-architectures.test.ts's.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";

import { DescribeImagesCommand } from "@aws-sdk/client-ec2";

import { tagMap } from "../../providers/ec2/tags";
import { baseConfig, driver, driverOk, inventorySize, ROOT, stackCheckpoint, stackInventory, useWorld, writeStackConfig } from "./harness";

describe("e2e: two architectures, one fails: the other's image stays", function () {
    this.timeout(300_000);
    const { world, itStopsCleanly } = useWorld("arch");
    let stack = "";
    let amd64Image = "";
    const versionsFile = (): string => path.join(ROOT, world().buildDir, "versions", `${stack}.json`);

    before(() => {
        const w = world();
        stack = `local-arch-${w.id}`;
        writeStackConfig(w, stack, {
            ...baseConfig(w),
            architectures: ["amd64", "arm64"],
            // No image in moto matches: the arm64 build fails at Packer's source image lookup.
            arm64BaseImageNameFilter: "no-such-debian-arm64-*",
            // Any bytes with a matching sha256 file: the arm64 build never reaches the upload.
            arm64AgentArtifact: world().agentArtifact,
        });
    });

    it("up fails naming the arm64 image; the amd64 image built in parallel exists, tagged, in the state; no versions file", async () => {
        const r = await driver(world(), "up", stack, [], path.join(world().tmp, `${stack}.log`)).done;
        assert.notEqual(r.code, 0, "up must fail");
        assert.match(r.output, /couchbase-arm64-image/, "the failure names the arm64 image");
        const inv = await stackInventory(world(), stack);
        assert.equal(inv.images.length, 1, JSON.stringify(inv.images));
        const [img] = (await world().ec2.send(new DescribeImagesCommand({ ImageIds: [inv.images[0].id] }))).Images ?? [];
        assert.equal(img.State, "available");
        const tags = tagMap(img.Tags);
        assert.equal(tags.Architecture, "amd64");
        assert.match(img.Name ?? "", /^couchbase-cloud-server-amd64-/, "a two-architecture stack's amd64 name carries amd64");
        amd64Image = img.ImageId ?? "";
        const cp = stackCheckpoint(world(), stack);
        const inState = cp?.resources.find((x) => x.urn.endsWith("::couchbase-image"));
        assert.equal(inState?.id, amd64Image, "the amd64 image is in the stack's state");
        assert.equal(
            cp?.resources.some((x) => x.urn.endsWith("::couchbase-arm64-image")),
            false,
            "no arm64 image in the state",
        );
        assert.equal(fs.existsSync(versionsFile()), false, "the versions file waits for both architectures");
        assert.equal(inv.instances.length, 0, "no builder left");
    });

    it("up again: the same amd64 image (no rebuild), arm64 still fails", async () => {
        const r = await driver(world(), "up", stack, [], path.join(world().tmp, `${stack}.log`)).done;
        assert.notEqual(r.code, 0);
        const inv = await stackInventory(world(), stack);
        assert.deepEqual(
            inv.images.map((i) => i.id),
            [amd64Image],
        );
    });

    it("destroy leaves nothing of the stack", async () => {
        await driverOk(world(), "destroy", stack);
        const inv = await stackInventory(world(), stack);
        assert.equal(inventorySize(inv), 0, JSON.stringify(inv));
    });

    itStopsCleanly();
});
