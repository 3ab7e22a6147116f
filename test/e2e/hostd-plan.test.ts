/**
 * Table test of the sandbox build host's planner (scripts/local/hostd-plan.ts): pure, no moto, no
 * namespaces. Lives beside the end-to-end tests that exercise the daemon for real.
 */
import { strict as assert } from "node:assert";
import { Action, CurrentSandbox, plan, SeenInstance } from "../../scripts/local/hostd-plan";

const inst = (id: string, state: string, launchedAt = 1): SeenInstance => ({ id, state, keyName: `key-${id}`, region: "us-east-1", launchedAt });
const kinds = (a: Action[]) =>
    a.map((x) => {
        switch (x.kind) {
            case "assign":
            case "start":
            case "skip":
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
        { name: "new running instance takes the standby", current: { slot: "s1" }, instances: [inst("i-1", "running")], want: ["assign:i-1"] },
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
        { name: "already served instances are never served again", served: ["i-1"], instances: [inst("i-1", "running")], want: ["standby"] },
    ];
    for (const c of cases) {
        it(c.name, () => {
            assert.deepEqual(kinds(plan(c.current, new Set(c.served ?? []), c.instances)), c.want);
        });
    }
});
