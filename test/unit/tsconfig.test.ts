/**
 * What `pulumi up` compiles with: Pulumi.yaml names tsconfig.pulumi.json for the Node runtime, and
 * that file is tsconfig.json's compiler options plus `noCheck` (Pulumi's runtime then registers
 * ts-node transpile-only; `npm test` type-checks). Read as Pulumi reads them (TypeScript's JSONC
 * parser, own compilerOptions only).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { configuredTsconfig, modeEnv } from "../../bench/programStart";

const ROOT = path.resolve(__dirname, "../..");
const read = (f: string) =>
    ts.parseConfigFileTextToJson(f, fs.readFileSync(path.join(ROOT, f), "utf8")).config as {
        compilerOptions: Record<string, unknown>;
        include: string[];
    };

describe("tsconfig for pulumi up", () => {
    it("Pulumi.yaml's runtime options name tsconfig.pulumi.json", () => {
        assert.equal(configuredTsconfig(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")), "tsconfig.pulumi.json");
    });

    it("tsconfig.pulumi.json = tsconfig.json's compiler options + noCheck", () => {
        const { noCheck, ...rest } = read("tsconfig.pulumi.json").compilerOptions;
        assert.equal(noCheck, true);
        assert.deepEqual(rest, read("tsconfig.json").compilerOptions);
    });

    it("npm test's type check still covers the program (tsconfig.json has no noCheck)", () => {
        assert.equal(read("tsconfig.json").compilerOptions.noCheck, undefined);
        assert.ok(read("tsconfig.json").include.includes("index.ts"));
    });

    const yamls: [string, string | undefined][] = [
        ["runtime:\n  name: nodejs\n  options:\n    typescript: true\n    tsconfig: tsconfig.pulumi.json\n", "tsconfig.pulumi.json"],
        ["runtime:\n  name: nodejs\n  options:\n    typescript: true\n", undefined],
        ["runtime: nodejs\nconfig:\n  tsconfig: x\n", undefined],
    ];
    for (const [text, want] of yamls)
        it(`configuredTsconfig(${JSON.stringify(text.slice(0, 40))}…) → ${want}`, () => assert.equal(configuredTsconfig(text), want));

    it("the bench's modes set exactly what the Node language host would", () => {
        assert.equal(modeEnv("type-checked", "t.json").PULUMI_NODEJS_TSCONFIG_PATH, undefined);
        assert.equal(modeEnv("as configured", "t.json").PULUMI_NODEJS_TSCONFIG_PATH, "t.json");
        assert.equal(modeEnv("transpile-only", "t.json").PULUMI_NODEJS_TRANSPILE_ONLY, "true");
    });
});
