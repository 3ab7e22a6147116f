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
import * as local from "./localStack";

const rel = (p: string) => path.relative(local.PROJECT_ROOT, p) || p;

async function main(argv: readonly string[]): Promise<number> {
    const t0 = Number(process.env.LOCAL_STARTED_MS) || Date.now();
    if (argv.length > 0) throw new local.LocalError(`unknown argument ${argv[0]} (usage: npm run local)`);
    const stack = local.localStackName();
    fs.mkdirSync(local.LOCAL_DIR, { recursive: true });
    if (process.getuid?.() !== 0) throw new local.LocalError("the sandbox build host needs root (namespaces, overlayfs, chroot)");
    const s = await local.readLocalSettings(stack);
    if (s.sshPort === 0)
        throw new local.LocalError(`Pulumi.${stack}.yaml sets no couchbase-images:sshPort (the sandbox sshd's, e.g. 2222)`);

    // --- inputs the local stack uses as prebuilt artifacts --------------------------------------
    local.log("rootfs: cached Debian root for the sandbox");
    const rootfs = rootfsDir();
    local.log("agent: agent/build.sh --out .build/agent");
    const agentSha = buildAgent(path.join(local.PROJECT_ROOT, ".build", "agent"));
    local.log(`agent: .build/agent/dp-agent.gz sha256 ${agentSha}`);
    const deb = buildStandin(path.join(local.PROJECT_ROOT, ".build", "standin"), s.couchbaseVersion, s.couchbaseEdition);
    local.log(`stand-in package: ${rel(deb)} (a STAND-IN, not Couchbase Server)`);
    // arm64 (architectures lists it): its own Debian root and agent; both run under qemu-aarch64,
    // which scripts/bootstrap.sh registers (rootfs.sh names the fix when it is not).
    let arm64Rootfs: string | undefined;
    if (s.architectures.includes("arm64")) {
        if (!fs.existsSync("/proc/sys/fs/binfmt_misc/qemu-aarch64")) {
            throw new local.LocalError(
                `Pulumi.${stack}.yaml builds arm64, but qemu-aarch64 is not registered in binfmt_misc: run scripts/bootstrap.sh (or remove arm64 from couchbase-images:architectures)`,
            );
        }
        local.log("rootfs: cached arm64 Debian root for the arm64 sandbox (qemu-aarch64)");
        arm64Rootfs = rootfsDir({ arch: "arm64" });
        local.log("agent: agent/build.sh --arch arm64 --out .build/agent-arm64");
        const arm64Sha = buildAgent(path.join(local.PROJECT_ROOT, ".build", "agent-arm64"), { arch: "arm64" });
        local.log(`agent: .build/agent-arm64/dp-agent.gz sha256 ${arm64Sha}`);
        const arm64Deb = buildStandin(path.join(local.PROJECT_ROOT, ".build", "standin"), s.couchbaseVersion, s.couchbaseEdition, {
            arch: "arm64",
        });
        local.log(`stand-in package: ${rel(arm64Deb)} (arm64, a STAND-IN)`);
    }

    // --- moto and hostd --------------------------------------------------------------------------
    const moto = await local.ensureMoto(s, `moto: starting on ${s.endpoint} (base images: scripts/local/amis.json)`);
    if (!moto.fresh) local.log(`moto: reusing pid ${moto.pid} on ${s.endpoint}`);
    await local.ensureHostd(s, rootfs, arm64Rootfs);

    // --- the stack -------------------------------------------------------------------------------
    if (moto.fresh && local.stackRecordsResources(stack)) {
        local.log(`moto was (re)started: the images in the ${stack} stack's state vanished with the old one; refreshing first`);
        const refreshed = await runCommand("refresh", { stack, clearPendingCreates: true });
        if (refreshed.code !== 0) return refreshed.code;
    }
    local.log(`up: stack ${stack}, as npm run stack -- up --stack ${stack} (Packer's progress follows)`);
    const up = await runCommand("up", { stack });
    if (up.code !== 0 || !up.result) return up.code || 1;
    const outputs = up.result.outputs;
    fs.writeFileSync(path.join(local.LOCAL_DIR, `outputs-${stack}.json`), `${JSON.stringify(outputs, null, 2)}\n`);

    const { imageId, versionsFile } = local.summaryOf(outputs, s.region, stack);
    const archLines = local.architectureLines(outputs, s.region);
    const lines = [
        "",
        `local: done in ${Math.floor((Date.now() - t0) / 1000)}s`,
        ...(archLines.length > 1
            ? archLines.map((l, i) => `  ${i === 0 ? "images:        " : "               "} ${l}`)
            : [`  image id:       ${imageId || "(see the outputs above)"}`, `  boot test:      ${local.bootTestLine(outputs)}`]),
        `  versions file:  ${versionsFile}`,
        `  emulator:       moto on ${s.endpoint} (pid ${moto.pid}), sandbox sshd ${local.hostdLanes(s).join(", ")} (arch:port on 127.0.0.1)`,
        "  sandbox files:  .local/sandbox/<instance-id>/upper (what the provisioning wrote)",
        "  tear down:      npm run local:destroy",
    ];
    const versionsPath = path.resolve(local.PROJECT_ROOT, versionsFile);
    if (fs.existsSync(versionsPath)) lines.push("", `${versionsFile}:`, fs.readFileSync(versionsPath, "utf8").replace(/\n$/, ""));
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
}

if (require.main === module) local.runEntry(() => main(process.argv.slice(2)));
