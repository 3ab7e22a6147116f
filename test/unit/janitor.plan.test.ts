import * as assert from "node:assert/strict";
import {
    amisInDescription,
    builderLineage,
    createImageDescriptionFilter,
    formatAge,
    judgeImage,
    packerNameTime,
    parseDuration,
    planRegion,
    renderTable,
    summarize,
    type Policy,
    type RegionScan,
    type StackState,
} from "../../janitor/plan";
import { stackStateOf } from "../../janitor/sources";
import type { ImageSummary } from "../../providers/ec2/images";

const NOW = new Date("2026-11-25T12:00:00Z");
const H = 3_600_000;
const ago = (h: number) => new Date(NOW.getTime() - h * H).toISOString();
const ours = (extra: Record<string, string> = {}): Record<string, string> => ({ Project: "couchbase-images", ...extra });

function policy(over: Partial<Policy> = {}): Policy {
    return {
        now: NOW,
        longestBuildMs: 2 * H,
        liveStacks: new Set(["local-live"]),
        liveStacksComplete: true,
        protectedImages: new Map([["ami-00000000000000001", "versions/prod.json"]]),
        tempPrefixes: ["packer_"],
        ...over,
    };
}

function image(id: string, tags: Record<string, string>, over: Partial<ImageSummary> = {}): ImageSummary {
    return {
        id,
        name: `couchbase-images-${id}`,
        state: "available",
        creationDate: ago(48),
        tags,
        snapshotIds: [`snap-${id.slice(4)}`],
        ...over,
    };
}

describe("janitor/plan: parseDuration, formatAge, names", () => {
    const durations: [string, number][] = [
        ["30s", 30_000],
        ["45m", 45 * 60_000],
        ["24h", 24 * H],
        ["7d", 7 * 24 * H],
        ["1h30m", 1.5 * H],
        ["0s", 0],
    ];
    for (const [s, ms] of durations) it(`parses ${s}`, () => assert.equal(parseDuration(s), ms));
    for (const bad of ["", "24", "h", "1x", "-1h", "1.5h"])
        it(`rejects "${bad}"`, () => assert.throws(() => parseDuration(bad), /not a duration/));
    const ages: [number | undefined, string][] = [
        [undefined, "-"],
        [5_000, "5s"],
        [3 * 60_000, "3m"],
        [3 * H + 12 * 60_000, "3h12m"],
        [52 * H, "2d4h"],
        [48 * H, "2d"],
        [2 * H, "2h"],
    ];
    for (const [ms, s] of ages) it(`formats ${ms} as ${s}`, () => assert.equal(formatAge(ms), s));
    it("reads the time in Packer's temporary names", () => {
        assert.equal(packerNameTime("packer_692566c0-1a2b-3c4d-5e6f-7a8b9c0d1e2f")?.toISOString(), "2025-11-25T08:20:16.000Z");
        assert.equal(packerNameTime("packer_notauuid"), undefined);
        assert.equal(packerNameTime("default"), undefined);
    });
    it("finds AMI ids in snapshot descriptions", () => {
        assert.deepEqual(amisInDescription("Created by CreateImage(i-0abc) for ami-0123456789abcdef0"), ["ami-0123456789abcdef0"]);
        assert.deepEqual(amisInDescription("Copied for DestinationAmi ami-11111111 from SourceAmi ami-22222222"), [
            "ami-11111111",
            "ami-22222222",
        ]);
        assert.deepEqual(amisInDescription("hand made"), []);
    });
});

describe("janitor/plan: judgeImage", () => {
    const cases: {
        name: string;
        tags: Record<string, string>;
        created?: string;
        id?: string;
        p?: Partial<Policy>;
        want: [string, RegExp];
    }[] = [
        { name: "expired", tags: ours({ ExpiresAt: ago(1) }), want: ["delete", /^expired /] },
        { name: "not yet expired", tags: ours({ ExpiresAt: ago(-5) }), want: ["keep", /^expires /] },
        { name: "production even when expired", tags: ours({ ExpiresAt: ago(1), Environment: "prod" }), want: ["keep", /production/] },
        {
            name: "pinned by a versions file",
            id: "ami-00000000000000001",
            tags: ours({ ExpiresAt: ago(1) }),
            want: ["keep", /versions\/prod\.json/],
        },
        { name: "live stack", tags: ours({ ExpiresAt: ago(1), Stack: "local-live" }), want: ["keep", /stack local-live still exists/] },
        {
            name: "live stack named by --stack",
            tags: ours({ ExpiresAt: ago(1), Stack: "local-live" }),
            p: { stack: "local-live" },
            want: ["delete", /expired/],
        },
        { name: "gone stack", tags: ours({ ExpiresAt: ago(1), Stack: "local-gone" }), want: ["delete", /expired/] },
        {
            name: "non-local stack when the backend is unknown",
            tags: ours({ ExpiresAt: ago(1), Stack: "dev" }),
            p: { liveStacksComplete: false },
            want: ["keep", /may still exist/],
        },
        {
            name: "local stack when the backend is unknown",
            tags: ours({ ExpiresAt: ago(1), Stack: "local-x" }),
            p: { liveStacksComplete: false },
            want: ["delete", /expired/],
        },
        { name: "older than --older-than", tags: ours(), p: { olderThanMs: 24 * H }, want: ["delete", /older than 1d$/] },
        {
            name: "older than --older-than before ExpiresAt",
            tags: ours({ ExpiresAt: ago(-5) }),
            p: { olderThanMs: 24 * H },
            want: ["delete", /older than/],
        },
        { name: "younger than --older-than", tags: ours(), created: ago(2), p: { olderThanMs: 24 * H }, want: ["keep", /younger than/] },
        {
            name: "ExpiresAt=never beats --older-than",
            tags: ours({ ExpiresAt: "never" }),
            p: { olderThanMs: 1 * H },
            want: ["keep", /never/],
        },
        { name: "no ExpiresAt, no --older-than", tags: ours(), want: ["keep", /no ExpiresAt/] },
        { name: "garbage ExpiresAt", tags: ours({ ExpiresAt: "soon" }), want: ["keep", /unreadable/] },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const j = judgeImage(image(c.id ?? "ami-0aaaaaaa", c.tags, c.created ? { creationDate: c.created } : {}), policy(c.p));
            assert.equal(j.action, c.want[0], j.reason);
            assert.match(j.reason, c.want[1]);
        });
    }
});

describe("janitor/plan: planRegion", () => {
    const expired = ours({ ExpiresAt: ago(1), Stack: "local-gone" });
    function scan(over: Partial<RegionScan>): RegionScan {
        return { region: "us-east-1", images: [], snapshots: [], instances: [], keyPairs: [], securityGroups: [], ...over };
    }
    const snap = (id: string, tags: Record<string, string>, description = "", hoursAgo = 48) => ({
        id,
        volumeSize: 8,
        state: "completed",
        startTime: ago(hoursAgo),
        description,
        tags,
    });

    it("ignores foreign objects entirely", () => {
        const rows = planRegion(
            scan({
                images: [image("ami-0f0f0f0f", { ExpiresAt: ago(1) })],
                snapshots: [snap("snap-f", { ExpiresAt: ago(1) })],
                instances: [
                    { id: "i-f", state: "running", launchTime: ago(10), securityGroupIds: ["sg-f"], keyName: "packer_x", tags: {} },
                ],
                keyPairs: [{ id: "key-f", name: "packer_692566c0-1a2b-3c4d-5e6f-7a8b9c0d1e2f", tags: {} }],
                securityGroups: [{ id: "sg-f", name: "packer_692566c0-1a2b-3c4d-5e6f-7a8b9c0d1e2f", description: "", tags: {} }],
            }),
            policy(),
        );
        assert.deepEqual(rows, []);
    });

    it("deletes an expired image with its snapshot, keeps a snapshot another image shares", () => {
        const a = image("ami-0aaaaaaa", expired, { snapshotIds: ["snap-a", "snap-shared"] });
        const b = image("ami-0bbbbbbb", ours({ Environment: "prod" }), { snapshotIds: ["snap-shared"] });
        const rows = planRegion(scan({ images: [a, b], snapshots: [snap("snap-a", {}), snap("snap-shared", ours())] }), policy());
        const view = rows.map((r) => [r.kind, r.id, r.action, r.reason]);
        assert.deepEqual(view, [
            ["image", "ami-0aaaaaaa", "delete", `expired ${expired.ExpiresAt}`],
            ["image", "ami-0bbbbbbb", "keep", "production (Environment=prod)"],
            ["snapshot", "snap-a", "delete", "snapshot of ami-0aaaaaaa"],
            ["snapshot", "snap-shared", "keep", "shared with ami-0bbbbbbb"],
        ]);
        assert.deepEqual(rows[0].keepSnapshotIds, ["snap-shared"]);
        assert.equal(rows[2].ofImage, "ami-0aaaaaaa");
        assert.deepEqual(summarize(rows, 0.05), {
            toDelete: { instance: 0, image: 1, snapshot: 1, "security-group": 0, "key-pair": 0 },
            kept: 2,
            snapshotGiB: 8,
            monthlySavings: 0.4,
        });
    });

    it("judges our other snapshots: orphan, in use, young, production", () => {
        const live = image("ami-0ccccccc", ours({ ExpiresAt: ago(-10) }), { snapshotIds: ["snap-used"] });
        const rows = planRegion(
            scan({
                images: [live],
                snapshots: [
                    snap("snap-orphan", ours(), "Created by CreateImage(i-1) for ami-0dead000"),
                    snap("snap-bare", ours()),
                    snap("snap-used", ours()),
                    snap("snap-young", ours(), "Created by CreateImage(i-2) for ami-0dead001", 0.5),
                    snap("snap-prod", ours({ Environment: "prod" })),
                    snap("snap-named", ours(), "Copied for DestinationAmi ami-0ccccccc from SourceAmi ami-0eeeeeee"),
                ],
            }),
            policy(),
        );
        const view = Object.fromEntries(rows.filter((r) => r.kind === "snapshot").map((r) => [r.id, `${r.action}: ${r.reason}`]));
        assert.deepEqual(view, {
            "snap-bare": "delete: orphan: no image uses it",
            "snap-named": "keep: image ami-0ccccccc exists",
            "snap-orphan": "delete: orphan: image ami-0dead000 is gone",
            "snap-prod": "keep: production (Environment=prod)",
            "snap-used": "keep: in use by ami-0ccccccc",
            "snap-young": "keep: younger than 2h (build may be running)",
        });
    });

    it("terminates old builders, then removes their temporary group and key pair; young builds are left alone", () => {
        const pk = (t: string) => `packer_${Math.floor(Date.parse(t) / 1000).toString(16)}-1a2b-3c4d-5e6f-7a8b9c0d1e2f`;
        const oldName = pk(ago(5));
        const youngName = pk(ago(0.2));
        const rows = planRegion(
            scan({
                instances: [
                    {
                        id: "i-old",
                        state: "running",
                        launchTime: ago(5),
                        keyName: oldName,
                        securityGroupIds: ["sg-old"],
                        tags: ours({ Stack: "local-a" }),
                    },
                    {
                        id: "i-young",
                        state: "running",
                        launchTime: ago(0.2),
                        keyName: youngName,
                        securityGroupIds: ["sg-young"],
                        tags: ours({ Stack: "local-a" }),
                    },
                    { id: "i-foreign", state: "running", launchTime: ago(50), securityGroupIds: ["sg-shared"], tags: {} },
                ],
                securityGroups: [
                    { id: "sg-old", name: oldName, description: "Temporary group for Packer", tags: {} },
                    { id: "sg-young", name: youngName, description: "Temporary group for Packer", tags: {} },
                    { id: "sg-tagged", name: pk(ago(3)), description: "Temporary group for Packer", tags: ours() },
                    { id: "sg-shared", name: "mine", description: "", tags: ours() },
                    { id: "sg-default", name: "default", description: "default VPC security group", tags: ours() },
                ],
                keyPairs: [
                    { id: "key-old", name: oldName, tags: {} },
                    { id: "key-young", name: youngName, tags: {} },
                    { id: "key-tagged", name: "couchbase-images-build-1", createTime: ago(3), tags: ours() },
                    { id: "key-unknown", name: "couchbase-images-build-2", tags: ours() },
                ],
            }),
            policy(),
        );
        const view = rows.map((r) => `${r.kind} ${r.id} ${r.action}: ${r.reason}`);
        assert.deepEqual(view, [
            "instance i-old delete: builder older than 2h",
            "instance i-young keep: younger than 2h (build may be running)",
            "security-group sg-old delete: temporary security-group of i-old",
            "security-group sg-shared keep: in use by i-foreign",
            "security-group sg-tagged delete: temporary security-group older than 2h",
            "security-group sg-young keep: in use by i-young",
            "key-pair key-old delete: temporary key-pair of i-old",
            "key-pair key-tagged delete: temporary key-pair older than 2h",
            "key-pair key-unknown keep: age unknown",
            "key-pair key-young keep: in use by i-young",
        ]);
    });

    it("--stack narrows everything to one stack", () => {
        const rows = planRegion(
            scan({
                images: [image("ami-0aaaaaaa", ours({ ExpiresAt: ago(1), Stack: "local-live" })), image("ami-0bbbbbbb", expired)],
                instances: [{ id: "i-x", state: "running", launchTime: ago(5), securityGroupIds: [], tags: ours({ Stack: "local-gone" }) }],
            }),
            policy({ stack: "local-live" }),
        );
        assert.deepEqual(
            rows.map((r) => [r.id, r.action]),
            [
                ["ami-0aaaaaaa", "delete"],
                ["snap-0aaaaaaa", "delete"],
            ],
        );
    });

    it("renders an aligned table with every column", () => {
        const rows = planRegion(scan({ images: [image("ami-0aaaaaaa", expired)] }), policy());
        const lines = renderTable(rows).split("\n");
        assert.match(lines[0], /^REGION\s+KIND\s+ID\s+NAME\s+STACK\s+AGE\s+REASON\s+ACTION$/);
        assert.match(
            lines[1],
            /^us-east-1\s+image\s+ami-0aaaaaaa\s+couchbase-images-ami-0aaaaaaa\s+local-gone\s+2d\s+expired \S+\s+delete$/,
        );
        assert.equal(lines.length, 3);
    });
});

describe("janitor/plan: a live stack whose state is readable", () => {
    // local-live's state: records ami-0recorded0; settled 1 h ago (not locked, no pending operation).
    const settled = (over: Partial<StackState> = {}): Map<string, StackState> =>
        new Map([["local-live", { recordedImages: new Set(["ami-0recorded0"]), settledAt: new Date(ago(1)), ...over }]]);
    const live = (extra: Record<string, string> = {}) => ours({ Stack: "local-live", ExpiresAt: ago(-20), ...extra });
    const cases: {
        name: string;
        id?: string;
        tags: Record<string, string>;
        created?: string;
        p?: Partial<Policy>;
        want: [string, RegExp];
    }[] = [
        {
            name: "unrecorded, made before the state settled, not expired: an orphan",
            tags: live(),
            created: ago(2),
            p: { stackStates: settled() },
            want: ["delete", /^orphan: not in stack local-live's state, and no build of it is running$/],
        },
        {
            name: "the same with ExpiresAt=never",
            tags: live({ ExpiresAt: "never" }),
            created: ago(2),
            p: { stackStates: settled() },
            want: ["delete", /^orphan/],
        },
        {
            name: "the same, scoped by --stack",
            tags: live(),
            created: ago(2),
            p: { stack: "local-live", stackStates: settled() },
            want: ["delete", /^orphan/],
        },
        {
            name: "recorded in the state: kept even when expired and named by --stack",
            id: "ami-0recorded0",
            tags: live({ ExpiresAt: ago(5) }),
            p: { stack: "local-live", stackStates: settled() },
            want: ["keep", /^recorded in stack local-live's state$/],
        },
        {
            name: "made after the state settled: a build may be running",
            tags: live(),
            created: ago(0.5),
            p: { stackStates: settled() },
            want: ["keep", /still exists/],
        },
        // EC2's creation times are whole seconds: an image registered 0.7 s after the state's write shows a time 0.3 s before it.
        {
            name: "made in the same second as the state's last write: kept (creation times are whole seconds)",
            tags: live(),
            created: "2026-11-25T12:00:00.000Z",
            p: { stackStates: settled({ settledAt: new Date("2026-11-25T12:00:00.300Z") }) },
            want: ["keep", /still exists/],
        },
        {
            name: "made in the second before it: an orphan",
            tags: live(),
            created: "2026-11-25T11:59:59.000Z",
            p: { stackStates: settled({ settledAt: new Date("2026-11-25T12:00:00.300Z") }) },
            want: ["delete", /^orphan/],
        },
        {
            name: "stack locked: a build may be running",
            tags: live(),
            created: ago(2),
            p: { stackStates: settled({ settledAt: undefined, busy: "locked" }) },
            want: ["keep", /still exists/],
        },
        {
            name: "pending operations, scoped by --stack: the expiry rule as before",
            tags: live(),
            created: ago(2),
            p: { stack: "local-live", stackStates: settled({ settledAt: undefined, busy: "1 pending operation(s)" }) },
            want: ["keep", /^expires /],
        },
        {
            name: "production: never",
            tags: live({ Environment: "prod" }),
            created: ago(2),
            p: { stackStates: settled() },
            want: ["keep", /production/],
        },
        {
            name: "named in a versions file: never",
            id: "ami-00000000000000001",
            tags: live(),
            created: ago(2),
            p: { stackStates: settled() },
            want: ["keep", /versions\/prod\.json/],
        },
        { name: "no creation date: kept", tags: live(), created: "", p: { stackStates: settled() }, want: ["keep", /still exists/] },
        {
            name: "another stack's state says nothing about this one",
            tags: live({ Stack: "local-other" }),
            created: ago(2),
            p: { liveStacks: new Set(["local-other"]), stackStates: settled() },
            want: ["keep", /stack local-other still exists/],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const j = judgeImage(
                image(c.id ?? "ami-0aaaaaaa", c.tags, c.created !== undefined ? { creationDate: c.created || undefined } : {}),
                policy(c.p),
            );
            assert.equal(j.action, c.want[0], j.reason);
            assert.match(j.reason, c.want[1]);
        });
    }

    it("a killed build of a settled stack: builder, its group and key pair, an unrecorded image and an orphan snapshot all go; a newer build stays", () => {
        const rows = planRegion(
            {
                region: "us-east-1",
                images: [
                    image("ami-0aaaaaaa", live(), { creationDate: ago(1.5) }),
                    image("ami-0recorded0", live(), { creationDate: ago(30) }),
                ],
                snapshots: [{ id: "snap-orphan", volumeSize: 8, state: "completed", startTime: ago(1.5), description: "", tags: live() }],
                instances: [
                    {
                        id: "i-killed",
                        state: "running",
                        launchTime: ago(1.6),
                        keyName: "packer-k",
                        securityGroupIds: ["sg-k"],
                        tags: live(),
                    },
                    { id: "i-new", state: "running", launchTime: ago(0.2), keyName: "packer-n", securityGroupIds: ["sg-n"], tags: live() },
                ],
                keyPairs: [
                    { id: "key-k", name: "packer-k", createTime: ago(1.6), tags: live() },
                    { id: "key-n", name: "packer-n", createTime: ago(0.2), tags: live() },
                ],
                securityGroups: [
                    { id: "sg-k", name: "packer_k", description: "", tags: live() },
                    { id: "sg-n", name: "packer_n", description: "", tags: live() },
                ],
            },
            policy({ stack: "local-live", tempPrefixes: ["packer_", "packer-"], stackStates: settled() }),
        );
        assert.deepEqual(
            rows.map((r) => `${r.kind} ${r.id} ${r.action}: ${r.reason}`),
            [
                "instance i-killed delete: builder of stack local-live, which has no build running",
                "instance i-new keep: younger than 2h (build may be running)",
                "image ami-0aaaaaaa delete: orphan: not in stack local-live's state, and no build of it is running",
                "image ami-0recorded0 keep: recorded in stack local-live's state",
                "snapshot snap-0aaaaaaa delete: snapshot of ami-0aaaaaaa",
                "snapshot snap-orphan delete: orphan: no image uses it, and no build of stack local-live is running",
                "security-group sg-k delete: temporary security-group of i-killed",
                "security-group sg-n keep: in use by i-new",
                "key-pair key-k delete: temporary key-pair of i-killed",
                "key-pair key-n keep: in use by i-new",
            ],
        );
    });
});

describe("janitor/plan: an untagged image made from one of our builders (builderLineage)", () => {
    // The emulator's CreateImage takes no snapshot tags (skip_ami_run_tags): a build whose whole tree
    // was killed while its image was pending leaves the image and its snapshot untagged; only the
    // snapshot's description ties them to the builder, which is tagged.
    const settled = new Map([["local-live", { recordedImages: new Set<string>(), settledAt: new Date(ago(0.5)) }]]);
    const live = ours({ Stack: "local-live", Environment: "local", ExpiresAt: ago(-20), Name: "Packer Builder" });
    const scanOf = (builderTags: Record<string, string>, imageTags: Record<string, string> = {}): RegionScan => ({
        region: "us-east-1",
        images: [image("ami-0abc1230", imageTags, { state: "pending", creationDate: ago(1), snapshotIds: ["snap-p"] })],
        snapshots: [
            {
                id: "snap-p",
                volumeSize: 8,
                state: "completed",
                startTime: ago(1),
                description: "Created by CreateImage(i-0b1d) for ami-0abc1230",
                tags: {},
            },
        ],
        instances: [{ id: "i-0b1d", state: "running", launchTime: ago(1.1), securityGroupIds: [], tags: builderTags }],
        keyPairs: [],
        securityGroups: [],
    });
    const view = (rows: ReturnType<typeof planRegion>) => rows.map((r) => `${r.kind} ${r.id} ${r.stack} ${r.action}: ${r.reason}`);
    const cases: { name: string; scan: RegionScan; p: Partial<Policy>; want: string[] }[] = [
        {
            name: "settled stack: the builder, the image and its snapshot go",
            scan: scanOf(live),
            p: { stack: "local-live", stackStates: settled },
            want: [
                "instance i-0b1d local-live delete: builder of stack local-live, which has no build running",
                "image ami-0abc1230 local-live delete: untagged, made from builder i-0b1d: orphan: not in stack local-live's state, and no build of it is running",
                "snapshot snap-p local-live delete: snapshot of ami-0abc1230",
            ],
        },
        {
            name: "a build may be running (no readable state, young builder): all kept, the image by the builder's ExpiresAt",
            scan: scanOf(live),
            p: { stack: "local-live" },
            want: [
                "instance i-0b1d local-live keep: younger than 2h (build may be running)",
                `image ami-0abc1230 local-live keep: untagged, made from builder i-0b1d: expires ${live.ExpiresAt}`,
                "snapshot snap-p local-live keep: in use by ami-0abc1230",
            ],
        },
        {
            name: "a foreign builder (no Project tag): nothing is ours",
            scan: scanOf({ Stack: "local-live" }),
            p: { stackStates: settled },
            want: [],
        },
        {
            name: "another stack's builder, with --stack: out of scope",
            scan: scanOf({ ...live, Stack: "local-other" }),
            p: { stack: "local-live", stackStates: settled },
            want: [],
        },
        {
            name: "an image with tags of its own keeps them (never re-labelled by its builder)",
            scan: scanOf(live, ours({ Stack: "local-live", Environment: "prod" })),
            p: { stack: "local-live", stackStates: settled },
            want: [
                "instance i-0b1d local-live delete: builder of stack local-live, which has no build running",
                "image ami-0abc1230 local-live keep: production (Environment=prod)",
                "snapshot snap-p local-live keep: in use by ami-0abc1230",
            ],
        },
    ];
    for (const c of cases) it(c.name, () => assert.deepEqual(view(planRegion(c.scan, policy(c.p))), c.want));

    it("builderLineage maps the image and the untagged snapshot to the builder, without its Name", () => {
        const m = builderLineage(scanOf(live).snapshots, scanOf(live).instances);
        assert.deepEqual([...m.keys()].sort(), ["ami-0abc1230", "snap-p"]);
        assert.equal(m.get("ami-0abc1230")?.instanceId, "i-0b1d");
        assert.equal(m.get("ami-0abc1230")?.tags.Name, undefined);
        assert.equal(m.get("ami-0abc1230")?.tags.Stack, "local-live");
        assert.equal(createImageDescriptionFilter("i-0b1d"), "Created by CreateImage(i-0b1d) for *");
    });
});

describe("janitor/sources: stackStateOf", () => {
    const cp = (latest: Record<string, unknown>) => ({ version: 3, checkpoint: { stack: "s", latest } });
    const written = new Date("2026-11-25T12:00:00Z");
    it("records every image id in the resources; settled at the earlier of the manifest's time and the file's", () => {
        const s = stackStateOf(
            cp({
                manifest: { time: "2026-11-25T11:59:00Z" },
                resources: [
                    { type: "pulumi-nodejs:dynamic/packer:Image", id: "ami-0aaaaaaa", outputs: { imageId: "ami-0aaaaaaa" } },
                    { id: "ami-0bbbbbbb" },
                ],
            }),
            false,
            written,
        );
        assert.ok(s);
        assert.deepEqual([...s.recordedImages].sort(), ["ami-0aaaaaaa", "ami-0bbbbbbb"]);
        assert.equal(s.settledAt?.toISOString(), "2026-11-25T11:59:00.000Z");
        assert.equal(
            stackStateOf(cp({ manifest: { time: "2026-11-25T13:00:00Z" } }), false, written)?.settledAt?.toISOString(),
            written.toISOString(),
        );
        assert.equal(stackStateOf(cp({}), false, written)?.settledAt?.toISOString(), written.toISOString());
    });
    it("a file with no checkpoint object is no state: it grants no deletion", () => {
        assert.equal(stackStateOf({}, false, written), undefined);
        assert.equal(stackStateOf({ checkpoint: "x" }, false, written), undefined);
    });
    it("locked or with pending operations: not settled, and says why", () => {
        const locked = stackStateOf(cp({ resources: [] }), true, written);
        assert.equal(locked?.settledAt, undefined);
        assert.match(locked?.busy ?? "", /locked/);
        const pending = stackStateOf(
            cp({ pending_operations: [{ type: "creating", resource: { urn: "u", id: "ami-0ccccccc" } }] }),
            false,
            written,
        );
        assert.equal(pending?.settledAt, undefined);
        assert.match(pending?.busy ?? "", /1 pending/);
    });
});
