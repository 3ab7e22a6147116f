/**
 * The whole pipeline on one machine, on the real engine and real Packer: moto's EC2 server, the
 * hostd sandbox build host, the stack driver as a child process. One stack, in order:
 * up (build, then the boot test of the new image) → inventory (the test instance, key pair and
 * group gone) and the versions file recording the passed test → sandbox files → up again (no
 * change, no build, no test) → edit a check (in a copy of the template) → the same image tested
 * again, nothing rebuilt → edit a provisioning script → preview names it → up (new image before
 * the old one goes, tested) → destroy → inventory empty → no process or mount left.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import { DescribeImagesCommand } from "@aws-sdk/client-ec2";
import { tagMap } from "../../providers/ec2/tags";
import {
    allIds,
    baseConfig,
    changeSummary,
    createdSinceStart,
    driverOk,
    inventorySize,
    programTakesTemplateDir,
    REGION,
    ROOT,
    sandboxUppers,
    sleep,
    stackInventory,
    templateCopy,
    upOutputs,
    useWorld,
    writeStackConfig,
} from "./harness";
import { SandboxView } from "./sandbox";
import { versionsSchemaValidator } from "../fixtures/versionsSchema";
import { imageFor } from "../../pipeline/imageFor";

describe("e2e: the pipeline on moto and a sandbox build host", function () {
    this.timeout(240_000);
    const { world, itStopsCleanly } = useWorld("pipe");
    let stack = "";
    let template = "";
    let firstImage = "";
    let secondImage = "";
    const createdIds = new Set<string>();

    before(() => {
        const w = world();
        stack = `local-e2e-${w.id}`;
        // The edit test changes a copy of the template, never the repo's files; that needs the
        // program's templateDir key (without it, that one test is skipped and says why).
        template = programTakesTemplateDir() ? templateCopy(w, "template") : "";
        writeStackConfig(w, stack, { ...baseConfig(w), ...(template ? { templateDir: template } : {}) });
    });

    it("up builds the image through Packer and the sandbox, then boots it and passes the boot test", async () => {
        const out = await driverOk(world(), "up", stack);
        assert.match(out, /Connected to SSH!/);
        const outputs = upOutputs(out);
        firstImage = (outputs.amiIds as Record<string, string>)[REGION];
        // The per-architecture output names the same image (the local stack builds amd64).
        assert.deepEqual(outputs.amiIdsByArch, { amd64: outputs.amiIds });
        assert.match(firstImage, /^ami-[0-9a-f]+$/);
        // The boot test ran on an instance launched from exactly that image, and passed.
        assert.match(out, new RegExp(`boot-test: testing ${firstImage} `));
        assert.match(out, /boot-test: passed: \d+ checks passed/);
        const boot = outputs.bootTest as { enabled: boolean; passed: boolean; at: string; checks: { name: string; status: string }[] };
        assert.equal(boot.enabled, true);
        assert.equal(boot.passed, true);
        assert.ok(
            boot.checks.some((c) => c.name === "dp-agent-active" && c.status === "passed"),
            JSON.stringify(boot.checks),
        );
        const launched = Object.keys(world().hostd.state().served);
        assert.equal(launched.length, 2, `expected a builder and a test instance, hostd served ${launched.join(", ")}`);
        for (const id of await createdSinceStart(world())) createdIds.add(id);
    });

    it("inventory: the image exists with the stack's tags; the versions file is valid", async () => {
        const ec2 = world().ec2;
        const r = await ec2.send(new DescribeImagesCommand({ ImageIds: [firstImage] }));
        const img = r.Images?.[0];
        assert.ok(img, "image not found");
        assert.equal(img.State, "available");
        const tags = tagMap(img.Tags);
        assert.equal(tags.Project, "couchbase-images");
        assert.equal(tags.Stack, stack);
        assert.equal(tags.Environment, "local");
        assert.equal(tags.Architecture, "amd64");
        assert.ok(tags.Fingerprint && tags.BuildId && tags.ExpiresAt, `missing tags: ${JSON.stringify(tags)}`);
        const inv = await stackInventory(world(), stack);
        assert.deepEqual(
            inv.images.map((i) => i.id),
            [firstImage],
        );
        assert.equal(inv.instances.length, 0, "the builder instance is not terminated");
        assert.equal(inv.keyPairs.length + inv.securityGroups.length, 0, "temporary key pair or security group left");

        const versionsFile = path.join(ROOT, world().buildDir, "versions", `${stack}.json`);
        const doc = JSON.parse(fs.readFileSync(versionsFile, "utf8")) as {
            schemaVersion: number;
            architectures: Record<string, { images: Record<string, { imageId: string }> }>;
            images: Record<string, { imageId: string }>;
            stack: string;
            bootTest: { enabled: boolean; passed: boolean; at: string; checks: { name: string; status: string; saw: string }[] };
        };
        const validate = versionsSchemaValidator();
        assert.ok(validate(doc), JSON.stringify(validate.errors));
        assert.equal(doc.stack, stack);
        assert.equal(doc.images[REGION].imageId, firstImage);
        // schemaVersion 2: the image under its architecture, as a reader picks it (pipeline/imageFor.ts).
        assert.equal(doc.schemaVersion, 2);
        assert.deepEqual(Object.keys(doc.architectures), ["amd64"]);
        assert.equal(imageFor(doc, REGION, "amd64"), firstImage);
        assert.equal(imageFor(doc, REGION, "arm64"), undefined);
        // The versions file names the image with its passed boot test: when, and every check.
        assert.equal(doc.bootTest.enabled, true);
        assert.equal(doc.bootTest.passed, true);
        assert.ok(Date.parse(doc.bootTest.at) > 0);
        const names = doc.bootTest.checks.map((c) => c.name);
        for (const n of [
            "system-running",
            "no-failed-units",
            "dp-agent-active",
            "agent-node-identity",
            "couchbase-active",
            "ssh-host-keys-fresh",
            "authorized-keys-only-test-key",
        ])
            assert.ok(names.includes(n), `${n} not in the recorded checks: ${names.join(", ")}`);
        assert.ok(doc.bootTest.checks.every((c) => c.status !== "failed"));
    });

    it("the sandbox holds what the provisioning wrote: agent, tuning, stand-in package, and clean hygiene", () => {
        const uppers = sandboxUppers(world());
        assert.ok(uppers.length >= 1, `expected the build's sandbox, got ${uppers.length}`);
        const v = new SandboxView(uppers[0].upper, world().rootfs);
        // dp-agent installed and enabled.
        assert.ok(v.written("usr/local/bin/dp-agent"), "dp-agent binary missing");
        assert.ok(fs.statSync(path.join(v.upper, "usr/local/bin/dp-agent")).mode & 0o111, "dp-agent not executable");
        assert.ok(v.exists("etc/systemd/system/dp-agent.service"), "dp-agent unit missing");
        assert.match(v.readlink("etc/systemd/system/multi-user.target.wants/dp-agent.service") ?? "", /dp-agent\.service$/);
        // Tuning: a THP unit enabled somewhere, swappiness 1.
        const wants = v.list("etc/systemd/system").filter((d) => d.endsWith(".wants"));
        const thpEnabled = wants.some((d) => v.list(`etc/systemd/system/${d}`).some((n) => /thp/i.test(n)));
        assert.ok(thpEnabled, `no THP unit enabled (wants dirs: ${wants.join(", ")})`);
        const sysctl = v.list("etc/sysctl.d").map((f) => v.read(`etc/sysctl.d/${f}`));
        assert.ok(
            sysctl.some((t) => /^\s*vm\.swappiness\s*=\s*1\s*$/m.test(t)),
            "vm.swappiness = 1 not set",
        );
        // The stand-in package, clearly labelled.
        assert.match(v.read("opt/couchbase/STAND-IN.txt"), /STAND-IN/);
        // Hygiene: no SSH keys or host keys, no build uploads, no shell history, empty machine-id.
        assert.ok(!v.exists("root/.ssh/authorized_keys"), "authorized_keys left in the image");
        assert.deepEqual(
            v.list("etc/ssh").filter((n) => n.startsWith("ssh_host_")),
            [],
            "SSH host keys left in the image",
        );
        assert.ok(!v.exists("tmp/image-build"), "build uploads left");
        assert.ok(!v.exists("root/.bash_history"), "shell history left");
        assert.equal(v.exists("etc/machine-id") ? v.read("etc/machine-id").trim() : "", "", "machine-id not emptied");
    });

    it("up again changes nothing and runs no build", async () => {
        const served = Object.keys(world().hostd.state().served).length;
        const out = await driverOk(world(), "up", stack);
        const changes = changeSummary(out);
        assert.deepEqual(Object.keys(changes), ["same"], `expected no change, got ${JSON.stringify(changes)}`);
        assert.doesNotMatch(out, /packer: /, "Packer ran");
        assert.equal(Object.keys(world().hostd.state().served).length, served, "a builder instance was launched");
        assert.equal((upOutputs(out).amiIds as Record<string, string>)[REGION], firstImage);
    });

    it("editing a check re-tests the same image: the boot test is replaced, the image is not rebuilt", async function () {
        if (!template) this.skip();
        const served = Object.keys(world().hostd.state().served).length;
        const check = path.join(ROOT, template, "boot-test", "boot-check.sh");
        fs.appendFileSync(check, "# e2e: a changed check must re-test the image, never rebuild it\n");
        const out = await driverOk(world(), "up", stack);
        const changes = changeSummary(out);
        assert.equal(changes.replace, 1, `expected the boot test alone replaced, got ${JSON.stringify(changes)}`);
        assert.match(out, /boot-test: test again: changed checksHash/);
        assert.doesNotMatch(out, /packer-image: building/, "the image was rebuilt");
        assert.equal((upOutputs(out).amiIds as Record<string, string>)[REGION], firstImage);
        assert.equal(Object.keys(world().hostd.state().served).length, served + 1, "one test instance launched, no builder");
        const inv = await stackInventory(world(), stack);
        assert.equal(inv.instances.length + inv.keyPairs.length + inv.securityGroups.length, 0, `test leftovers: ${JSON.stringify(inv)}`);
    });

    it("editing a provisioning script: preview shows a replacement that names the file", async function () {
        if (!template) {
            console.warn("      skipped: Pulumi.yaml declares no templateDir key, so the template cannot be swapped for an edited copy");
            this.skip();
        }
        const script = path.join(ROOT, template, "scripts", "tune-host.sh");
        fs.appendFileSync(script, "# e2e: a changed provisioning script must rebuild the image\n");
        const out = await driverOk(world(), "preview", stack, ["--diff"]);
        assert.match(out, /\+-.*couchbase-image|replace/i, "no replacement in the preview");
        assert.match(out, /tune-host\.sh/, "the preview does not name the edited script");
        const changes = changeSummary(out);
        assert.ok((changes.replace ?? 0) >= 1, `expected a replace, got ${JSON.stringify(changes)}`);
    });

    it("up replaces the image; the old one goes only after the new one exists", async function () {
        if (!template) this.skip();
        const ec2 = world().ec2;
        // Watch the stack's images while up runs: at no moment may the stack have no available image.
        const seen: { t: number; ids: string[] }[] = [];
        let watching = true;
        const watcher = (async () => {
            while (watching) {
                const r = await ec2.send(
                    new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: "tag:Stack", Values: [stack] }] }),
                );
                seen.push({ t: Date.now(), ids: (r.Images ?? []).filter((i) => i.State === "available").map((i) => i.ImageId!) });
                await sleep(50);
            }
        })();
        let out: string;
        try {
            out = await driverOk(world(), "up", stack);
        } finally {
            watching = false;
            await watcher;
        }
        secondImage = (upOutputs(out).amiIds as Record<string, string>)[REGION];
        assert.notEqual(secondImage, firstImage);
        assert.ok(!seen.some((s) => s.ids.length === 0), "there was a moment with no image of the stack");
        const firstNew = seen.findIndex((s) => s.ids.includes(secondImage));
        const oldGone = seen.findIndex((s) => !s.ids.includes(firstImage));
        assert.ok(
            firstNew >= 0 && oldGone >= 0 && firstNew <= oldGone,
            `old image removed before the new one existed (${firstNew} vs ${oldGone})`,
        );
        const inv = await stackInventory(world(), stack);
        assert.deepEqual(
            inv.images.map((i) => i.id),
            [secondImage],
        );
        assert.match(out, new RegExp(`boot-test: testing ${secondImage} `), "the new image was not boot tested");
        const doc = JSON.parse(fs.readFileSync(path.join(ROOT, world().buildDir, "versions", `${stack}.json`), "utf8")) as {
            images: Record<string, { imageId: string }>;
            bootTest: { passed: boolean };
        };
        assert.equal(doc.images[REGION].imageId, secondImage);
        assert.equal(doc.bootTest.passed, true);
        for (const id of await createdSinceStart(world())) createdIds.add(id);
    });

    it("destroy leaves nothing of the stack: by tags and by the ids it created", async () => {
        const out = await driverOk(world(), "destroy", stack, ["--remove"]);
        assert.match(out, /succeeded/);
        const inv = await stackInventory(world(), stack);
        assert.equal(inventorySize(inv), 0, `left by tag: ${JSON.stringify(inv)}`);
        const now = await allIds(world());
        const left = [...createdIds].filter((id) => now.has(id));
        assert.deepEqual(left, [], "objects the stack created are still there");
        assert.deepEqual(await createdSinceStart(world()), [], "moto holds objects that were not there before the test");
        for (const instanceId of Object.keys(world().hostd.state().served)) assert.ok(!now.has(instanceId), `${instanceId} not terminated`);
        assert.ok(!fs.existsSync(path.join(ROOT, world().buildDir, "versions", `${stack}.json`)), "versions file not removed");
    });

    itStopsCleanly();
});
