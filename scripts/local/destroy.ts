/**
 * npm run local:destroy: destroys the local stack, checks that moto holds nothing of it any more,
 * then stops the sandbox build host (hostd and its sandbox) and moto, and checks that none of their
 * processes and no mount under .local/ is left (scripts/local/destroy.sh runs this).
 *
 *   npm run local:destroy [-- --keep-sandboxes]
 *
 * Env: LOCAL_STACK (default local). With moto gone (say, after a reboot) the images are gone too:
 * the stack's state is then only stale, so destroy runs against a fresh moto (deleting what no
 * longer exists counts as done) to empty it. Sandbox upper dirs under .local/sandbox are removed
 * unless --keep-sandboxes is given.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { inventorySize } from "../../providers/ec2/inventory";
import { runCommand } from "../stack";
import * as local from "./localStack";

async function main(argv: readonly string[]): Promise<number> {
    let keepSandboxes = false;
    for (const a of argv) {
        if (a === "--keep-sandboxes") keepSandboxes = true;
        else throw new local.LocalError(`unknown argument ${a} (usage: npm run local:destroy [-- --keep-sandboxes])`);
    }
    const stack = local.localStackName();
    fs.mkdirSync(local.LOCAL_DIR, { recursive: true });
    let status = 0;

    if (local.stackRecordsResources(stack)) {
        const s = await local.readLocalSettings(stack);
        await local.ensureMoto(s, "moto is not running: starting an empty one so destroy can empty the stack's stale state");
        local.log(`destroy: stack ${stack}, as npm run stack -- destroy --stack ${stack}`);
        if ((await runCommand("destroy", { stack })).code !== 0) {
            local.log("destroy failed: the emulator and build host are stopped anyway; see docs/local.md (recovery)");
            status = 1;
        } else {
            const left = await local.stackLeftInMoto(s, stack);
            if (inventorySize(left) === 0)
                local.log(`inventory: moto holds no image, snapshot, instance, key pair or security group tagged Stack=${stack}`);
            else {
                local.log(
                    `error: moto still holds objects tagged Stack=${stack}: ${local.describeInventory(left)} (see docs/local.md, recovery)`,
                );
                status = 1;
            }
        }
    } else {
        local.log(`stack ${stack} has no resources: nothing to destroy`);
    }

    if (!(await local.stopLocal())) status = 1;
    if (status === 0) {
        if (!keepSandboxes)
            for (const d of ["sandbox", "hostkeys"]) fs.rmSync(path.join(local.LOCAL_DIR, d), { recursive: true, force: true });
        local.log(`done: stack ${stack} destroyed; moto, hostd and sandboxes stopped; no process or mount left`);
    }
    return status;
}

if (require.main === module) local.runEntry(() => main(process.argv.slice(2)));
