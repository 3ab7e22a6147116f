/** What both Packer providers do with each line of a run (providers/packer/lines.ts). */
import * as assert from "node:assert/strict";
import { graceFor, packerLines, TAIL_LINES } from "../../../providers/packer/lines";

function world() {
    const logged: string[] = [];
    const shown: string[] = [];
    const seen: string[] = [];
    const { onLine, tail } = packerLines({
        log: (l) => logged.push(l),
        show: (l) => shown.push(l),
        redactRaw: (l) => l.replace(/hunter2/g, "[R]"),
        redact: (l) => l.replace(/hunter2/g, "[r]"),
        inspect: (raw, parsed) => seen.push(`${parsed?.type ?? "plain"}:${raw.slice(0, 12)}`),
    });
    return { onLine, tail, logged, shown, seen };
}

describe("packerLines", () => {
    const rows: { name: string; line: string; stream: "stdout" | "stderr"; logged: string; shown: string[] }[] = [
        {
            name: "a ui line: raw to the log, its text shown",
            line: "1700000000,,ui,say,==> building",
            stream: "stdout",
            logged: "1700000000,,ui,say,==> building",
            shown: ["packer: ==> building"],
        },
        {
            name: "a ui error",
            line: "1700000000,,ui,error,bad thing",
            stream: "stdout",
            logged: "1700000000,,ui,error,bad thing",
            shown: ["packer: ERROR: bad thing"],
        },
        {
            name: "escaped commas and newlines become two shown lines",
            line: "1,,ui,message,a%!(PACKER_COMMA) b\\nc",
            stream: "stdout",
            logged: "1,,ui,message,a%!(PACKER_COMMA) b\\nc",
            shown: ["packer: a, b", "packer: c"],
        },
        {
            name: "a machine line with no readable text: logged only",
            line: "1,,version,1.16.0",
            stream: "stdout",
            logged: "1,,version,1.16.0",
            shown: [],
        },
        {
            name: "a plain stderr line: marked in the log, shown as is",
            line: "panic: oops",
            stream: "stderr",
            logged: "stderr: panic: oops",
            shown: ["packer: panic: oops"],
        },
        {
            name: "each sink redacts with its own redactor",
            line: "1,,ui,say,password hunter2",
            stream: "stdout",
            logged: "1,,ui,say,password [R]",
            shown: ["packer: password [r]"],
        },
    ];
    for (const r of rows) {
        it(r.name, () => {
            const w = world();
            w.onLine(r.line, r.stream);
            assert.deepEqual(w.logged, [r.logged]);
            assert.deepEqual(w.shown, r.shown);
            assert.deepEqual(
                w.tail,
                r.shown.map((s) => s.replace(/^packer: /, "")),
            );
        });
    }
    it("inspect sees every raw line with its parse, before it is redacted", () => {
        const w = world();
        w.onLine("1,amazon-ebs,artifact,0,id,us-east-1:ami-1", "stdout");
        w.onLine("hunter2 plain", "stderr");
        assert.deepEqual(w.seen, ["artifact:1,amazon-ebs", "plain:hunter2 plai"]);
    });
    it(`the tail keeps the last ${TAIL_LINES} readable lines`, () => {
        const w = world();
        for (let n = 0; n < TAIL_LINES + 5; n++) w.onLine(`1,,ui,say,line ${n}`, "stdout");
        assert.equal(w.tail.length, TAIL_LINES);
        assert.equal(w.tail[0], "line 5");
        assert.equal(w.tail[TAIL_LINES - 1], `line ${TAIL_LINES + 4}`);
        assert.equal(w.logged.length, TAIL_LINES + 5);
    });
});

describe("graceFor", () => {
    const rows: [number, number][] = [
        [0, 2_000],
        [4_000, 2_000],
        [60_000, 15_000],
        [60 * 60_000, 120_000],
    ];
    for (const [timeout, grace] of rows) it(`${timeout} ms → ${grace} ms`, () => assert.equal(graceFor(timeout), grace));
});
