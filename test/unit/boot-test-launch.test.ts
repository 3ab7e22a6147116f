/**
 * The boot test's launch variables are declared once, in the image template: the generated file a
 * run's folder gets (providers/bootTest/launchVariables.ts) against tables and the real templates
 * (images/aws/couchbase-cloud.pkr.hcl declares every shared variable; boot-test.pkr.hcl none of
 * them, and together they declare every variable the provider passes). Packer's own reading of the
 * generated file: test/integration/boot-test-validate.test.ts.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    imageTemplateDir,
    LAUNCH_VARIABLES,
    LAUNCH_VARIABLES_FILE,
    launchVariablesFile,
    runFiles,
    variableBlocks,
} from "../../providers/bootTest/launchVariables";
import { bootTestDefaults, bootTestVariables, checksHash } from "../../providers/bootTest/inputs";
import { declaredVariables } from "../../providers/packer/argv";

const ROOT = path.resolve(__dirname, "../..");
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), "utf8");

describe("boot test launch variables", () => {
    it("variableBlocks: each top-level block by name, from variable to its closing brace", () => {
        const text = [
            'variable "a" {',
            "  type = string",
            "  validation {",
            "    condition = true",
            "  }",
            "}",
            "",
            'variable "b" {}',
            "locals {",
            '  x = "}"',
            "}",
            'variable "a" {',
            "  type = number",
            "}",
        ].join("\n");
        const b = variableBlocks([text]);
        assert.deepEqual([...b.keys()], ["a", "b"]);
        assert.equal(b.get("a"), ['variable "a" {', "  type = string", "  validation {", "    condition = true", "  }", "}"].join("\n"));
        assert.equal(b.get("b"), 'variable "b" {}');
    });

    it("an unclosed block is not taken", () => {
        assert.deepEqual([...variableBlocks(['variable "a" {\n  type = string\n']).keys()], []);
    });

    it("launchVariablesFile: the blocks in LAUNCH_VARIABLES' order, or the names nothing declares", () => {
        const decl = (n: string) => `variable "${n}" {\n  type = string\n}`;
        const all = LAUNCH_VARIABLES.map(decl).reverse().join("\n\n");
        const f = launchVariablesFile([all, decl("other")], "../x.pkr.hcl");
        assert.deepEqual(f.missing, []);
        assert.match(f.text ?? "", /^# Generated for one boot test run from \.\.\/x\.pkr\.hcl/);
        assert.deepEqual(declaredVariables([f.text ?? ""]), [...LAUNCH_VARIABLES].sort());
        assert.ok((f.text ?? "").indexOf('"region"') < (f.text ?? "").indexOf('"ssh_port"'));
        assert.deepEqual(launchVariablesFile([decl("region")], "..").missing, LAUNCH_VARIABLES.slice(1));
    });

    it("runFiles: the folder's files plus the generated one (a stale copy of it replaced), sorted; the checks hash follows the generated text", () => {
        const folder = [
            { path: "boot-test.pkr.hcl", content: "t", executable: false },
            { path: LAUNCH_VARIABLES_FILE, content: "stale", executable: true },
            { path: "boot-check.sh", content: "c", executable: true },
        ];
        const files = runFiles(folder, "launch");
        assert.deepEqual(
            files.map((f) => [f.path, f.content, f.executable]),
            [
                ["boot-check.sh", "c", true],
                ["boot-test.pkr.hcl", "t", false],
                [LAUNCH_VARIABLES_FILE, "launch", false],
            ],
        );
        assert.notEqual(checksHash(files), checksHash(runFiles(folder, "launch2")));
    });

    it("imageTemplateDir: the boot test folder's parent", () => {
        for (const [d, want] of [
            ["images/aws/boot-test", "images/aws"],
            ["images/aws/boot-test/", "images/aws"],
            [".build/e2e-x/good/boot-test", ".build/e2e-x/good"],
            ["boot-test", "."],
        ])
            assert.equal(imageTemplateDir(d), want, d);
    });

    it("the real templates: the image template declares every shared variable, the boot test's template none of them", () => {
        const image = read("images/aws/couchbase-cloud.pkr.hcl");
        const own = read("images/aws/boot-test/boot-test.pkr.hcl");
        const f = launchVariablesFile([image], "../couchbase-cloud.pkr.hcl");
        assert.deepEqual(f.missing, []);
        const ownVars = declaredVariables([own]);
        assert.deepEqual(
            ownVars.filter((v) => LAUNCH_VARIABLES.includes(v)),
            [],
            "boot-test.pkr.hcl declares a launch variable again",
        );
        // Every variable the provider may pass is declared by the run's folder (nothing dropped).
        const i = bootTestDefaults({
            imageId: "ami-0123456789abcdef0",
            imageName: "img",
            region: "us-east-1",
            subnetId: "subnet-1",
            vpcId: "vpc-1",
            associatePublicIpAddress: true,
            sshInterface: "private_ip",
            sshCidrs: ["10.0.0.0/8"],
            ec2Endpoint: "http://127.0.0.1:1",
            emulator: true,
            sshHost: "127.0.0.1",
            sshPort: 2222,
            sshUsername: "root",
            emulationLimits: ["x.service"],
        });
        const passed = Object.keys(bootTestVariables(i, { reportPath: "r.json", tags: {}, temporaryKeyPairName: "packer-x" }));
        const declared = declaredVariables([own, f.text ?? ""]);
        assert.deepEqual(
            passed.filter((v) => !declared.includes(v)),
            [],
        );
    });
});
