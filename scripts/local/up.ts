/**
 * npm run local: the whole pipeline on this machine, offline (scripts/local/up.sh installs the
 * tools, then runs this).
 *
 *   agent artifact -> stand-in couchbase-server .deb -> moto's EC2 server -> hostd (sandbox build
 *   host) -> `up` of the local stack on the real engine and real Packer -> prints the image id, the
 *   versions file and the teardown command.
 *
 * Idempotent: a second run reuses the running emulator and build host, and `up` changes nothing.
 * moto keeps its state in memory: when this has to start moto while the stack's state still records
 * resources, those images vanished with the old moto, so it runs `refresh` first (the provider's
 * read reports them gone) and `up` then builds again.
 *
 * Env: LOCAL_STACK (default local; any local-* stack works). Ports come from the stack's config
 * (Pulumi.local.yaml): ec2Endpoint (moto) and sshPort (sandbox sshd). LOCAL_STARTED_MS: when the
 * command started (up.sh sets it before the bootstrap), for the total time printed at the end.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { runCommand } from "../stack";
import { buildAgent, buildStandin, rootfsDir } from "./inputs";
import { motoEnv } from "./moto";
import {
    ensureHostd,
    LOCAL_DIR,
    LocalError,
    localStackName,
    log,
    PROJECT_ROOT,
    readLocalSettings,
    runEntry,
    runningMoto,
    stackRecordsResources,
    startLocalMoto,
    summaryOf,
} from "./localStack";

const rel = (p: string) => path.relative(PROJECT_ROOT, p) || p;

async function main(argv: readonly string[]): Promise<number> {
    const t0 = Number(process.env.LOCAL_STARTED_MS) || Date.now();
    if (argv.length > 0) throw new LocalError(`unknown argument ${argv[0]} (usage: npm run local)`);
    const stack = localStackName();
    fs.mkdirSync(LOCAL_DIR, { recursive: true });
    if (process.getuid?.() !== 0) throw new LocalError("the sandbox build host needs root (namespaces, overlayfs, chroot)");
    const s = await readLocalSettings(stack);
    if (s.sshPort === 0) throw new LocalError(`Pulumi.${stack}.yaml sets no couchbase-images:sshPort (the sandbox sshd's, e.g. 2222)`);

    // --- inputs the local stack uses as prebuilt artifacts --------------------------------------
    log("rootfs: cached Debian root for the sandbox");
    const rootfs = rootfsDir();
    log("agent: agent/build.sh --out .build/agent");
    const agentSha = buildAgent(path.join(PROJECT_ROOT, ".build", "agent"));
    log(`agent: .build/agent/dp-agent.gz sha256 ${agentSha}`);
    const deb = buildStandin(path.join(PROJECT_ROOT, ".build", "standin"), s.couchbaseVersion, s.couchbaseEdition);
    log(`stand-in package: ${rel(deb)} (a STAND-IN, not Couchbase Server)`);

    // --- moto and hostd --------------------------------------------------------------------------
    let motoPid = await runningMoto(s);
    const freshMoto = motoPid === undefined;
    if (motoPid !== undefined) log(`moto: reusing pid ${motoPid} on ${s.endpoint}`);
    else {
        log(`moto: starting on ${s.endpoint} (base images: scripts/local/amis.json)`);
        motoPid = await startLocalMoto(s);
    }
    await ensureHostd(s, rootfs);

    // --- the stack -------------------------------------------------------------------------------
    Object.assign(process.env, motoEnv(s.endpoint, s.region));
    if (freshMoto && stackRecordsResources(stack)) {
        log(`moto was (re)started: the images in the ${stack} stack's state vanished with the old one; refreshing first`);
        const refreshed = await runCommand("refresh", { stack, clearPendingCreates: true });
        if (refreshed.code !== 0) return refreshed.code;
    }
    log(`up: stack ${stack}, as npm run stack -- up --stack ${stack} (Packer's progress follows)`);
    const up = await runCommand("up", { stack });
    if (up.code !== 0 || !up.result) return up.code || 1;
    const outputs = up.result.outputs;
    fs.writeFileSync(path.join(LOCAL_DIR, `outputs-${stack}.json`), `${JSON.stringify(outputs, null, 2)}\n`);

    const { imageId, versionsFile } = summaryOf(outputs, s.region, stack);
    const lines = [
        "",
        `local: done in ${Math.floor((Date.now() - t0) / 1000)}s`,
        `  image id:       ${imageId || "(see the outputs above)"}`,
        `  versions file:  ${versionsFile}`,
        `  emulator:       moto on ${s.endpoint} (pid ${motoPid}), sandbox sshd on 127.0.0.1:${s.sshPort}`,
        "  sandbox files:  .local/sandbox/<instance-id>/upper (what the provisioning wrote)",
        "  tear down:      npm run local:destroy",
    ];
    const versionsPath = path.resolve(PROJECT_ROOT, versionsFile);
    if (fs.existsSync(versionsPath)) lines.push("", `${versionsFile}:`, fs.readFileSync(versionsPath, "utf8").replace(/\n$/, ""));
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
}

if (require.main === module) runEntry(() => main(process.argv.slice(2)));
