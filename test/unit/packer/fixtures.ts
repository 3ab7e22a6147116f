/** Shared inputs for the packer helper tests. */
import { applyDefaults } from "../../../providers/packer/validate";
import type { ResolvedImageInputs } from "../../../providers/packer/types";

/** Test-only stand-ins for the repository pins: well-formed, obviously not Couchbase's real values. */
export const TEST_RELEASE_SHA256 = "0123456789abcdef".repeat(4);
export const TEST_KEY_FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567";

/**
 * A sound input set (repository mode, with test pins, so the repository tests keep their mode now
 * that download is the default; downloadInputs is the download-mode one); `over` replaces fields.
 */
export function goodInputs(over: Partial<ResolvedImageInputs> = {}): ResolvedImageInputs {
    return applyDefaults({
        region: "eu-west-1",
        copyRegions: ["us-east-1", "ap-southeast-2"],
        couchbaseVersion: "7.6.4",
        agentArtifact: ".build/agent/dp-agent.gz",
        agentSha256: "a".repeat(64),
        stack: "dev-alice",
        environment: "dev",
        owner: "alice",
        sshCidrs: ["203.0.113.4/32"],
        couchbasePackageSource: "repository",
        couchbaseReleaseSha256: TEST_RELEASE_SHA256,
        couchbaseKeyFingerprints: [TEST_KEY_FINGERPRINT],
        providerVersion: "1.0.0",
        ...over,
    });
}

/** A sound input set in download mode (the default: no repository pins, the table's sha256). */
export function downloadInputs(over: Partial<ResolvedImageInputs> = {}): ResolvedImageInputs {
    return goodInputs({ couchbasePackageSource: "download", couchbaseReleaseSha256: "", couchbaseKeyFingerprints: [], ...over });
}
