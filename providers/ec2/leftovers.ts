/**
 * Deleting a build's other leftovers: builder instances, temporary security groups and key pairs.
 * Used by the janitor (and available to the image provider's adopt-or-clean). Dynamic-provider
 * safe: SDK loaded inside each function, plain data only.
 */
import type { EC2Client } from "@aws-sdk/client-ec2";
import { unlessGone, type RetryOptions } from "./retry";
import { ec2Sdk } from "./client";

/** EC2's answer for an instance id it does not know (any more). */
export const INSTANCE_GONE_CODES: readonly string[] = ["InvalidInstanceID.NotFound"];

/**
 * Terminates instances and waits (polling, up to `waitMs`, default 5 min) until each is
 * `terminated` or gone. Already-gone instances count as done. Returns the ids it asked to terminate.
 */
export async function terminateInstances(
    ec2: EC2Client,
    ids: readonly string[],
    opts: { retry?: RetryOptions; waitMs?: number; pollMs?: number } = {},
): Promise<string[]> {
    if (ids.length === 0) return [];
    const { TerminateInstancesCommand, DescribeInstancesCommand } = ec2Sdk();
    const done: string[] = [];
    for (const id of ids) {
        const out = await unlessGone(() => ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })), INSTANCE_GONE_CODES, {
            what: `terminate ${id}`,
            ...opts.retry,
        });
        if (out) done.push(id);
    }
    const until = Date.now() + (opts.waitMs ?? 300_000);
    let pending = [...done];
    while (pending.length > 0) {
        const still: string[] = [];
        for (const id of pending) {
            const r = await unlessGone(
                () => ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })),
                INSTANCE_GONE_CODES,
                opts.retry,
            );
            const state = r?.Reservations?.[0]?.Instances?.[0]?.State?.Name;
            if (state !== undefined && state !== "terminated") still.push(id);
        }
        pending = still;
        if (pending.length === 0) break;
        if (Date.now() > until) throw new Error(`instances not terminated in time: ${pending.join(", ")}`);
        await new Promise((r) => setTimeout(r, opts.pollMs ?? 5000));
    }
    return done;
}

/**
 * Deletes a security group, retrying `DependencyViolation` (an instance using it is still shutting
 * down) and throttling. Returns `"deleted"` or `"gone"`.
 */
export async function deleteSecurityGroup(ec2: EC2Client, groupId: string, retry?: RetryOptions): Promise<"deleted" | "gone"> {
    const { DeleteSecurityGroupCommand } = ec2Sdk();
    const out = await unlessGone(
        () => ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })),
        ["InvalidGroup.NotFound", "InvalidGroupId.NotFound"],
        {
            attempts: 10,
            baseMs: 2000,
            maxMs: 20_000,
            what: `delete ${groupId}`,
            ...retry,
            retryOn: ["DependencyViolation", ...(retry?.retryOn ?? [])],
        },
    );
    return out ? "deleted" : "gone";
}

/**
 * Deletes a key pair by name (preferred: moto ignores `KeyPairId`) or id (`key-…`). EC2 treats a
 * missing key pair as success.
 */
export async function deleteKeyPair(ec2: EC2Client, key: { id?: string; name?: string }, retry?: RetryOptions): Promise<void> {
    const { DeleteKeyPairCommand } = ec2Sdk();
    const input = key.name ? { KeyName: key.name } : { KeyPairId: key.id };
    if (!input.KeyPairId && !input.KeyName) throw new Error("deleteKeyPair: give an id or a name");
    await unlessGone(() => ec2.send(new DeleteKeyPairCommand(input)), ["InvalidKeyPair.NotFound"], {
        what: `delete key pair ${key.id ?? key.name}`,
        ...retry,
    });
}
