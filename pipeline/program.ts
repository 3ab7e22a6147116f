/**
 * The one program both drivers run: `index.ts` (`pulumi up` with a standard Pulumi install) and
 * scripts/stack.ts (the Automation API, inline). Config first, one component, outputs last.
 * Runs once per operation; no module top-level side effects.
 */
import * as os from "node:os";

import * as pulumi from "@pulumi/pulumi";

import { agentSourceHash, agentTriggers } from "./agentSources";
import { agentVersion, checkoutBuildId, goVersion, readAgentSources, verifyPrebuiltAgent } from "./agentFiles";
import { AGENT_OUT_DIR, AgentInput, ImagePipeline } from "./component";
import { ConfigError, parseConfig, PipelineConfig } from "./config";

/** The agent's folder, relative to the project root (the working directory of both drivers). */
const AGENT_DIR = "agent";

/** Reads the stack configuration of this project's namespace into a validated object. */
export function readConfig(): PipelineConfig {
    const project = pulumi.getProject();
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(`${project}:`)) raw[key] = value;
    }
    let user: string | undefined;
    try {
        user = os.userInfo().username;
    } catch {
        user = process.env.USER;
    }
    try {
        return parseConfig(raw, { stack: pulumi.getStack(), project, user });
    } catch (e) {
        // A clean message without a stack trace: the error is the user's config, not the program.
        if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
        throw e;
    }
}

/** Resolves how the agent reaches the image, with the program-time checks (sha256, triggers). */
export function resolveAgent(c: PipelineConfig): AgentInput {
    if (c.agent.kind === "prebuilt") {
        try {
            const sha256 = verifyPrebuiltAgent(c.agent.artifact, c.agent.sha256File, {
                artifact: `${c.project}:agentArtifact`,
                sha256File: `${c.project}:agentSha256File`,
            });
            return { kind: "prebuilt", artifact: c.agent.artifact, sha256 };
        } catch (e) {
            throw new pulumi.RunError((e as Error).message);
        }
    }
    return { kind: "build", arch: c.agent.arch, triggers: agentBuildTriggers(c.agent.arch) };
}

/**
 * The agent command's triggers for this checkout: the sources' hash, the build settings and the
 * checkout build id of the folder the command writes to (`outDir`, default the component's).
 */
export function agentBuildTriggers(arch: "amd64" | "arm64", outDir: string = AGENT_OUT_DIR): string[] {
    return agentTriggers(agentSourceHash(readAgentSources(AGENT_DIR)), {
        ldflags: "-X main.Provider=aws",
        platform: `linux/${arch}`,
        goVersion: goVersion(),
        checkout: checkoutBuildId(outDir),
    });
}

/** The Pulumi program. Returns the stack outputs. */
export async function program(): Promise<Record<string, unknown>> {
    const c = readConfig();

    // The validated config is the component's arguments, except how the agent arrives.
    const pipeline = new ImagePipeline("couchbase", { ...c, agent: resolveAgent(c), agentVersion: agentVersion(AGENT_DIR) });

    return {
        amiIds: pipeline.amiIds,
        versionsFile: pipeline.versionsFile,
        agentSha256: pipeline.agentSha256,
        imageName: pipeline.imageName,
        fingerprint: pipeline.fingerprint,
        bootTest: pipeline.bootTestResult,
    };
}
