/**
 * The image provider's serialized text, remembered on disk between processes: the same text
 * `pulumi.dynamic.Resource` would store (so existing stacks see no `__provider` change), read back
 * instead of serialized again, and keyed so any provider source change serializes anew.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { PackerImageProvider } from "../../../providers/packer/provider";
import { providerText, providerTextKey, providerTextSources, PROVIDER_TEXT_DIR } from "../../../providers/providerText";

const ROOT = path.resolve(__dirname, "../../..");
const value = (o: pulumi.Output<string>) => new Promise<string>((resolve) => o.apply((v) => resolve(v)));

describe("providerText", function () {
    this.timeout(120_000);
    let root = "";
    before(() => {
        // A copy of what the key covers, so the test never touches the repository's cache.
        root = fs.mkdtempSync(path.join(os.tmpdir(), "provider-text-"));
        for (const f of providerTextSources(ROOT)) {
            fs.mkdirSync(path.dirname(path.join(root, f.path)), { recursive: true });
            fs.writeFileSync(path.join(root, f.path), new Uint8Array(f.content));
        }
    });
    after(() => fs.rmSync(root, { recursive: true, force: true }));

    it("is exactly what pulumi.dynamic.Resource serializes, and is written once", async () => {
        const provider = new PackerImageProvider();
        const want = (await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true })).text;
        assert.equal(await value(providerText("packer-image", () => provider, root)), want);
        const files = fs.readdirSync(path.join(root, PROVIDER_TEXT_DIR));
        assert.equal(files.length, 1);
        assert.equal(fs.readFileSync(path.join(root, PROVIDER_TEXT_DIR, files[0]), "utf8"), want);
    });

    it("a later process reads the remembered text instead of serializing", async () => {
        const [file] = fs.readdirSync(path.join(root, PROVIDER_TEXT_DIR));
        fs.writeFileSync(path.join(root, PROVIDER_TEXT_DIR, file), "remembered text");
        // A fresh process has an empty memo: run one.
        const out = require("node:child_process").execFileSync(
            process.execPath,
            [
                "-r",
                "ts-node/register/transpile-only",
                "-e",
                `const {providerText}=require(${JSON.stringify(path.join(ROOT, "providers/providerText"))}); providerText("packer-image", () => ({}), ${JSON.stringify(root)}).apply((t) => process.stdout.write(t));`,
            ],
            { cwd: ROOT, encoding: "utf8" },
        );
        assert.equal(out, "remembered text");
    });

    it("the key changes with any provider source, a tsconfig, the lock file or Node, and not with file order", () => {
        const files = [
            { path: "providers/a.ts", content: "a" },
            { path: "tsconfig.json", content: "{}" },
        ];
        const k = providerTextKey(files, "v20.0.0");
        assert.equal(providerTextKey([...files].reverse(), "v20.0.0"), k);
        assert.notEqual(providerTextKey([{ ...files[0], content: "b" }, files[1]], "v20.0.0"), k);
        assert.notEqual(providerTextKey([...files, { path: "package-lock.json", content: "x" }], "v20.0.0"), k);
        assert.notEqual(providerTextKey(files, "v22.0.0"), k);
    });

    it("covers every file under providers/ and the build settings", () => {
        const paths = providerTextSources(ROOT).map((f) => f.path);
        assert.ok(paths.includes("providers/packer/index.ts"));
        assert.ok(paths.includes("providers/packer/progress.ts"));
        for (const f of ["pipeline/inputs.ts", "tsconfig.json", "tsconfig.pulumi.json", "package-lock.json"])
            assert.ok(paths.includes(f), f);
    });

    it("covers every project file a provider module imports from outside providers/ (its values end up in the text)", () => {
        const paths = new Set(providerTextSources(ROOT).map((f) => f.path));
        const outside: string[] = [];
        for (const f of paths) {
            if (!f.startsWith("providers/") || !f.endsWith(".ts")) continue;
            const text = fs.readFileSync(path.join(ROOT, f), "utf8");
            for (const m of text.matchAll(/^import\s+(?!type\b)[^"']*["'](\.[^"']+)["']/gm)) {
                const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), m[1]));
                if (target.startsWith("providers/")) continue;
                const file = [`${target}.ts`, `${target}/index.ts`].find((c) => fs.existsSync(path.join(ROOT, c))) ?? target;
                outside.push(`${f} → ${file}`);
                assert.ok(
                    paths.has(file),
                    `${f} imports ${file}, which the provider text's key does not cover (providers/providerText.ts providerTextSources)`,
                );
            }
        }
        assert.ok(
            outside.some((o) => o.endsWith("pipeline/inputs.ts")),
            outside.join("\n"),
        );
    });
});
