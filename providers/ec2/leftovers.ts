/**
 * Deleting a build's other leftovers: builder instances, temporary security groups and key pairs.
 * Used by the janitor (and available to the image provider's adopt-or-clean). Dynamic-provider
 * safe: SDK loaded inside each function, plain data only.
 */
import type { EC2Client } from "@aws-sdk/client-ec2";
import { hasCode, withRetry, type RetryOptions } from "./retry";
import { ec2Sdk } from "./client";

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
        try {
            await withRetry(() => ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] })), { what: `terminate ${id}`, ...opts.retry });
            done.push(id);
        } catch (e) {
            if (!hasCode(e, ["InvalidInstanceID.NotFound"])) throw e;
        }
    }
    const until = Date.now() + (opts.waitMs ?? 300_000);
    let pending = [...done];
    while (pending.length > 0) {
        const still: string[] = [];
        for (const id of pending) {
            try {
                const r = await withRetry(() => ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] })), opts.retry);
                const state = r.Reservations?.[0]?.Instances?.[0]?.State?.Name;
                if (state !== undefined && state !== "terminated") still.push(id);
            } catch (e) {
                if (!hasCode(e, ["InvalidInstanceID.NotFound"])) throw e;
            }
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
    try {
        await withRetry(() => ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })), {
            attempts: 10,
            baseMs: 2000,
            maxMs: 20_000,
            what: `delete ${groupId}`,
            ...retry,
            retryOn: ["DependencyViolation", ...(retry?.retryOn ?? [])],
        });
        return "deleted";
    } catch (e) {
        if (hasCode(e, ["InvalidGroup.NotFound", "InvalidGroupId.NotFound"])) return "gone";
        throw e;
    }
}

/**
 * Deletes a key pair by name (preferred: moto ignores `KeyPairId`) or id (`key-…`). EC2 treats a
 * missing key pair as success.
 */
export async function deleteKeyPair(ec2: EC2Client, key: { id?: string; name?: string }, retry?: RetryOptions): Promise<void> {
    const { DeleteKeyPairCommand } = ec2Sdk();
    const input = key.name ? { KeyName: key.name } : { KeyPairId: key.id };
    if (!input.KeyPairId && !input.KeyName) throw new Error("deleteKeyPair: give an id or a name");
    try {
        await withRetry(() => ec2.send(new DeleteKeyPairCommand(input)), { what: `delete key pair ${key.id ?? key.name}`, ...retry });
    } catch (e) {
        if (!hasCode(e, ["InvalidKeyPair.NotFound"])) throw e;
    }
}
