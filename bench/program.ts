/**
 * The per-command reference programs of `npm run bench`: the stack driver's `up` with a program
 * that declares nothing (`empty`), one trivial dynamic resource (`trivial`), or the local stack's
 * shape with trivial resources (`shape`: a component and two dynamic resources), started the same way
 * as `scripts/stack.ts` (node + ts-node), so both sides of a per-command ratio pay the same process
 * start-up and Automation API calls.
 *
 *   node -r ts-node/register/transpile-only bench/program.ts <empty|trivial|shape> STACK
 */
import { runStack } from "../scripts/stack";
import { shapeProgram, smokeProgram } from "../test/fixtures/smokeProgram";

const [kind, stack] = process.argv.slice(2);
const programs: Record<string, () => Promise<Record<string, unknown>>> = {
    empty: async () => ({}),
    trivial: smokeProgram("bench"),
    shape: shapeProgram("bench"),
};

if (!programs[kind] || !stack) {
    process.stderr.write("usage: bench/program.ts <empty|trivial|shape> STACK\n");
    process.exit(2);
}
runStack("up", { stack, program: programs[kind], onOutput: () => undefined, seedConfig: false }).then(
    () => process.exit(0),
    (e: Error) => {
        process.stderr.write(`bench/program.ts: ${e.message}\n`);
        process.exit(1);
    },
);
