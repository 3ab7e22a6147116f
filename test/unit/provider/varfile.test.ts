/**
 * The build's Packer variable file is readable by its owner only while Packer runs, and removed
 * when the build ends, whether it succeeded or failed; a variable holding a value set as secret
 * (a tag) is never in it: Packer gets that one from its environment (PKR_VAR_tags), so even a
 * build killed with SIGKILL leaves no secret on disk. Against the fake `packer` and a mocked EC2 client.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import { mockClient } from "aws-sdk-client-mock";
import {
    DeleteSnapshotCommand,
    DeregisterImageCommand,
    DescribeImagesCommand,
    EC2Client,
    type DescribeImagesCommandInput,
} from "@aws-sdk/client-ec2";
import { PackerImageProvider } from "../../../providers/packer/provider";
import { captureConsole, inputs, makeProject, waitFor, type Project } from "./harness";

describe("PackerImageProvider: the build's variable file", function () {
    this.timeout(30_000);
    const ec2 = mockClient(EC2Client);
    let p: Project;
    before(() => (p = makeProject()));
    after(() => {
        p.restore();
        ec2.restore();
    });
    beforeEach(() => {
        ec2.reset();
        p.reset();
        ec2.on(DescribeImagesCommand).callsFake((input: DescribeImagesCommandInput) => ({
            Images: input.ImageIds
                ? [{ ImageId: input.ImageIds[0], Name: "x", State: "available", BlockDeviceMappings: [], Tags: [] }]
                : [],
        }));
        ec2.on(DeregisterImageCommand).resolves({});
        ec2.on(DeleteSnapshotCommand).resolves({});
    });
    const varFiles = () =>
        fs.existsSync(".build/packer")
            ? fs
                  .readdirSync(".build/packer")
                  .map((d) => `.build/packer/${d}/vars.pkrvars.json`)
                  .filter((f) => fs.existsSync(f))
            : [];

    for (const outcome of ["succeeds", "fails"] as const) {
        it(`is mode 0600 while Packer runs and gone after the build ${outcome}`, async () => {
            p.knobs({
                FAKE_PACKER_SLEEP_AT: "provision",
                FAKE_PACKER_SLEEP: "1",
                ...(outcome === "fails" ? { FAKE_PACKER_FAIL_AT: "provision" } : {}),
            });
            const run = captureConsole(() =>
                new PackerImageProvider().create(
                    inputs(p, { extraTags: { CostCenter: "s3cr3t-value", Short: "ab" }, secretValues: ["s3cr3t-value", "ab"] }),
                ),
            );
            await waitFor(() => p.events().some((e) => e.sleeping === "provision"));
            const during = varFiles();
            assert.equal(during.length, 1, `var files: ${during.join(", ")}`);
            assert.equal(fs.statSync(during[0]).mode & 0o777, 0o600);
            const text = fs.readFileSync(during[0], "utf8");
            assert.doesNotMatch(text, /s3cr3t-value|"ab"/, "a secret value is in the var file");
            assert.match(text, /"image_name"/, "the other variables are in the file");
            const build = p.events().find((e) => e.cmd === "build") as { vars: { tags: Record<string, string> } } | undefined;
            assert.equal(build?.vars.tags.CostCenter, "s3cr3t-value", "Packer gets the secret tag from its environment");
            assert.equal(build?.vars.tags.Short, "ab");
            const { error } = await run;
            assert.equal(error === undefined, outcome === "succeeds", error?.message);
            assert.deepEqual(varFiles(), [], "the var file outlived the build");
        });
    }
});
