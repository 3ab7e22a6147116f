/**
 * The image provider's create/read/delete against moto's EC2 server, with the fake packer creating
 * a real image in moto through the EC2 API (RunInstances + CreateImage). Proof limit: Packer is the
 * fake (the real-Packer-against-moto path needs the sandbox build host: see the local pipeline's
 * end-to-end tests); EC2 semantics (tags, snapshots, deregistration, InUse) are moto's.
 */
import * as assert from "node:assert/strict";
import { startMoto, type MotoServer } from "../../scripts/local/moto";
import { ec2Client } from "../../providers/ec2/client";
import { describeImage } from "../../providers/ec2/images";
import { inventory, inventorySize } from "../../providers/ec2/inventory";
import { PackerImageProvider } from "../../providers/packer/provider";
import { captureConsole, inputs, makeProject, type Project, type ProviderInputs } from "../unit/provider/harness";
import { setEnv } from "../fixtures/env";

describe("PackerImageProvider against moto", function () {
    this.timeout(120_000);
    let moto: MotoServer;
    let p: Project;
    let restoreEnv = () => {};
    const provider = new PackerImageProvider();
    const REGION = "us-east-1";

    before(async () => {
        moto = await startMoto();
        restoreEnv = setEnv(moto.env);
        p = makeProject();
    });
    after(async () => {
        p?.restore();
        restoreEnv();
        await moto?.stop();
    });
    beforeEach(() => {
        p.reset();
        p.knobs({ FAKE_PACKER_EC2: "1" });
    });

    const motoInputs = (over: Partial<ProviderInputs> = {}) =>
        inputs(p, {
            region: REGION,
            copyRegions: [],
            ec2Endpoint: moto.endpoint,
            emulator: true,
            baseImage: { nameFilter: "ubuntu/images/*ubuntu-xenial-16.04-amd64-server-*", owners: ["099720109477"] },
            ...over,
        });
    const ours = async (stack: string) =>
        inventory(await ec2Client(REGION, moto.endpoint), { tags: { Project: "couchbase-images", Stack: stack } });

    it("check passes, create builds a tagged image, a second create adopts it, delete leaves nothing", async () => {
        const checked = await provider.check(motoInputs(), motoInputs());
        assert.deepEqual(checked.failures, []);
        const { result, error } = await captureConsole(() => provider.create(checked.inputs!));
        assert.equal(error, undefined, error?.message);
        const outs = result!.outs!;
        assert.match(outs.imageId, /^ami-/);
        assert.equal(p.events().filter((e) => e.cmd === "build").length, 1);
        assert.equal(p.events().find((e) => e.cmd === "build")?.endpoint, moto.endpoint);

        const ec2 = await ec2Client(REGION, moto.endpoint);
        const img = await describeImage(ec2, outs.imageId);
        assert.equal(img?.state, "available");
        assert.equal(img?.tags.Stack, "dev-alice");
        assert.equal(img?.tags.Fingerprint, outs.fingerprint);
        assert.equal(img?.name, outs.imageName);
        assert.ok(outs.snapshotIds.length > 0);
        assert.deepEqual(outs.snapshotIds, img?.snapshotIds);

        // Same inputs again (e.g. a retried create): adopt, do not build.
        p.reset();
        const again = await captureConsole(() => provider.create(checked.inputs!));
        assert.equal(again.error, undefined, again.error?.message);
        assert.equal(again.result!.id, outs.imageId);
        assert.equal(p.events().filter((e) => e.cmd === "build").length, 0);

        const read = await provider.read(outs.imageId, outs);
        assert.equal(read.id, outs.imageId);

        await captureConsole(() => provider.delete(outs.imageId, outs));
        assert.equal(await describeImage(ec2, outs.imageId), undefined);
        const inv = await ours("dev-alice");
        assert.equal(inventorySize(inv), 0, JSON.stringify(inv));
        const snaps = await inventory(ec2, { ids: outs.snapshotIds });
        assert.equal(snaps.snapshots.length, 0, "snapshots left behind");

        // Gone out of band → refresh drops it; a second delete is a no-op.
        const gone = await captureConsole(() => provider.read(outs.imageId, outs));
        assert.equal(gone.result?.id, "");
        const second = await captureConsole(() => provider.delete(outs.imageId, outs));
        assert.equal(second.error, undefined);
    });

    it("a failure after the image exists leaves no image and no snapshot in moto", async () => {
        p.knobs({ FAKE_PACKER_MANIFEST: "garbage" });
        const i = motoInputs({ stack: "dev-fail" });
        const { error } = await captureConsole(() => provider.create(i));
        assert.match(error?.message ?? "", /cannot read the image id/);
        const made = p.events().find((e) => e.ec2) as { ec2: { imageId: string; snapshotIds: string[] } } | undefined;
        assert.ok(made, "the fake packer created an image");
        assert.ok(made.ec2.snapshotIds.length > 0);
        const ec2 = await ec2Client(REGION, moto.endpoint);
        assert.equal(await describeImage(ec2, made.ec2.imageId), undefined);
        const inv = await ours("dev-fail");
        assert.equal(inv.images.length + inv.snapshots.length, 0, JSON.stringify(inv));
        const snaps = await inventory(ec2, { ids: made.ec2.snapshotIds });
        assert.equal(snaps.snapshots.length, 0, "snapshots left behind");
    });
});
