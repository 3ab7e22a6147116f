/**
 * What differs per CPU architecture of the images: the config keys of each, the defaults, the
 * names of each architecture's resources and image, the agent's build folder, and the instance
 * type families that run it. Pure: no I/O, no Pulumi runtime.
 *
 * amd64 keeps every name it had when a stack built one architecture (its resources, its config
 * keys, its agent folder), so a stack that adds no architecture changes nothing; arm64's names
 * carry `arm64`.
 */

export const ARCHES = ["amd64", "arm64"] as const;
export type Arch = (typeof ARCHES)[number];

/** The tag naming an image's architecture, on the image, its snapshots, the builder, the boot test and the copies. */
export const ARCHITECTURE_TAG = "Architecture";

/** Config keys that hold one architecture's value: amd64 reads the bare key, arm64 `arm64<Key>`. */
export const PER_ARCH_KEYS = ["instanceType", "baseImageId", "baseImageNameFilter", "agentArtifact", "agentSha256File"] as const;
export type PerArchKey = (typeof PER_ARCH_KEYS)[number];

/** The config key holding `key`'s value for `arch`: `instanceType` (amd64), `arm64InstanceType` (arm64). */
export function archKey(key: PerArchKey, arch: Arch): string {
    return arch === "amd64" ? key : `arm64${key[0].toUpperCase()}${key.slice(1)}`;
}

/**
 * Name of one of the component's children for `arch`: `<name>-<part>` for amd64 (the names of
 * one-architecture stacks, kept so their resources are not replaced), `<name>-arm64-<part>` for arm64.
 */
export function childName(name: string, arch: Arch, part: string): string {
    return arch === "amd64" ? `${name}-${part}` : `${name}-${arch}-${part}`;
}

/**
 * The image name prefix of `arch`'s image: `<prefix>-<arch>`, except amd64 in a stack that builds
 * amd64 alone, which keeps `<prefix>` (the name its image has had: no rebuild). So both images of a
 * two-architecture stack say their architecture in their name; adding arm64 to a stack rebuilds
 * its amd64 image once, under its new name.
 */
export function imageNamePrefix(prefix: string, arch: Arch, arches: readonly Arch[]): string {
    return arch === "amd64" && arches.length === 1 ? prefix : `${prefix}-${arch}`;
}

/** Where the agent command of `arch` builds `dp-agent.gz` (project-relative, git-ignored). */
export function agentOutDir(arch: Arch): string {
    return arch === "amd64" ? ".build/agent" : `.build/agent-${arch}`;
}

/**
 * The architecture an EC2 instance type runs, by its family (the part before the dot): Graviton
 * families carry a `g` right after the generation digit (t4g, m7g, c7gn, r8g, x2gd, im4gn, g5g),
 * plus the first Graviton family a1; every other family is x86_64 (amd64). Mac families (macOS
 * only) are not build hosts here and count as amd64.
 */
export function instanceTypeArch(instanceType: string): Arch {
    const family = instanceType.split(".")[0].toLowerCase();
    return family === "a1" || /^[a-z]+\d+g[a-z-]*$/.test(family) ? "arm64" : "amd64";
}

/**
 * On the local emulator (`emulator`), the port of `arch`'s sandbox build host: every build reaches
 * 127.0.0.1 (`sshHost`), and the sandbox build host (scripts/local/hostd.ts) runs one lane per
 * architecture, each on its own port, so that both architectures build at once: amd64 on `sshPort`,
 * arm64 on `sshPort + 1`. On AWS each instance has its own address and every one listens on `sshPort`.
 */
export function emulatorSshPort(sshPort: number, arch: Arch): number {
    return arch === "amd64" ? sshPort : sshPort + 1;
}

/**
 * Units that fail on the local emulator only because `arch` runs under qemu user-mode emulation
 * (verified by test/images/boot-arm64.sh: each fails "at step CREDENTIALS" under qemu-user, and
 * none in the amd64 boot); the local boot test names them as emulation limits. systemd-sysctl
 * too: the booted instance's network namespace lets its condition pass, and it fails the same way
 * (seen in test/e2e/parallel-architectures.test.ts, where amd64's passes). Never used on AWS,
 * where arm64 runs on real Graviton hardware.
 */
export const EMULATOR_EMULATION_LIMITS: Readonly<Record<Arch, readonly string[]>> = {
    amd64: [],
    arm64: ["systemd-sysctl.service", "systemd-sysusers.service", "systemd-tmpfiles-setup.service", "systemd-tmpfiles-setup-dev.service"],
};
