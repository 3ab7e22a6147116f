/**
 * Fault injection for the e2e kill tests: an HTTP proxy in front of moto that keeps every image
 * created through it (CreateImage, CopyImage) `pending` in DescribeImages answers while `hold` is
 * on. moto makes images `available` at once; on AWS an image is pending for minutes, and that is
 * when Packer waits ("Waiting for AMI to become ready...") and a kill leaves an image behind.
 * Everything else passes through unchanged. Loopback only.
 */
import * as http from "node:http";
import type { AddressInfo } from "node:net";

export interface PendingProxy {
    /** `http://127.0.0.1:<port>`: use as the stack's ec2Endpoint. */
    endpoint: string;
    /** Image ids created through the proxy so far. */
    created: Set<string>;
    /** While true, those images read as pending. */
    hold: boolean;
    close(): Promise<void>;
}

/** Rewrites a DescribeImages answer: each held image's state reads `pending`. Pure. */
export function holdPending(xml: string, held: ReadonlySet<string>): string {
    let out = xml;
    for (const id of held) {
        out = out.replace(new RegExp(`(<imageId>${id}</imageId>[\\s\\S]*?<imageState>)available(</imageState>)`), "$1pending$2");
    }
    return out;
}

export async function startPendingProxy(target: string): Promise<PendingProxy> {
    const t = new URL(target);
    const created = new Set<string>();
    const state = { hold: true };
    const server = http.createServer((req, res) => {
        const chunks: Uint8Array[] = [];
        req.on("data", (c: Buffer) => chunks.push(new Uint8Array(c)));
        req.on("end", () => {
            const body = Buffer.concat(chunks);
            const action = /(?:^|&)Action=([A-Za-z]+)/.exec(body.toString())?.[1] ?? "";
            const headers: http.OutgoingHttpHeaders = { ...req.headers, host: t.host };
            delete headers["accept-encoding"];
            const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers }, (ur) => {
                const parts: Uint8Array[] = [];
                ur.on("data", (c: Buffer) => parts.push(new Uint8Array(c)));
                ur.on("end", () => {
                    let text = Buffer.concat(parts).toString();
                    if (action === "CreateImage" || action === "CopyImage") {
                        const id = /<imageId>(ami-[0-9a-f]+)<\/imageId>/.exec(text)?.[1];
                        if (id) created.add(id);
                    }
                    if (action === "DescribeImages" && state.hold) text = holdPending(text, created);
                    const h = { ...ur.headers };
                    delete h["content-length"];
                    delete h["transfer-encoding"];
                    res.writeHead(ur.statusCode ?? 502, { ...h, "content-length": Buffer.byteLength(text) });
                    res.end(text);
                });
            });
            up.on("error", (e) => {
                res.writeHead(502);
                res.end(String(e));
            });
            up.end(body);
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    return {
        endpoint: `http://127.0.0.1:${port}`,
        created,
        get hold() {
            return state.hold;
        },
        set hold(v: boolean) {
            state.hold = v;
        },
        close: () =>
            new Promise<void>((r) => {
                server.closeAllConnections();
                server.close(() => r());
            }),
    };
}
