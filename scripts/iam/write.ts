/**
 * Writes the IAM policy files of docs/iam/ from scripts/iam/actions.ts:
 *
 *   npx ts-node --transpile-only scripts/iam/write.ts
 *
 * Run it after editing the action list; test/unit/iam.test.ts fails while the files are stale.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { POLICY_FILES, policyText } from "./policies";
import type { Role } from "./actions";

const ROOT = path.resolve(__dirname, "../..");

for (const [role, file] of Object.entries(POLICY_FILES) as [Role, string][]) {
    fs.writeFileSync(path.join(ROOT, file), policyText(role));
    process.stdout.write(`${file}\n`);
}
