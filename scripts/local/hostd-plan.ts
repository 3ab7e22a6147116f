/**
 * What the sandbox build host daemon (hostd.ts) should do after one look at the emulator.
 *
 * One sandbox exists at a time, like one small build host. It starts as a *standby* (sshd already
 * listening, no key yet) so that Packer's first SSH attempt never meets a closed port; the first
 * new running instance gets it (its key pair's public key is written in), and when that instance
 * stops or terminates the sandbox stops too and a fresh standby takes its place. An instance
 * launched from an image that one of hostd's builds made is *booted* instead (scripts/local/boot.ts):
 * the standby yields the SSH port to it, and a fresh standby follows once it is gone. Pure: no I/O.
 */

export interface SeenInstance {
    readonly id: string;
    /** EC2 state name: pending, running, stopping, stopped, shutting-down, terminated. */
    readonly state: string;
    readonly keyName?: string;
    readonly region: string;
    /** Milliseconds since the epoch; orders instances launched in the same poll. */
    readonly launchedAt: number;
    readonly imageId?: string;
    readonly instanceType?: string;
    readonly availabilityZone?: string;
    readonly privateIp?: string;
    /** The reservation's owner (the account id). */
    readonly accountId?: string;
    readonly architecture?: string;
    readonly tags?: Readonly<Record<string, string>>;
    /**
     * Set (by hostd, from DescribeImages) when the instance's image was made from one of hostd's
     * build sandboxes: that build's slot. Such an instance is booted, not given a build sandbox.
     */
    readonly bootFrom?: string;
}

/** The sandbox that is running now, if any. */
export interface CurrentSandbox {
    readonly slot: string;
    /** The instance it serves; undefined while it is a standby. */
    readonly instanceId?: string;
}

export type Action =
    /** Give the standby sandbox to this instance (write its key). */
    | { kind: "assign"; instance: SeenInstance }
    /** Stop the running sandbox (its instance is gone, or a new instance needs a fresh one). */
    | { kind: "stop"; slot: string; instanceId?: string; reason: string }
    /** Start a fresh sandbox for this instance (key written before sshd starts). */
    | { kind: "start"; instance: SeenInstance }
    /** Start a fresh standby sandbox. */
    | { kind: "standby" }
    /** Boot the image of build `instance.bootFrom` for this instance (the port is free by then). */
    | { kind: "boot"; instance: SeenInstance }
    /** A new instance that gets no sandbox (another, newer one took it in the same poll). */
    | { kind: "skip"; instance: SeenInstance };

/** States in which EC2 would be running the instance's operating system. */
export function isLive(state: string): boolean {
    return state === "pending" || state === "running";
}

/**
 * Plans the next actions. `served` holds every instance id already handled (given a sandbox or
 * skipped), so an instance is never served twice.
 */
export function plan(current: CurrentSandbox | undefined, served: ReadonlySet<string>, instances: readonly SeenInstance[]): Action[] {
    const actions: Action[] = [];
    const live = new Set(instances.filter((i) => isLive(i.state)).map((i) => i.id));
    const fresh = instances
        .filter((i) => i.state === "running" && !served.has(i.id))
        .sort((a, b) => a.launchedAt - b.launchedAt || a.id.localeCompare(b.id));

    let sandbox = current;
    if (sandbox?.instanceId !== undefined && !live.has(sandbox.instanceId)) {
        actions.push({ kind: "stop", slot: sandbox.slot, instanceId: sandbox.instanceId, reason: "instance no longer running" });
        sandbox = undefined;
    }
    const newest = fresh[fresh.length - 1];
    for (const i of fresh.slice(0, -1)) actions.push({ kind: "skip", instance: i });
    if (newest?.bootFrom !== undefined) {
        if (sandbox) {
            const reason =
                sandbox.instanceId === undefined ? `standby yields the port to booted ${newest.id}` : `new instance ${newest.id}`;
            actions.push({ kind: "stop", slot: sandbox.slot, instanceId: sandbox.instanceId, reason });
        }
        actions.push({ kind: "boot", instance: newest });
        return actions;
    }
    if (newest) {
        if (sandbox && sandbox.instanceId === undefined) {
            actions.push({ kind: "assign", instance: newest });
        } else {
            if (sandbox) {
                actions.push({ kind: "stop", slot: sandbox.slot, instanceId: sandbox.instanceId, reason: `new instance ${newest.id}` });
            }
            actions.push({ kind: "start", instance: newest });
        }
        return actions;
    }
    if (!sandbox) actions.push({ kind: "standby" });
    return actions;
}

/** An architecture hostd runs sandboxes of; each has its own SSH port, root, standby and booted instance. */
export type LaneArch = "amd64" | "arm64";

/**
 * Which architecture's lane serves `instance`: its `Architecture` tag (the program puts it on the
 * builder and on the boot test's instance), else EC2's architecture of the instance (`arm64`,
 * `x86_64`), else amd64 (what every instance was before there were two). Undefined when that lane
 * is not among `lanes` (hostd was started without it): such an instance gets no sandbox.
 */
export function laneOf(instance: SeenInstance, lanes: readonly LaneArch[]): LaneArch | undefined {
    const tag = instance.tags?.Architecture;
    let arch: LaneArch;
    if (tag === "amd64" || tag === "arm64") arch = tag;
    else if (instance.architecture === "arm64") arch = "arm64";
    else arch = "amd64";
    return lanes.includes(arch) ? arch : undefined;
}

/**
 * Whether a /proc/<pid>/net/tcp table (the network namespace of that process) has a socket
 * listening on 127.0.0.1:`port` or on every address: how hostd sees that a sandbox's sshd is up
 * inside its own network namespace without connecting to it.
 */
export function listensOn(tcpTable: string, port: number): boolean {
    const want = new Set([
        `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`,
        `00000000:${port.toString(16).toUpperCase().padStart(4, "0")}`,
    ]);
    return tcpTable
        .split("\n")
        .slice(1)
        .some((line) => {
            const f = line.trim().split(/\s+/);
            return f.length > 3 && want.has(f[1].toUpperCase()) && f[3] === "0A";
        });
}
