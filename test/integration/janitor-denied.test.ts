/**
 * `janitor --all-regions --delete` when one region is denied by an organisation policy, with the
 * real SDK: every region is moto's EC2 server except eu-west-3, whose endpoint is a loopback
 * server that answers each call as EC2 does under a service control policy (HTTP 403,
 * UnauthorizedOperation). The janitor skips eu-west-3, reports it, deletes the expired image in
 * eu-north-1, and exits 1.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import {
    CreateImageCommand,
    DescribeImagesCommand,
    RunInstancesCommand,
    TerminateInstancesCommand,
    type EC2Client,
} from "@aws-sdk/client-ec2";
import { startMoto, motoEnv, type MotoServer } from "../../scripts/local/moto";
import { ec2Client } from "../../providers/ec2/client";
import { PROJECT, tagList } from "../../providers/ec2/tags";
import { parseArgs } from "../../janitor/args";
import { runJanitor } from "../../janitor/cli";
import { setEnv } from "../fixtures/env";

const DENIED = "eu-west-3";
const OPEN = "eu-north-1";

/** EC2's error document for a call an SCP denies. */
const DENY_XML =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>UnauthorizedOperation</Code>' +
    "<Message>You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/janitor/x " +
    "is not authorized to perform: ec2:DescribeImages with an explicit deny in a service control policy</Message>" +
    "</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>";

describe("janitor --all-regions with a region denied (moto + a denying endpoint)", function () {
    this.timeout(240_000);
    let moto: MotoServer;
    let deny: http.Server;
    let denyEndpoint: string;
    const denyActions: string[] = [];
    let repo: string;
    let restoreEnv = () => {};
    const clients: EC2Client[] = [];
    let expiredId = "";
    let builder = "";

    before(async () => {
        moto = await startMoto();
        restoreEnv = setEnv({ ...motoEnv(moto.endpoint), AWS_REGION: "us-east-1" });
        deny = http.createServer((req, res) => {
            let body = "";
            req.on("data", (c: Buffer) => (body += c.toString()));
            req.on("end", () => {
                denyActions.push(new URLSearchParams(body).get("Action") ?? "?");
                res.writeHead(403, { "content-type": "text/xml" }).end(DENY_XML);
            });
        });
        await new Promise<void>((r) => deny.listen(0, "127.0.0.1", r));
        denyEndpoint = `http://127.0.0.1:${(deny.address() as AddressInfo).port}`;
        repo = fs.mkdtempSync(path.join(os.tmpdir(), "janitor-denied-"));

        const ec2 = await ec2Client(OPEN, moto.endpoint);
        clients.push(ec2);
        const base = (await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: "name", Values: ["*ubuntu*"] }] }))).Images![0].ImageId!;
        builder = (await ec2.send(new RunInstancesCommand({ ImageId: base, MinCount: 1, MaxCount: 1, InstanceType: "t3.micro" })))
            .Instances![0].InstanceId!;
        const past = new Date(Date.now() - 3_600_000).toISOString();
        const tags = tagList({ Project: PROJECT, ExpiresAt: past, Stack: "local-gone" });
        expiredId = (
            await ec2.send(
                new CreateImageCommand({
                    InstanceId: builder,
                    Name: "couchbase-images-expired",
                    TagSpecifications: [{ ResourceType: "image", Tags: tags }],
                }),
            )
        ).ImageId!;
        await ec2.send(new TerminateInstancesCommand({ InstanceIds: [builder] }));
    });

    after(async () => {
        for (const c of clients) c.destroy();
        await new Promise<void>((r) => (deny ? deny.close(() => r()) : r()));
        await moto?.stop();
        restoreEnv();
        if (repo) fs.rmSync(repo, { recursive: true, force: true });
    });

    it("skips the denied region with the reason, deletes elsewhere, exits 1", async () => {
        const err: string[] = [];
        const o = parseArgs(["--all-regions", "--repo", repo, "--delete", "--endpoint", moto.endpoint], {});
        const r = await runJanitor(o, {
            out: () => {},
            err: (l) => err.push(l),
            now: new Date(Date.now() + 3 * 3_600_000),
            retry: { baseMs: 20, maxMs: 50 },
            client: (region) => ec2Client(region, region === DENIED ? denyEndpoint : moto.endpoint),
        });
        assert.equal(r.exitCode, 1, err.join("\n"));
        assert.deepEqual(
            r.skipped.map((s) => s.region),
            [DENIED],
        );
        assert.match(r.skipped[0].reason, /^UnauthorizedOperation: You are not authorized .* service control policy/);
        assert.ok(r.rows.length > 0 && r.rows.every((x) => x.region !== DENIED));
        assert.ok(
            r.outcomes.some((x) => x.row.id === expiredId && x.status === "deleted"),
            JSON.stringify(r.outcomes),
        );
        assert.equal(r.failures, 0);
        // The denied region saw the first scan call only; nothing was attempted to be deleted there.
        assert.deepEqual([...new Set(denyActions)], ["DescribeImages"]);
        assert.match(err.join("\n"), new RegExp(`1 region\\(s\\) skipped, denied to these credentials: ${DENIED}`));

        const ec2 = await ec2Client(OPEN, moto.endpoint);
        clients.push(ec2);
        const left = await ec2.send(new DescribeImagesCommand({ Owners: ["self"] }));
        assert.ok(!(left.Images ?? []).some((i) => i.ImageId === expiredId), "the expired image is gone");
    });
});
