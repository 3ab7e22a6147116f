/**
 * Interrupted runs and several stacks, on the real engine and real Packer against moto + hostd.
 *
 * - SIGINT to the driver while Packer provisions, and again while the image is being created; then
 *   the documented recovery (docs/local.md): refresh --clear-pending-creates, up, destroy, and the
 *   janitor for anything the state never recorded. The inventory must end empty.
 * - Two stacks at once on one emulator: distinct names and tags; destroying one keeps the other's image.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import {
    baseConfig,
    changeSummary,
    createdSinceStart,
    driver,
    driverOk,
    insertIntoScript,
    inventorySize,
    janitorCli,
    programTakesTemplateDir,
    REGION,
    stackInventory,
    templateCopy,
    upOutputs,
    useWorld,
    waitForOutput,
    World,
    writeStackConfig,
} from "./harness";

/** The recovery docs/local.md gives after an interrupted up, then destroy; returns the logs. */
async function recoverAndDestroy(w: World, stack: string): Promise<string> {
    let log = await driverOk(w, "refresh", stack, ["--clear-pending-creates"]);
    const up = await driverOk(w, "up", stack);
    const image = (upOutputs(up).amiIds as Record<string, string>)[REGION];
    assert.match(image, /^ami-/, "recovery up gave no image");
    // Exactly one image of the stack: an orphan of the interrupted run was adopted or removed.
    const inv = await stackInventory(w, stack);
    assert.deepEqual(
        inv.images.map((i) => i.id),
        [image],
        `after recovery the stack holds ${inv.images.length} images`,
    );
    log += up;
    log += await driverOk(w, "destroy", stack, ["--remove"]);
    log += await janitorCli(w, stack);
    return log;
}

describe("e2e faults: interrupted up, recovery, two stacks", function () {
    this.timeout(240_000);
    const { world, itStopsCleanly } = useWorld("fault");
    let slowTemplate = "";

    before(() => {
        if (programTakesTemplateDir()) {
            // A test-only copy whose agent install waits: a wide, certain window inside provisioning.
            slowTemplate = templateCopy(world(), "slow", (dir) =>
                insertIntoScript(path.join(dir, "scripts", "install-agent.sh"), "sleep 6"),
            );
        }
    });

    for (const phase of [
        { name: "while Packer provisions", marker: /Provisioning with shell script: .*install-agent\.sh/, stack: "int-prov" },
        { name: "while the image is being created", marker: /Creating AMI|Waiting for AMI/, stack: "int-ami" },
    ]) {
        it(`SIGINT ${phase.name}: the driver stops cleanly and the documented recovery empties the inventory`, async () => {
            const stack = `local-e2e-${world().id}-${phase.stack}`;
            writeStackConfig(world(), stack, { ...baseConfig(world()), ...(slowTemplate ? { templateDir: slowTemplate } : {}) });
            const run = driver(world(), "up", stack, [], path.join(world().tmp, `${stack}.log`));
            await waitForOutput(run, (o) => phase.marker.test(o), 120_000);
            run.child.kill("SIGINT");
            const r = await run.done;
            assert.match(r.output, /SIGINT received/);
            // The engine lets the in-flight build finish or clean up; the run then ends either way.
            assert.notEqual(r.code, null, `driver killed by ${r.signal}`);
            await recoverAndDestroy(world(), stack);
            const inv = await stackInventory(world(), stack);
            assert.equal(inventorySize(inv), 0, `left: ${JSON.stringify(inv)}`);
            assert.deepEqual(await createdSinceStart(world()), [], "objects left in moto");
        });
    }

    it("two stacks at once: distinct names and tags; destroying one keeps the other's image", async () => {
        const alice = `local-e2e-${world().id}-alice`;
        const bob = `local-e2e-${world().id}-bob`;
        for (const s of [alice, bob]) writeStackConfig(world(), s, baseConfig(world()));
        // One sandbox build host: the builds run one after the other; the stacks then coexist.
        const a = upOutputs(await driverOk(world(), "up", alice));
        const b = upOutputs(await driverOk(world(), "up", bob));
        const aImage = (a.amiIds as Record<string, string>)[REGION];
        const bImage = (b.amiIds as Record<string, string>)[REGION];
        assert.notEqual(aImage, bImage);
        assert.notEqual(a.imageName, b.imageName);
        const aInv = await stackInventory(world(), alice);
        const bInv = await stackInventory(world(), bob);
        assert.deepEqual(
            aInv.images.map((i) => i.id),
            [aImage],
        );
        assert.deepEqual(
            bInv.images.map((i) => i.id),
            [bImage],
        );
        assert.equal(aInv.images[0].tags.Stack, alice);
        assert.equal(bInv.images[0].tags.Stack, bob);
        assert.notEqual(aInv.images[0].tags.BuildId, bInv.images[0].tags.BuildId);

        const destroyed = await driverOk(world(), "destroy", alice, ["--remove"]);
        assert.ok((changeSummary(destroyed).delete ?? 0) >= 1);
        assert.equal(inventorySize(await stackInventory(world(), alice)), 0);
        const bAfter = await stackInventory(world(), bob);
        assert.deepEqual(
            bAfter.images.map((i) => i.id),
            [bImage],
            "destroying alice touched bob's image",
        );
        assert.equal(bAfter.images[0].state, "available");
        // bob is still a working stack: a no-change up, then its own destroy.
        assert.deepEqual(Object.keys(changeSummary(await driverOk(world(), "up", bob))), ["same"]);
        await driverOk(world(), "destroy", bob, ["--remove"]);
        assert.deepEqual(await createdSinceStart(world()), [], "objects left in moto");
    });

    itStopsCleanly();
});
