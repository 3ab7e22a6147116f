/**
 * The per-command reference programs of `npm run bench`: the stack driver's `up` with a program
 * that declares nothing (`empty`) or one trivial dynamic resource (`trivial`), started the same way
 * as `scripts/stack.ts` (node + ts-node), so both sides of a per-command ratio pay the same process
 * start-up and Automation API calls.
 *
 *   node -r ts-node/register/transpile-only bench/program.ts <empty|trivial> STACK
 */
import { runStack } from "../scripts/stack";
import { smokeProgram } from "../test/fixtures/smokeProgram";

const [kind, stack] = process.argv.slice(2);
const programs: Record<string, () => Promise<Record<string, unknown>>> = {
    empty: async () => ({}),
    trivial: smokeProgram("bench"),
};

if (!programs[kind] || !stack) {
    process.stderr.write("usage: bench/program.ts <empty|trivial> STACK\n");
    process.exit(2);
}
runStack("up", { stack, program: programs[kind], onOutput: () => undefined, seedConfig: false }).then(
    () => process.exit(0),
    (e: Error) => {
        process.stderr.write(`bench/program.ts: ${e.message}\n`);
        process.exit(1);
    },
);
