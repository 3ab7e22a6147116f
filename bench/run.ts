/**
 * npm run bench: what the orchestration costs, measured on this machine against its own moto and
 * sandbox build host (the same world as the end-to-end tests).
 *
 *   (a) orchestration tax = wall time of `up` on a fresh local stack
 *                           / wall time of a bare `packer build` of the same template with the same
 *                             variables (the var file that up's provider wrote), same emulator and sandbox.
 *   (b) no-change ratio   = wall time of a no-change `up` of that stack
 *                           / wall time of `up` of a program with no resources.
 *
 * Every `up` runs through the stack driver's runStack (Automation API: CLI, engine, inline program,
 * the dynamic provider's own process), as `npm run stack` does minus ts-node's start-up, which is
 * the same for both sides of each ratio. Rounds alternate the two sides; medians are reported.
 * Env: BENCH_ROUNDS (default 3). Targets: tax <= 1.10, no-change <= 1.5. A third row, the engine's
 * floor (no-change up of one trivial dynamic resource / empty program), is a reference with no target.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runStack } from "../scripts/stack";
import { deleteImageAndSnapshots } from "../providers/ec2/images";
import { parseManifest } from "../providers/packer/manifest";
import { baseConfig, REGION, ROOT, startWorld, stopWorld, World, writeStackConfig } from "../test/e2e/harness";
import { smokeProgram } from "../test/fixtures/smokeProgram";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

function median(xs: number[]): number {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
    const t0 = process.hrtime.bigint();
    const r = await fn();
    return [Number(process.hrtime.bigint() - t0) / 1e9, r];
}

function quiet(): (s: string) => void {
    return () => undefined;
}

async function up(w: World, stack: string, program?: () => Promise<Record<string, unknown>>): Promise<Record<string, number>> {
    const r = await runStack("up", { stack, envVars: w.env, onOutput: quiet(), ...(program ? { program } : {}) });
    return r.changes;
}

/** The var file the provider wrote for the stack's last build (`.build/packer/<stack>-<fp>-<ts>/`). */
function lastVarFile(stack: string): string {
    const dir = path.join(ROOT, ".build", "packer");
    const builds = fs
        .readdirSync(dir)
        .filter((d) => d.startsWith(`${stack}-`) && fs.existsSync(path.join(dir, d, "vars.pkrvars.json")))
        .map((d) => path.join(dir, d, "vars.pkrvars.json"))
        .sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
    if (builds.length === 0) throw new Error(`no Packer var file for ${stack} under ${dir}`);
    return builds[builds.length - 1];
}

/** A bare `packer build` with the provider's flags and variables; returns the image id. */
async function barePacker(w: World, varFile: string, templateDir: string, manifest: string): Promise<string> {
    const vars = JSON.parse(fs.readFileSync(varFile, "utf8")) as Record<string, unknown>;
    vars.manifest_path = manifest;
    const own = path.join(w.tmp, `bare-${path.basename(path.dirname(varFile))}.pkrvars.json`);
    fs.writeFileSync(own, JSON.stringify(vars, null, 2));
    const started = Math.floor(Date.now() / 1000);
    await new Promise<void>((resolve, reject) => {
        let out = "";
        const child = spawn("packer", ["build", "-machine-readable", "-color=false", "-on-error=cleanup", `-var-file=${own}`, templateDir], {
            cwd: ROOT,
            env: { ...process.env, ...w.env, CHECKPOINT_DISABLE: "1", PACKER_NO_COLOR: "1" },
            stdio: ["ignore", "pipe", "pipe"],
        });
        child.stdout.on("data", (b: Buffer) => (out += b.toString()));
        child.stderr.on("data", (b: Buffer) => (out += b.toString()));
        child.once("error", reject);
        child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`packer build exited ${code}:\n${out.slice(-3000)}`))));
    });
    return parseManifest(fs.readFileSync(manifest, "utf8"), { region: REGION, notBefore: started - 5 }).imageId;
}

async function main(): Promise<void> {
    const w = await startWorld("bench");
    const stacks: string[] = [];
    try {
        const cfg = baseConfig(w);
        const templateDir = path.join(ROOT, "images", "aws");
        const tUp: number[] = [];
        const tBare: number[] = [];
        for (let i = 0; i < ROUNDS; i++) {
            const stack = `local-bench-${w.id}-${i}`;
            stacks.push(stack);
            writeStackConfig(w, stack, cfg);
            const [secs, changes] = await timed(() => up(w, stack));
            if (!changes.create) throw new Error(`up of fresh ${stack} created nothing: ${JSON.stringify(changes)}`);
            tUp.push(secs);
            const varFile = lastVarFile(stack);
            // Free the image name (the bare build reuses the same variables), untimed.
            await runStack("destroy", { stack, envVars: w.env, onOutput: quiet(), remove: true });
            const manifest = path.join(w.tmp, `bare-${i}.manifest.json`);
            const [bare, imageId] = await timed(() => barePacker(w, varFile, templateDir, manifest));
            tBare.push(bare);
            await deleteImageAndSnapshots(w.ec2, imageId);
            process.stderr.write(`bench: round ${i + 1}/${ROUNDS}: up ${secs.toFixed(2)}s, bare packer build ${bare.toFixed(2)}s\n`);
        }

        const stack = `local-bench-${w.id}-nochange`;
        stacks.push(stack);
        writeStackConfig(w, stack, cfg);
        await up(w, stack);
        const empty = `local-bench-${w.id}-empty`;
        stacks.push(empty);
        writeStackConfig(w, empty, cfg);
        // The engine's floor for any dynamic resource: a no-change up of a program with one trivial
        // dynamic resource (the provider host process starts whatever the resource does).
        const floor = `local-bench-${w.id}-floor`;
        stacks.push(floor);
        writeStackConfig(w, floor, cfg);
        const trivial = smokeProgram("bench");
        await up(w, floor, trivial); // creates it, untimed
        const tFloor: number[] = [];
        const tSame: number[] = [];
        const tEmpty: number[] = [];
        const nothing = async () => ({});
        await up(w, empty, nothing); // creates the empty stack, untimed
        for (let i = 0; i < ROUNDS; i++) {
            const [same, changes] = await timed(() => up(w, stack));
            if (Object.keys(changes).some((k) => k !== "same")) throw new Error(`no-change up changed something: ${JSON.stringify(changes)}`);
            tSame.push(same);
            const [e] = await timed(() => up(w, empty, nothing));
            tEmpty.push(e);
            const [f] = await timed(() => up(w, floor, trivial));
            tFloor.push(f);
            process.stderr.write(
                `bench: round ${i + 1}/${ROUNDS}: no-change up ${same.toFixed(2)}s, empty-program up ${e.toFixed(2)}s, one trivial dynamic resource ${f.toFixed(2)}s\n`,
            );
        }

        const rows = [
            ["orchestration tax", "up, fresh local stack", median(tUp), "bare packer build, same vars", median(tBare), 1.1],
            ["no-change up", "up, nothing changed", median(tSame), "up, program with no resources", median(tEmpty), 1.5],
            ["engine floor", "up, 1 trivial dynamic resource", median(tFloor), "up, program with no resources", median(tEmpty), undefined],
        ] as const;
        const lines = [
            `bench: ${ROUNDS} rounds, medians (s); moto ${w.moto.endpoint}, sandbox sshd 127.0.0.1:${w.sshPort}`,
            "",
            `${"measure".padEnd(18)} ${"numerator".padEnd(30)} ${"s".padStart(7)}  ${"denominator".padEnd(30)} ${"s".padStart(7)}  ${"ratio".padStart(6)}  target  ok`,
        ];
        for (const [name, num, n, den, d, target] of rows) {
            const ratio = n / d;
            const verdict = target === undefined ? "     —  (reference)" : `  <=${target.toFixed(2)}  ${ratio <= target ? "yes" : "NO"}`;
            lines.push(
                `${name.padEnd(18)} ${num.padEnd(30)} ${n.toFixed(2).padStart(7)}  ${den.padEnd(30)} ${d.toFixed(2).padStart(7)}  ${ratio.toFixed(2).padStart(6)}${verdict}`,
            );
        }
        lines.push("", `raw: up ${tUp.map((x) => x.toFixed(2)).join(" ")} | bare ${tBare.map((x) => x.toFixed(2)).join(" ")} | no-change ${tSame.map((x) => x.toFixed(2)).join(" ")} | empty ${tEmpty.map((x) => x.toFixed(2)).join(" ")} | floor ${tFloor.map((x) => x.toFixed(2)).join(" ")}`);
        lines.push(`fixed overhead of a fresh up over the bare build: ${(median(tUp) - median(tBare)).toFixed(2)} s`);
        process.stdout.write(`${lines.join("\n")}\n`);
    } finally {
        for (const s of stacks) {
            await runStack("destroy", { stack: s, envVars: w.env, onOutput: quiet(), remove: true }).catch(() => undefined);
        }
        const left = await stopWorld(w);
        if (left.pids.length || left.mounts.length) process.stderr.write(`bench: left behind: ${JSON.stringify(left)}\n`);
    }
}

main().catch((e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    process.exit(1);
});
