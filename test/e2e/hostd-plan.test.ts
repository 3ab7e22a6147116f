/**
 * Table test of the sandbox build host's planner (scripts/local/hostd-plan.ts): pure, no moto, no
 * namespaces. Lives beside the end-to-end tests that exercise the daemon for real.
 */
import { strict as assert } from "node:assert";
import { Action, CurrentSandbox, LaneArch, laneOf, listensOn, plan, SeenInstance } from "../../scripts/local/hostd-plan";
import { emulatorSshPort } from "../../pipeline/architectures";

const inst = (id: string, state: string, launchedAt = 1): SeenInstance => ({
    id,
    state,
    keyName: `key-${id}`,
    region: "us-east-1",
    launchedAt,
});
/** An instance launched from an image that build slot `from` made. */
const booting = (id: string, state: string, from: string, launchedAt = 1): SeenInstance => ({
    ...inst(id, state, launchedAt),
    bootFrom: from,
});
const kinds = (a: Action[]) =>
    a.map((x) => {
        switch (x.kind) {
            case "assign":
            case "start":
            case "skip":
            case "boot":
                return `${x.kind}:${x.instance.id}`;
            case "stop":
                return `stop:${x.slot}`;
            case "standby":
                return "standby";
        }
    });

describe("hostd plan", () => {
    const cases: { name: string; current?: CurrentSandbox; served?: string[]; instances: SeenInstance[]; want: string[] }[] = [
        { name: "nothing running, no sandbox: start a standby", instances: [], want: ["standby"] },
        { name: "standby and nothing new: nothing to do", current: { slot: "s1" }, instances: [], want: [] },
        {
            name: "new running instance takes the standby",
            current: { slot: "s1" },
            instances: [inst("i-1", "running")],
            want: ["assign:i-1"],
        },
        { name: "pending instances wait until running", current: { slot: "s1" }, instances: [inst("i-1", "pending")], want: [] },
        {
            name: "served instance still running: keep its sandbox",
            current: { slot: "s1", instanceId: "i-1" },
            served: ["i-1"],
            instances: [inst("i-1", "running")],
            want: [],
        },
        {
            name: "served instance stopped: stop its sandbox, then a new standby",
            current: { slot: "s1", instanceId: "i-1" },
            served: ["i-1"],
            instances: [inst("i-1", "stopped")],
            want: ["stop:s1", "standby"],
        },
        {
            name: "served instance vanished (terminated and gone): stop",
            current: { slot: "s1", instanceId: "i-1" },
            served: ["i-1"],
            instances: [],
            want: ["stop:s1", "standby"],
        },
        {
            name: "a second instance while the first runs: fresh sandbox for the newcomer",
            current: { slot: "s1", instanceId: "i-1" },
            served: ["i-1"],
            instances: [inst("i-1", "running"), inst("i-2", "running", 2)],
            want: ["stop:s1", "start:i-2"],
        },
        {
            name: "two new at once: the newest gets the standby, the other is skipped",
            current: { slot: "s1" },
            instances: [inst("i-2", "running", 2), inst("i-1", "running", 1)],
            want: ["skip:i-1", "assign:i-2"],
        },
        {
            name: "the old one stops as a new one starts: stop, then a fresh sandbox for the new one",
            current: { slot: "s1", instanceId: "i-1" },
            served: ["i-1"],
            instances: [inst("i-1", "terminated"), inst("i-2", "running", 2)],
            want: ["stop:s1", "start:i-2"],
        },
        { name: "no sandbox and a new instance: start one for it", instances: [inst("i-1", "running")], want: ["start:i-1"] },
        {
            name: "already served instances are never served again",
            served: ["i-1"],
            instances: [inst("i-1", "running")],
            want: ["standby"],
        },
        {
            name: "an instance from a build's image: the standby yields the port, the instance boots",
            current: { slot: "s1" },
            served: ["i-1"],
            instances: [inst("i-1", "terminated"), booting("i-2", "running", "sb-a", 2)],
            want: ["stop:s1", "boot:i-2"],
        },
        {
            name: "an instance from a build's image and no sandbox: boot it",
            instances: [booting("i-2", "running", "sb-a")],
            want: ["boot:i-2"],
        },
        {
            name: "a booting instance waits until running",
            current: { slot: "s1" },
            instances: [booting("i-2", "pending", "sb-a")],
            want: [],
        },
        {
            name: "the booted instance still runs: keep it, no standby beside it",
            current: { slot: "bt-1", instanceId: "i-2" },
            served: ["i-2"],
            instances: [booting("i-2", "running", "sb-a")],
            want: [],
        },
        {
            name: "the booted instance terminated: stop it, then a fresh standby",
            current: { slot: "bt-1", instanceId: "i-2" },
            served: ["i-2"],
            instances: [booting("i-2", "shutting-down", "sb-a")],
            want: ["stop:bt-1", "standby"],
        },
        {
            name: "a build instance while one is booted: the booted one stops, the build gets a fresh sandbox",
            current: { slot: "bt-1", instanceId: "i-2" },
            served: ["i-2"],
            instances: [booting("i-2", "running", "sb-a"), inst("i-3", "running", 3)],
            want: ["stop:bt-1", "start:i-3"],
        },
        {
            name: "a second boot while a build runs: the build stops first (one instance at a time)",
            current: { slot: "s2", instanceId: "i-3" },
            served: ["i-3"],
            instances: [inst("i-3", "running", 3), booting("i-4", "running", "sb-b", 4)],
            want: ["stop:s2", "boot:i-4"],
        },
        {
            name: "two new at once, the newer from a build's image: the older is skipped, the newer boots",
            current: { slot: "s1" },
            instances: [inst("i-5", "running", 5), booting("i-6", "running", "sb-a", 6)],
            want: ["skip:i-5", "stop:s1", "boot:i-6"],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            assert.deepEqual(kinds(plan(c.current, new Set(c.served ?? []), c.instances)), c.want);
        });
    }
});

describe("hostd lanes", () => {
    const i = (tags?: Record<string, string>, architecture?: string): SeenInstance => ({
        id: "i-1",
        state: "running",
        region: "us-east-1",
        launchedAt: 1,
        tags,
        architecture,
    });
    const cases: { name: string; instance: SeenInstance; lanes: LaneArch[]; want: LaneArch | undefined }[] = [
        {
            name: "Architecture tag arm64 → arm64 lane",
            instance: i({ Architecture: "arm64" }, "x86_64"),
            lanes: ["amd64", "arm64"],
            want: "arm64",
        },
        {
            name: "Architecture tag amd64 → amd64 lane",
            instance: i({ Architecture: "amd64" }, "arm64"),
            lanes: ["amd64", "arm64"],
            want: "amd64",
        },
        { name: "no tag: EC2's arm64 → arm64 lane", instance: i({}, "arm64"), lanes: ["amd64", "arm64"], want: "arm64" },
        { name: "no tag, x86_64 → amd64", instance: i(undefined, "x86_64"), lanes: ["amd64", "arm64"], want: "amd64" },
        { name: "nothing known → amd64 (as before lanes)", instance: i(), lanes: ["amd64"], want: "amd64" },
        { name: "arm64 without an arm64 lane → none", instance: i({ Architecture: "arm64" }), lanes: ["amd64"], want: undefined },
    ];
    for (const c of cases) it(c.name, () => assert.equal(laneOf(c.instance, c.lanes), c.want));
    it("emulator ports: amd64 on sshPort, arm64 on sshPort + 1", () => {
        assert.equal(emulatorSshPort(2222, "amd64"), 2222);
        assert.equal(emulatorSshPort(2222, "arm64"), 2223);
    });
});

describe("hostd: is the sandbox's sshd listening in its namespace (/proc/<pid>/net/tcp)", () => {
    const head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";
    const row = (local: string, remote: string, st: string) =>
        `   0: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000     0        0 624 1 0000000000000000 100 0 0 10 0\n`;
    const cases: { name: string; table: string; port: number; want: boolean }[] = [
        { name: "empty namespace: no", table: head, port: 22, want: false },
        { name: "gone (empty read): no", table: "", port: 22, want: false },
        { name: "127.0.0.1:22 listening: yes", table: head + row("0100007F:0016", "00000000:0000", "0A"), port: 22, want: true },
        { name: "0.0.0.0:22 listening: yes", table: head + row("00000000:0016", "00000000:0000", "0A"), port: 22, want: true },
        { name: "another port listening: no", table: head + row("0100007F:0017", "00000000:0000", "0A"), port: 22, want: false },
        {
            name: "a connection from port 22 (not listening): no",
            table: head + row("0100007F:0016", "0100007F:9B13", "01"),
            port: 22,
            want: false,
        },
        { name: "port in hex upper case (2222 = 08AE)", table: head + row("0100007F:08AE", "00000000:0000", "0A"), port: 2222, want: true },
    ];
    for (const c of cases) it(c.name, () => assert.equal(listensOn(c.table, c.port), c.want));
});
