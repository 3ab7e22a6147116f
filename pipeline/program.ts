/**
 * The one program both drivers run: `index.ts` (`pulumi up` with a standard Pulumi install) and
 * scripts/stack.ts (the Automation API, inline). Config first, one component, outputs last.
 * Runs once per operation; no module top-level side effects.
 */
import * as os from "node:os";

import * as pulumi from "@pulumi/pulumi";

import { agentSourceHash, agentTriggers } from "./agentSources";
import { agentVersion, checkoutBuildId, goVersion, readAgentSources, verifyPrebuiltAgent } from "./agentFiles";
import { archKey, agentOutDir } from "./architectures";
import { AGENT_OUT_DIR, AgentInput, ImagePipeline } from "./component";
import { ConfigError, parseConfig, PipelineConfig, type AgentSource } from "./config";

/** The agent's folder, relative to the project root (the working directory of both drivers). */
const AGENT_DIR = "agent";

/**
 * The literal strings a secret config value holds: the value itself and, when it is JSON (an
 * object or array such as `extraTags` set with `--path`), every string and number inside it. A
 * key is secret as a whole (Pulumi marks the top-level key), so every value under it counts.
 */
export function secretLiterals(value: string): string[] {
    const out = new Set<string>([value]);
    const walk = (v: unknown): void => {
        if (typeof v === "string") out.add(v);
        else if (typeof v === "number") out.add(String(v));
        else if (Array.isArray(v)) v.forEach(walk);
        else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
    };
    try {
        walk(JSON.parse(value));
    } catch {
        // not JSON: the value itself
    }
    return [...out].filter((s) => s !== "");
}

/**
 * Whether the engine marked a config key (`project:key`) as secret. The SDK keeps the list it got
 * from the language host (`PULUMI_CONFIG_SECRET_KEYS`) behind an internal function; read it there,
 * else from that variable.
 */
function isSecretKey(key: string): boolean {
    // An internal module of @pulumi/pulumi (no `exports` map, so reachable by path only).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const rc = require("@pulumi/pulumi/runtime/config") as { isConfigSecret?: (k: string) => boolean };
    if (typeof rc.isConfigSecret === "function") return rc.isConfigSecret(key) || rc.isConfigSecret(key.replace(":", ":config:"));
    try {
        const keys: unknown = JSON.parse(process.env.PULUMI_CONFIG_SECRET_KEYS ?? "[]");
        return Array.isArray(keys) && (keys.includes(key) || keys.includes(key.replace(":", ":config:")));
    } catch {
        return false;
    }
}

/**
 * Reads the stack configuration of this project's namespace into a validated object, with the
 * literal values of the keys set as secrets (`secretValues`, sorted), which the component keeps
 * secret and the providers mask.
 */
export function readConfig(): PipelineConfig & { secretValues: string[] } {
    const project = pulumi.getProject();
    const raw: Record<string, unknown> = {};
    const secretValues = new Set<string>();
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (!key.startsWith(`${project}:`)) continue;
        raw[key] = value;
        if (isSecretKey(key)) for (const s of secretLiterals(value)) secretValues.add(s);
    }
    let user: string | undefined;
    try {
        user = os.userInfo().username;
    } catch {
        user = process.env.USER;
    }
    try {
        return { ...parseConfig(raw, { stack: pulumi.getStack(), project, user }), secretValues: [...secretValues].sort() };
    } catch (e) {
        // A clean message without a stack trace: the error is the user's config, not the program.
        if (e instanceof ConfigError) throw new pulumi.RunError(e.message);
        throw e;
    }
}

/**
 * Resolves how one architecture's agent reaches its image, with the program-time checks (sha256
 * against its file, naming that architecture's keys; triggers of that architecture's build).
 */
export function resolveAgent(c: Pick<PipelineConfig, "project">, agent: AgentSource): AgentInput {
    if (agent.kind === "prebuilt") {
        try {
            const sha256 = verifyPrebuiltAgent(agent.artifact, agent.sha256File, {
                artifact: `${c.project}:${archKey("agentArtifact", agent.arch)}`,
                sha256File: `${c.project}:${archKey("agentSha256File", agent.arch)}`,
            });
            return { kind: "prebuilt", artifact: agent.artifact, sha256 };
        } catch (e) {
            throw new pulumi.RunError((e as Error).message);
        }
    }
    return { kind: "build", arch: agent.arch, triggers: agentBuildTriggers(agent.arch, agentOutDir(agent.arch)) };
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

    // The validated config is the component's arguments, except how each agent arrives.
    const architectures = c.architectures.map((a) => ({ ...a, agent: resolveAgent(c, a.agent) }));
    const pipeline = new ImagePipeline("couchbase", { ...c, architectures, agentVersion: agentVersion(AGENT_DIR) });

    // Per architecture: arch → region → image id, and arch → the image's name, fingerprint, agent
    // and boot test. The single-image outputs of before stay for the amd64 image when it is built.
    const built = Object.entries(pipeline.architectures);
    const imagesByArch = pulumi.all(
        Object.fromEntries(
            built.map(([arch, b]) => [
                arch,
                pulumi.output({
                    imageName: b.image.imageName,
                    fingerprint: b.image.fingerprint,
                    agentSha256: b.agentSha256,
                    bootTest: b.bootTestResult,
                }),
            ]),
        ),
    );
    const amd64 = pipeline.architectures.amd64;
    return {
        amiIdsByArch: pipeline.amiIdsByArch,
        imagesByArch,
        versionsFile: pipeline.versionsFile,
        ...(amd64
            ? {
                  amiIds: amd64.amiIds,
                  agentSha256: amd64.agentSha256,
                  imageName: amd64.image.imageName,
                  fingerprint: amd64.image.fingerprint,
                  bootTest: amd64.bootTestResult,
              }
            : {}),
    };
}
