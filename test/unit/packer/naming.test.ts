/** Naming table: image names, BuildId, ExpiresAt and the tag set. */
import * as assert from "node:assert/strict";
import { adoptTags, buildId, expiresAt, imageName, imageTags } from "../../../providers/packer/naming";

/**
 * EC2's rule for image names (CreateImage's Name: 3-128 characters of letters, digits, spaces and
 * ( ) [ ] . / - ' @ _), stated here independently of the code it checks.
 */
function imageNameProblem(name: string): string | undefined {
    if (name.length < 3 || name.length > 128) return `image name "${name}" must be 3-128 characters`;
    if (!/^[A-Za-z0-9()[\] ./'@_-]+$/.test(name)) return `image name "${name}" has characters EC2 does not allow`;
    return undefined;
}

const FP = "0123456789abcdef".repeat(4);

describe("naming", () => {
    const names: [string, string, string][] = [
        ["couchbase-cloud-server", "dev-alice", "couchbase-cloud-server-dev-alice-0123456789ab"],
        ["couchbase-cloud-server", "v0.1.17", "couchbase-cloud-server-v0.1.17-0123456789ab"],
        ["cb", "organization/project/stack", "cb-organization/project/stack-0123456789ab"],
        ["cb", "weird:name*", "cb-weird-name--0123456789ab"],
    ];
    for (const [prefix, middle, want] of names) {
        it(`imageName(${prefix}, ${middle})`, () => {
            const n = imageName(prefix, middle, FP);
            assert.equal(n, want);
            assert.equal(imageNameProblem(n), undefined);
        });
    }
    it("keeps names within 128 characters", () => {
        const n = imageName("couchbase-cloud-server", "s".repeat(200), FP);
        assert.equal(n.length, 128);
        assert.ok(n.endsWith("-0123456789ab"));
    });
    it("two stacks with the same inputs never collide; one stack with two input sets neither", () => {
        const fp2 = "f".repeat(64);
        const all = new Set([imageName("p", "a", FP), imageName("p", "b", FP), imageName("p", "a", fp2), imageName("p", "b", fp2)]);
        assert.equal(all.size, 4);
    });
    it("imageNameProblem", () => {
        assert.match(imageNameProblem("ab") ?? "", /3-128/);
        assert.match(imageNameProblem("a*bc") ?? "", /does not allow/);
    });
    it("buildId is deterministic per stack and fingerprint", () => {
        assert.equal(buildId("dev", FP), buildId("dev", FP));
        assert.notEqual(buildId("dev", FP), buildId("stage", FP));
        assert.match(buildId("dev", FP), /^[0-9a-f]{16}$/);
    });

    const created = new Date("2026-11-25T12:00:00.123Z");
    const exp: [number, string, string, string][] = [
        [72, "dev", "", "2026-11-28T12:00:00Z"],
        [1, "local", "", "2026-11-25T13:00:00Z"],
        [0, "dev", "", "never"],
        [72, "prod", "v0.1.17", "never"],
        [72, "stage", "v0.1.17", "never"],
    ];
    for (const [ttl, env, release, want] of exp) {
        it(`expiresAt(ttl ${ttl}, ${env}, "${release}") = ${want}`, () => assert.equal(expiresAt(created, ttl, env, release), want));
    }

    it("imageTags carries the project's tag scheme and extra tags", () => {
        const tags = imageTags(
            {
                stack: "dev-alice",
                owner: "alice",
                environment: "dev",
                release: "",
                ttlHours: 24,
                extraTags: { Team: "db" },
                couchbaseVersion: "7.6.4",
                agentSha256: "a".repeat(64),
            },
            "couchbase-cloud-server-dev-alice-0123456789ab",
            FP,
            created,
        );
        assert.deepEqual(tags, {
            Team: "db",
            Name: "couchbase-cloud-server-dev-alice-0123456789ab",
            Project: "couchbase-images",
            Stack: "dev-alice",
            Owner: "alice",
            Environment: "dev",
            Fingerprint: FP,
            BuildId: buildId("dev-alice", FP),
            ExpiresAt: "2026-11-26T12:00:00Z",
            ManagedBy: "pulumi",
            CouchbaseVersion: "7.6.4",
            AgentSha256: "a".repeat(64),
        });
    });
    it("imageTags adds Release for release images", () => {
        const tags = imageTags(
            {
                stack: "prod",
                owner: "ci",
                environment: "prod",
                release: "v0.1.17",
                ttlHours: 72,
                extraTags: {},
                couchbaseVersion: "7.6.4",
                agentSha256: "a".repeat(64),
            },
            "n-v0.1.17-0123456789ab",
            FP,
            created,
        );
        assert.equal(tags.Release, "v0.1.17");
        assert.equal(tags.ExpiresAt, "never");
    });
    it("adoptTags selects by project, stack and fingerprint", () => {
        assert.deepEqual(adoptTags("dev", FP), { Project: "couchbase-images", Stack: "dev", Fingerprint: FP });
    });
});
