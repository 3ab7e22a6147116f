/** Shared inputs for the packer helper tests. */
import { applyDefaults } from "../../../providers/packer/validate";
import type { ResolvedImageInputs } from "../../../providers/packer/types";

/** A sound input set; `over` replaces fields. */
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
        providerVersion: "1.0.0",
        ...over,
    });
}
