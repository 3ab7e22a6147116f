/**
 * `npm run gen:config`: writes the parts generated from the config table (pipeline/inputs.ts):
 * Pulumi.yaml's `config:` block and the key tables of README.md and docs/program.md
 * (pipeline/inputsDocs.ts renders them). `--check` writes nothing and exits 1 naming each file
 * that differs (test/unit/config-inputs.test.ts does the same check in `npm test`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { generatedFiles } from "../pipeline/inputsDocs";

const root = path.resolve(__dirname, "..");
const check = process.argv.includes("--check");
const files = generatedFiles((f) => fs.readFileSync(path.join(root, f), "utf8"));
let stale = 0;
for (const [file, text] of Object.entries(files)) {
    const current = fs.readFileSync(path.join(root, file), "utf8");
    if (current === text) continue;
    stale++;
    if (check) console.error(`gen-config: ${file} differs from pipeline/inputs.ts: run npm run gen:config`);
    else {
        fs.writeFileSync(path.join(root, file), text);
        console.log(`gen-config: wrote ${file}`);
    }
}
if (check && stale > 0) process.exit(1);
