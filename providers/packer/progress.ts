/**
 * Build progress tied to the image resource: inside the dynamic-provider host, lines go to the
 * engine's Log service with the resource's URN, so `pulumi up` shows them on the image's row.
 * Packer's lines are ephemeral (live only: the closing Diagnostics summary leaves them out, the
 * log file under .build/logs/ keeps them); notes (building, built, cleanup, the log's path) stay
 * in the summary. Anywhere else (unit tests, a process that is not the provider host) every line
 * goes to `fallback`, as before.
 *
 * Serialized with the provider: modules are loaded inside the function, no module-level state.
 */

/** Where a build's messages go. */
export interface Progress {
    /** A line of Packer's output: live only. */
    line(msg: string): void;
    /** A note worth keeping in the summary. */
    note(msg: string): void;
    /** Resolves once every message was delivered; closes the channel. */
    flush(): Promise<void>;
}

/** The engine address the provider host was started with, when this is that host. Pure. */
export function engineAddress(mainFile: string | undefined, argv: readonly string[]): string | undefined {
    if (!mainFile || !/[\\/]cmd[\\/]dynamic-provider[\\/]index\.js$/.test(mainFile)) return undefined;
    const addr = argv[2];
    return addr && /^[\w.[\]:-]+:\d+$/.test(addr) ? addr : undefined;
}

/** Progress for the resource `urn`; falls back to `fallback` outside the provider host. */
export function progressFor(urn: string, fallback: (msg: string) => void): Progress {
    const addr = engineAddress(require.main?.filename, process.argv);
    if (!addr || !urn) return { line: fallback, note: fallback, flush: async () => undefined };
    const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
    const engrpc = require("@pulumi/pulumi/proto/engine_grpc_pb") as typeof import("@pulumi/pulumi/proto/engine_grpc_pb");
    const engproto = require("@pulumi/pulumi/proto/engine_pb") as typeof import("@pulumi/pulumi/proto/engine_pb");
    const client = new engrpc.EngineClient(addr, grpc.credentials.createInsecure());
    // One message at a time, in order; a message the engine refuses goes to the fallback.
    let last: Promise<void> = Promise.resolve();
    const send = (msg: string, ephemeral: boolean) => {
        last = last.then(
            () =>
                new Promise<void>((resolve) => {
                    const req = new engproto.LogRequest();
                    req.setSeverity(engproto.LogSeverity.INFO);
                    req.setMessage(msg);
                    req.setUrn(urn);
                    req.setEphemeral(ephemeral);
                    client.log(req, (err: unknown) => {
                        if (err) fallback(msg);
                        resolve();
                    });
                }),
        );
    };
    return {
        line: (msg) => send(msg, true),
        note: (msg) => send(msg, false),
        flush: async () => {
            await last;
            client.close();
        },
    };
}
