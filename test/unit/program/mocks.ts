/**
 * Pulumi mocks for the program tests: records every registered resource and every call, answers
 * with realistic outputs per type, and refuses calls (the program must make none).
 *
 * `setMocks` is process-global and mocha runs every test file in one process, so each program test
 * file calls {@link installMocks} in its own `before` (never at import time) and clears the
 * recorder in `beforeEach`. The component creates resources only when constructed, so importing it
 * before the mocks are installed is safe.
 */
import * as fs from "node:fs";

import * as pulumi from "@pulumi/pulumi";

export const FAKE_IMAGE_ID = "ami-0123456789abcdef0";
export const FAKE_FINGERPRINT = "f".repeat(12) + "0".repeat(52);
export const FAKE_SHA = "a".repeat(64);
/** The arm64 agent command's sha256. */
export const FAKE_ARM64_SHA = "b".repeat(64);
export const FAKE_IMAGE_NAME = "couchbase-server-dev-alice-ffffffffffff";
/** What the arm64 image (inputs.architecture arm64) gets instead. */
export const FAKE_ARM64_IMAGE_ID = "ami-0fedcba9876543210";
export const FAKE_ARM64_FINGERPRINT = "e".repeat(12) + "1".repeat(52);
export const FAKE_ARM64_IMAGE_NAME = "couchbase-server-arm64-dev-alice-eeeeeeeeeeee";

export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    provider?: string;
    custom: boolean;
    /** URNs of the resources it depends on (`dependsOn` and its inputs' resources), as the engine gets them. */
    dependencies: string[];
    /** The `deleteBeforeReplace` option of its registration. */
    deleteBeforeReplace: boolean;
}

export const recorded: Recorded[] = [];
/** The dependencies of the registration being mocked right now (see installMocks). */
let pendingDependencies: string[] = [];
let pendingDeleteBeforeReplace = false;
export const calls: string[] = [];

/** Deterministic fake copy id per region (and source image, when not the amd64 one): `ami-` + 17 hex digits. */
export function copyIdFor(region: string, source: string = FAKE_IMAGE_ID): string {
    let h = 0;
    for (const ch of source === FAKE_IMAGE_ID ? region : `${region}/${source}`) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    return `ami-${h.toString(16).padStart(17, "0").slice(-17)}`;
}

/** Installs the mocks (not a preview, so applies run with known values). */
export async function installMocks(stack = "dev-alice"): Promise<void> {
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs): { id: string; state: Record<string, unknown> } {
                recorded.push({
                    type: args.type,
                    name: args.name,
                    inputs: args.inputs,
                    provider: args.provider,
                    custom: args.custom ?? true,
                    dependencies: pendingDependencies,
                    deleteBeforeReplace: pendingDeleteBeforeReplace,
                });
                switch (args.type) {
                    case "pulumi-nodejs:dynamic/packer:Image": {
                        const arm = args.inputs.architecture === "arm64";
                        const [id, name, fingerprint] = arm
                            ? [FAKE_ARM64_IMAGE_ID, FAKE_ARM64_IMAGE_NAME, FAKE_ARM64_FINGERPRINT]
                            : [FAKE_IMAGE_ID, FAKE_IMAGE_NAME, FAKE_FINGERPRINT];
                        return {
                            id,
                            state: {
                                ...args.inputs,
                                imageId: id,
                                imageName: name,
                                snapshotIds: ["snap-0123456789abcdef0"],
                                fingerprint,
                                packerVersion: "1.16.0",
                                pluginVersion: "1.8.2",
                                createdAt: "2026-11-25T12:00:00Z",
                                tags: { Project: "couchbase-images", Stack: stack, Name: name, Fingerprint: fingerprint },
                            },
                        };
                    }
                    case "pulumi-nodejs:dynamic/packer:BootTest":
                        return {
                            id: `${String(args.inputs.imageId)}-boottest`,
                            state: {
                                ...args.inputs,
                                passed: true,
                                testedAt: "2026-11-25T12:10:00Z",
                                checks: [
                                    { name: "system-running", status: "passed", saw: "running" },
                                    { name: "thp", status: "skipped", saw: "read-only here" },
                                ],
                                instanceId: "i-0123456789abcdef0",
                                checksHash: "c".repeat(64),
                                testLog: ".build/logs/x.log",
                            },
                        };
                    case "command:local:Command":
                        return {
                            id: `${args.name}-id`,
                            state: {
                                ...args.inputs,
                                stdout: `build.sh: done\n${(args.inputs.environment as Record<string, string> | undefined)?.DP_AGENT_ARCH === "arm64" ? FAKE_ARM64_SHA : FAKE_SHA}\n`,
                                stderr: "",
                            },
                        };
                    case "aws:ec2/amiCopy:AmiCopy":
                        return { id: copyIdFor(String(args.inputs.region), String(args.inputs.sourceAmiId)), state: { ...args.inputs } };
                    default:
                        return { id: `${args.name}-id`, state: { ...args.inputs } };
                }
            },
            call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
                calls.push(args.token);
                throw new Error(`Mock not implemented: ${args.token} (the program must call no functions)`);
            },
        },
        "couchbase-images",
        stack,
        false,
    );
    // The mocks' newResource is not told a registration's dependencies: read them off the request
    // (the mock monitor calls newResource synchronously at the start of registerResource).
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource(req: { getDependenciesList(): string[]; getDeletebeforereplace(): boolean }, cb: unknown): unknown;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, cb) => {
        pendingDependencies = req.getDependenciesList();
        pendingDeleteBeforeReplace = req.getDeletebeforereplace();
        try {
            return register(req, cb);
        } finally {
            pendingDependencies = [];
            pendingDeleteBeforeReplace = false;
        }
    };
}

/** Clears the recorder (call in `beforeEach`). */
export function resetRecorder(): void {
    recorded.length = 0;
    calls.length = 0;
}

/**
 * The hooks of a describe block that runs the program under the mocks with a prebuilt agent:
 * mocks for `stack` installed once; before each test the recorder cleared and `artifact` (in
 * `dir`) written with `content` and its `.sha256` file; afterwards the config and `dir` removed.
 */
export function useProgramMocks(o: { stack: string; dir: string; artifact: string; content: string; sha256: string }): void {
    before(async () => {
        await installMocks(o.stack);
        fs.mkdirSync(o.dir, { recursive: true });
    });
    beforeEach(() => {
        resetRecorder();
        fs.writeFileSync(o.artifact, o.content);
        fs.writeFileSync(`${o.artifact}.sha256`, `${o.sha256}  dp-agent.gz\n`);
    });
    after(() => {
        pulumi.runtime.setAllConfig({});
        fs.rmSync(o.dir, { recursive: true, force: true });
    });
}

/** Resolves an Output's value (non-preview mocks: always known). */
export function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply(resolve));
}

/** Lets pending registrations settle so the recorder is complete. */
export async function settle(...outputs: pulumi.Output<unknown>[]): Promise<void> {
    await Promise.all(outputs.map((o) => promiseOf(o)));
    await new Promise((r) => setTimeout(r, 50));
}

/** Recorded custom resources of one type. */
export function ofType(type: string): Recorded[] {
    return recorded.filter((r) => r.type === type);
}
