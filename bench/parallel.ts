/**
 * npm run bench:parallel: how parallel the local stack's builds are, on this machine's moto and
 * sandbox build host (the end-to-end tests' world), each `up` a fresh build plus its boot test.
 *
 *   ratio (amd64 + arm64)  = wall time of `up` of a stack building amd64 and arm64 at once
 *                            / wall time of `up` of the same stack building one of them alone
 *                            (both denominators reported: amd64 alone, and arm64 alone, the slower
 *                            one here, since arm64 runs under qemu user-mode emulation).
 *   ratio (2 x amd64)      = wall time of two amd64 stacks' `up` started together, each in its own
 *                            world (own moto and hostd: one hostd lane serves one build of an
 *                            architecture at a time) / wall time of one amd64 stack's `up`.
 * Target (issue #21): <= 1.3 for N = 2. One round (each side is a real build); every stack is
 * destroyed afterwards and the worlds stopped.
 *
 *   node -r ts-node/register/transpile-only bench/parallel.ts
 */
import { baseConfig, driverOk, startWorld, stopWorld, World, writeStackConfig } from "../test/e2e/harness";

async function timedUp(w: World, stack: string, arches: string[]): Promise<number> {
    const config: Record<string, unknown> = {
        ...baseConfig(w),
        architectures: arches,
        ...(arches.includes("arm64") ? { arm64BaseImageNameFilter: "debian-12-arm64-*", arm64AgentArtifact: w.arm64AgentArtifact } : {}),
    };
    // amd64's own keys are refused in a stack that does not build amd64.
    if (!arches.includes("amd64")) for (const k of ["baseImageNameFilter", "agentArtifact"]) delete config[k];
    writeStackConfig(w, stack, config);
    const t0 = Date.now();
    await driverOk(w, "up", stack);
    return (Date.now() - t0) / 1000;
}

async function main(): Promise<void> {
    const a = await startWorld("bpa", { arm64: true });
    let b: World | undefined;
    const done: [World, string][] = [];
    try {
        const one = async (w: World, name: string, arches: string[]): Promise<number> => {
            const stack = `local-bench-${name}-${w.id}`;
            done.push([w, stack]);
            const s = await timedUp(w, stack, arches);
            process.stdout.write(`bench: up of [${arches.join(", ")}] (${stack}): ${s.toFixed(1)} s\n`);
            return s;
        };
        const amd64 = await one(a, "amd64", ["amd64"]);
        const arm64 = await one(a, "arm64", ["arm64"]);
        const both = await one(a, "both", ["amd64", "arm64"]);
        b = await startWorld("bpb");
        const [p1, p2] = await Promise.all([one(a, "pair1", ["amd64"]), one(b, "pair2", ["amd64"])]);
        const pair = Math.max(p1, p2);
        const rows = [
            ["up of amd64 alone", amd64, ""],
            ["up of arm64 alone (qemu)", arm64, ""],
            [
                "up of amd64 + arm64 (one stack, parallel)",
                both,
                `ratio ${(both / amd64).toFixed(2)} vs amd64 alone, ${(both / Math.max(amd64, arm64)).toFixed(2)} vs the slower alone (target <= 1.3)`,
            ],
            ["two amd64 stacks at once (two worlds)", pair, `ratio ${(pair / amd64).toFixed(2)} vs one (target <= 1.3)`],
        ];
        process.stdout.write("\nparallel builds (wall time, s):\n");
        for (const [what, s, note] of rows)
            process.stdout.write(`  ${String(what).padEnd(44)} ${Number(s).toFixed(1).padStart(7)}  ${note}\n`);
    } finally {
        for (const [w, stack] of done.reverse())
            await driverOk(w, "destroy", stack, ["--remove"]).catch((e: Error) => process.stderr.write(`destroy ${stack}: ${e.message}\n`));
        await stopWorld(b);
        await stopWorld(a);
    }
}

main().then(
    () => process.exit(0),
    (e: Error) => {
        process.stderr.write(`bench/parallel.ts: ${e.stack ?? e.message}\n`);
        process.exit(1);
    },
);
