/**
 * The kill matrix's inventory: what the emulator holds in every region it offers, not only the
 * stack's own (a recovery that leaves something elsewhere, or untagged, must still show). Lists
 * images and snapshots owned by the account, instances not terminated, key pairs and security
 * groups (but each VPC's `default` group), and compares with a listing taken before the builds.
 */
import {
    DescribeImagesCommand,
    DescribeInstancesCommand,
    DescribeKeyPairsCommand,
    DescribeRegionsCommand,
    DescribeSecurityGroupsCommand,
    DescribeSnapshotsCommand,
} from "@aws-sdk/client-ec2";
import { ec2Client } from "../../providers/ec2/client";
import type { World } from "./harness";

/** `region kind id` lines, sorted. */
export type Listing = string[];

/** Every region moto answers DescribeRegions with. */
async function regions(w: World): Promise<string[]> {
    const r = await w.ec2.send(new DescribeRegionsCommand({ AllRegions: true }));
    return (r.Regions ?? [])
        .map((x) => x.RegionName ?? "")
        .filter((x) => x !== "")
        .sort();
}

/** What one region holds now. */
async function regionListing(w: World, region: string): Promise<Listing> {
    const ec2 = await ec2Client(region, w.moto.endpoint);
    const out: string[] = [];
    for (const i of (await ec2.send(new DescribeImagesCommand({ Owners: ["self"] }))).Images ?? [])
        out.push(`${region} image ${i.ImageId} ${i.Name ?? ""}`);
    let token: string | undefined;
    do {
        const r = await ec2.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"], NextToken: token }));
        for (const s of r.Snapshots ?? []) out.push(`${region} snapshot ${s.SnapshotId} ${s.Description ?? ""}`);
        token = r.NextToken;
    } while (token);
    for (const res of (await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []) {
        for (const i of res.Instances ?? [])
            if (i.State?.Name !== "terminated") out.push(`${region} instance ${i.InstanceId} ${i.State?.Name ?? ""}`);
    }
    for (const k of (await ec2.send(new DescribeKeyPairsCommand({}))).KeyPairs ?? []) out.push(`${region} key-pair ${k.KeyName}`);
    for (const g of (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? []) {
        if (g.GroupName !== "default") out.push(`${region} security-group ${g.GroupId} ${g.GroupName ?? ""}`);
    }
    return out;
}

/** Everything in every region (take one before the builds: the baseline). */
export async function everyRegion(w: World): Promise<Listing> {
    const out: string[] = [];
    for (const r of await regions(w)) out.push(...(await regionListing(w, r)));
    return out.sort();
}

/** What appeared in any region since `baseline` (minus lines naming an id in `except`). */
export async function leftSince(w: World, baseline: Listing, except: readonly string[] = []): Promise<Listing> {
    const before = new Set(baseline);
    return (await everyRegion(w)).filter((l) => !before.has(l) && !except.some((id) => l.split(" ")[2] === id));
}
