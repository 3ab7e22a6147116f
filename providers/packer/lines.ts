/**
 * What the Packer providers (the image build, the boot test) do with each line a Packer run prints,
 * and how long that run gets to stop. Pure apart from the sinks passed in, so both providers'
 * serialized texts take it without capturing anything.
 */
import { parseMachineLine, readableLine, type MachineLine } from "./argv";

/** How many readable lines an error message quotes from the end of a run. */
export const TAIL_LINES = 20;

/** Where a run's lines go. */
export interface LineSinks {
    /** Appends one line to the run's log file (every raw line, redacted). */
    log: (line: string) => void;
    /** Shows one readable line live (`pulumi up`'s progress). */
    show: (line: string) => void;
    /** Redacts a raw line; a redactor of its own (it remembers being inside a private key block). */
    redactRaw: (line: string) => string;
    /** Redacts a readable line; likewise a redactor of its own. */
    redact: (line: string) => string;
    /** Sees each raw line and its parse before anything else (the image build reads its artifact id). */
    inspect?: (raw: string, parsed: MachineLine | undefined) => void;
}

/**
 * A `runPacker` line handler: the raw line, redacted, to the log (stderr lines marked); Packer's
 * readable text of it (`-machine-readable` lines reduced to what a person reads), redacted, shown
 * and kept in `tail`, the last {@link TAIL_LINES} lines for the error message.
 */
export function packerLines(s: LineSinks): { onLine: (raw: string, stream: "stdout" | "stderr") => void; tail: string[] } {
    const tail: string[] = [];
    const onLine = (raw: string, stream: "stdout" | "stderr"): void => {
        const parsed = parseMachineLine(raw);
        s.inspect?.(raw, parsed);
        s.log(`${stream === "stderr" ? "stderr: " : ""}${s.redactRaw(raw)}`);
        const text = parsed ? readableLine(parsed) : raw;
        if (text === undefined) return;
        for (const l of text.split("\n")) {
            const r = s.redact(l);
            tail.push(r);
            if (tail.length > TAIL_LINES) tail.shift();
            s.show(`packer: ${r}`);
        }
    };
    return { onLine, tail };
}

/** The time a run that overran `timeoutMs` (or lost its engine) gets to clean up before SIGKILL: a quarter of it, 2 s to 2 min. */
export function graceFor(timeoutMs: number): number {
    return Math.min(120_000, Math.max(2_000, timeoutMs / 4));
}
