/**
 * Table tests of the pure half of hostd's booted instances (scripts/local/boot-plan.ts): which
 * build an image came from, the overlay's layers, cgroup names, and the IMDSv2 answers.
 */
import { strict as assert } from "node:assert";
import {
    BuildRecord,
    cgroupName,
    cgroupPrefix,
    findBuildOfImage,
    identityDocument,
    ImdsRequest,
    imdsAnswer,
    InstanceIdentity,
    lowerdirOption,
    metadataTree,
    TokenStore,
} from "../../scripts/local/boot-plan";

const tags = { Name: "img-a", Project: "couchbase-images", Stack: "local", ExpiresAt: "2026-12-01T12:00:00Z" };
const builds: BuildRecord[] = [
    { instanceId: "i-build1", slot: "sb-a-1", tags },
    { instanceId: "i-build2", slot: "sb-b-2", tags: { ...tags, Name: "img-b" } },
    { instanceId: "i-build3", slot: "sb-c-3", tags: {} },
];
/** A rebuild under the same name (same stack and fingerprint), another build time. */
const rebuild: BuildRecord = { instanceId: "i-build4", slot: "sb-d-4", tags: { ...tags, ExpiresAt: "2026-12-01T14:00:00Z" } };

describe("local boot plan: the build an image came from", () => {
    const cases: { name: string; image: Parameters<typeof findBuildOfImage>[0]; builds?: BuildRecord[]; known?: string[]; want: string }[] =
        [
            {
                name: "CreateImage's SourceInstanceId names a build",
                image: { imageId: "ami-1", sourceInstanceId: "i-build3", tags: {} },
                want: "build:sb-c-3:source-instance",
            },
            {
                name: "SourceInstanceId wins over name and tags",
                image: { imageId: "ami-1", name: "img-a", sourceInstanceId: "i-build3", tags },
                want: "build:sb-c-3:source-instance",
            },
            {
                name: "an encrypted copy (no source): the build whose Name tag is the image's name",
                image: { imageId: "ami-2", name: "img-b", tags: {} },
                want: "build:sb-b-2:name",
            },
            {
                name: "the name holds after the image was re-tagged",
                image: { imageId: "ami-2", name: "img-a", tags: { ...tags, Owner: "new" } },
                want: "build:sb-a-1:name",
            },
            {
                name: "no name: the build whose tags equal the image's exactly",
                image: { imageId: "ami-2", tags },
                want: "build:sb-a-1:tags",
            },
            {
                name: "no name, one more tag on the image: nothing",
                image: { imageId: "ami-2", tags: { ...tags, Extra: "x" } },
                want: "none",
            },
            {
                name: "a rebuild under the same name: the exact tags decide",
                image: { imageId: "ami-5", name: "img-a", tags: rebuild.tags },
                builds: [...builds, rebuild],
                want: "build:sb-d-4:tags",
            },
            {
                name: "a rebuild under the same name, re-tagged since: ambiguous, never chosen by time",
                image: { imageId: "ami-5", name: "img-a", tags: { ...tags, Owner: "new" } },
                builds: [...builds, rebuild],
                want: "ambiguous:sb-a-1,sb-d-4",
            },
            {
                name: "a build of an earlier moto (its instance unknown here) is no candidate",
                image: { imageId: "ami-5", name: "img-a", tags: { ...tags, Owner: "new" } },
                builds: [...builds, rebuild],
                known: ["i-build4", "i-build2"],
                want: "build:sb-d-4:name",
            },
            {
                name: "a base image (no source, other name, no tags) is no build's",
                image: { imageId: "ami-base", name: "debian-12-amd64-x", tags: {} },
                want: "none",
            },
            {
                name: "a source instance hostd never served: none",
                image: { imageId: "ami-3", sourceInstanceId: "i-elsewhere", tags: {} },
                want: "none",
            },
        ];
    for (const c of cases) {
        it(c.name, () => {
            const m = findBuildOfImage(c.image, c.builds ?? builds, c.known ? new Set(c.known) : undefined);
            const got =
                m.kind === "build" ? `build:${m.build.slot}:${m.how}` : m.kind === "ambiguous" ? `ambiguous:${m.slots.join(",")}` : "none";
            assert.equal(got, c.want);
        });
    }
});

describe("local boot plan: overlay layers and cgroup names", () => {
    it("lowerdir joins the layers topmost first", () => {
        assert.equal(lowerdirOption(["/s/sb-1/upper", "/cache/rootfs"]), "/s/sb-1/upper:/cache/rootfs");
    });
    for (const bad of [[], ["relative/upper"], ["/a:b"], ["/a,b"], ["/a b"]]) {
        it(`lowerdir refuses ${JSON.stringify(bad)}`, () => assert.throws(() => lowerdirOption(bad)));
    }
    it("cgroup names: one prefix per sandbox folder, the slot after it", () => {
        const n = cgroupName("/x/.local/sandbox", "bt-abc-1");
        assert.ok(n.startsWith(cgroupPrefix("/x/.local/sandbox")));
        assert.ok(n.endsWith("-bt-abc-1"));
        assert.notEqual(cgroupPrefix("/x/.local/sandbox"), cgroupPrefix("/y/.local/sandbox"));
        assert.throws(() => cgroupName("/x", "../evil"));
    });
});

describe("local boot plan: IMDSv2", () => {
    const id: InstanceIdentity = {
        instanceId: "i-0123",
        region: "us-east-1",
        availabilityZone: "us-east-1a",
        instanceType: "t3.medium",
        imageId: "ami-0abc",
        privateIp: "10.0.0.7",
        accountId: "123456789012",
        architecture: "x86_64",
        pendingTime: "2026-12-01T12:00:00.000Z",
        key: { name: "packer-k", publicKey: "ssh-ed25519 AAAA test\n" },
    };
    const req = (method: string, url: string, headers: Record<string, string> = {}): ImdsRequest => ({ method, url, headers });
    let n = 0;
    const newToken = () => `tok${++n}`;

    it("issues a token for a PUT with a TTL, answers GETs with it, expires it after the TTL", () => {
        const tokens: TokenStore = new Map();
        const t = imdsAnswer(req("PUT", "/latest/api/token", { "x-aws-ec2-metadata-token-ttl-seconds": "60" }), id, tokens, 1000, newToken);
        assert.equal(t.status, 200);
        const h = { "x-aws-ec2-metadata-token": t.body };
        assert.deepEqual(imdsAnswer(req("GET", "/latest/meta-data/instance-id", h), id, tokens, 2000, newToken), {
            status: 200,
            body: "i-0123",
            contentType: "text/plain",
        });
        assert.equal(imdsAnswer(req("GET", "/latest/meta-data/instance-id", h), id, tokens, 1000 + 60_000, newToken).status, 401);
    });

    const tokens: TokenStore = new Map([["good", Number.MAX_SAFE_INTEGER]]);
    const ok = { "x-aws-ec2-metadata-token": "good" };
    const cases: { name: string; r: ImdsRequest; status: number; body?: string }[] = [
        { name: "no token: 401 (IMDSv2 required)", r: req("GET", "/latest/meta-data/instance-id"), status: 401 },
        { name: "unknown token: 401", r: req("GET", "/latest/meta-data/instance-id", { "x-aws-ec2-metadata-token": "bad" }), status: 401 },
        { name: "token without TTL: 400", r: req("PUT", "/latest/api/token"), status: 400 },
        {
            name: "token TTL above 6 h: 400",
            r: req("PUT", "/latest/api/token", { "x-aws-ec2-metadata-token-ttl-seconds": "21601" }),
            status: 400,
        },
        { name: "GET of the token path: 405", r: req("GET", "/latest/api/token"), status: 405 },
        {
            name: "a proxied request: 403",
            r: req("PUT", "/latest/api/token", { "x-aws-ec2-metadata-token-ttl-seconds": "60", "x-forwarded-for": "1.2.3.4" }),
            status: 403,
        },
        { name: "region (the agent reads it)", r: req("GET", "/latest/meta-data/placement/region", ok), status: 200, body: "us-east-1" },
        { name: "availability zone", r: req("GET", "/latest/meta-data/placement/availability-zone", ok), status: 200, body: "us-east-1a" },
        { name: "instance type", r: req("GET", "/latest/meta-data/instance-type", ok), status: 200, body: "t3.medium" },
        { name: "local-ipv4", r: req("GET", "/latest/meta-data/local-ipv4", ok), status: 200, body: "10.0.0.7" },
        { name: "ami-id", r: req("GET", "/latest/meta-data/ami-id", ok), status: 200, body: "ami-0abc" },
        { name: "the launch key, as EC2 lists it", r: req("GET", "/latest/meta-data/public-keys/", ok), status: 200, body: "0=packer-k" },
        { name: "the launch key's formats", r: req("GET", "/latest/meta-data/public-keys/0/", ok), status: 200, body: "openssh-key" },
        {
            name: "the launch key itself",
            r: req("GET", "/latest/meta-data/public-keys/0/openssh-key", ok),
            status: 200,
            body: "ssh-ed25519 AAAA test",
        },
        {
            name: "a directory without its slash",
            r: req("GET", "/latest/meta-data/placement", ok),
            status: 200,
            body: "availability-zone\nregion",
        },
        { name: "unknown path: 404", r: req("GET", "/latest/meta-data/iam/info", ok), status: 404 },
        { name: "outside /latest: 404", r: req("GET", "/2009-04-04/meta-data/instance-id", ok), status: 404 },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const a = imdsAnswer(c.r, id, tokens, 0, newToken);
            assert.equal(a.status, c.status);
            if (c.body !== undefined) assert.equal(a.body, c.body);
        });
    }

    it("the identity document is EC2's JSON for the launched instance", () => {
        const a = imdsAnswer(req("GET", "/latest/dynamic/instance-identity/document", ok), id, tokens, 0, newToken);
        assert.equal(a.contentType, "application/json");
        const doc = JSON.parse(a.body) as Record<string, unknown>;
        assert.equal(doc.instanceId, "i-0123");
        assert.equal(doc.region, "us-east-1");
        assert.equal(doc.imageId, "ami-0abc");
        assert.equal(doc.instanceType, "t3.medium");
        assert.equal(a.body, identityDocument(id));
    });

    it("the meta-data root lists every top entry", () => {
        const root = metadataTree(id).get("")!.split("\n");
        assert.deepEqual(root, [
            "ami-id",
            "hostname",
            "instance-id",
            "instance-type",
            "local-hostname",
            "local-ipv4",
            "placement/",
            "public-keys/",
        ]);
    });

    it("without a launch key there are no public-keys", () => {
        const { key: _key, ...noKey } = id;
        assert.equal(metadataTree(noKey).has("public-keys/"), false);
    });
});
