/**
 * hostd's argv (scripts/local/hostd.ts `parseHostdArgs`): pure, no processes. The default region is
 * the program's default build region (pipeline/inputs.ts), not a second copy of it.
 */
import { strict as assert } from "node:assert";
import { INPUTS } from "../../pipeline/inputs";
import { parseHostdArgs } from "../../scripts/local/hostd";

describe("local: hostd arguments", () => {
    const base = ["--endpoint", "http://127.0.0.1:5000", "--ssh-port", "2222"];
    it("no --regions and no AWS_REGION: the program's default build region", () => {
        assert.deepEqual(parseHostdArgs(base, {}).regions, [INPUTS.buildRegion.default]);
    });
    it("AWS_REGION, then AWS_DEFAULT_REGION, then --regions", () => {
        assert.deepEqual(parseHostdArgs(base, { AWS_REGION: "eu-west-1", AWS_DEFAULT_REGION: "eu-west-2" }).regions, ["eu-west-1"]);
        assert.deepEqual(parseHostdArgs(base, { AWS_DEFAULT_REGION: "eu-west-2" }).regions, ["eu-west-2"]);
        assert.deepEqual(parseHostdArgs([...base, "--regions", "a-1,b-2"], { AWS_REGION: "eu-west-1" }).regions, ["a-1", "b-2"]);
    });
    const bad: [string, string[], RegExp][] = [
        ["no endpoint", ["--ssh-port", "2222"], /--endpoint is required/],
        ["port out of range", ["--endpoint", "http://x", "--ssh-port", "70000"], /--ssh-port must be a TCP port/],
        ["arm64 on the amd64 port", [...base, "--arm64-ssh-port", "2222"], /must differ/],
        ["arm64 root without its port", [...base, "--arm64-rootfs", "/r"], /needs --arm64-ssh-port/],
        ["unknown flag", [...base, "--nope", "1"], /unknown flag --nope/],
    ];
    for (const [name, argv, want] of bad) it(`refuses: ${name}`, () => assert.throws(() => parseHostdArgs(argv, {}), want));
});
