/**
 * Couchbase Server packages for the `download` package source: where Couchbase publishes each
 * `.deb`, and the sha256 a build must find before it installs one. Pure data and functions (the
 * image provider's `check` and the program's config validation both use them).
 *
 * The table holds Couchbase Server **Enterprise** only. Source of its values, as the shared data
 * file `couchbase-server-enterprise-debs.tsv` names it: the sha256 of Couchbase Server Enterprise
 * .deb packages, as pinned by Couchbase's official Docker image definitions (repository
 * couchbase/docker, enterprise/couchbase-server/<version>/Dockerfile), which take them from the
 * <package>.sha256 files Couchbase publishes beside each package. URL of a package:
 *   https://packages.couchbase.com/releases/<version>/couchbase-server-enterprise_<version>-linux_<arch>.deb
 * Collected 2026-12-01 from stored public copies; check a new row against the live .sha256 file
 * before relying on it.
 *
 * Adding a version: one row per architecture, `[version, arch, sha256]`, with the sha256 read from
 * `<package URL>.sha256` (packageSha256Url) over a trusted network, and checked against the
 * matching couchbase/docker Dockerfile when one exists. Nothing else changes.
 */

/** CPU architectures Couchbase publishes Linux packages for, as Debian names them. */
export const PACKAGE_ARCHES = ["amd64", "arm64"] as const;
export type PackageArch = (typeof PACKAGE_ARCHES)[number];

/** Where Couchbase publishes its release packages. */
export const COUCHBASE_RELEASES_URL = "https://packages.couchbase.com/releases";

/** The project file holding the table (named in messages). */
export const TABLE_FILE = "providers/packer/couchbasePackages.ts";

/**
 * sha256 of `couchbase-server-enterprise_<version>-linux_<arch>.deb`: `[version, arch, sha256]`.
 * From Couchbase's official Docker image definitions (repository couchbase/docker,
 * enterprise/couchbase-server/<version>/Dockerfile), which take them from the <package>.sha256
 * files Couchbase publishes beside each package.
 */
export const ENTERPRISE_DEB_SHA256: readonly (readonly [string, PackageArch, string])[] = [
    ["7.6.0", "amd64", "fe94419fff0c1b9176292b44ab8715fd0e8e48872e76330cc6ec6f3fa07b3966"],
    ["7.6.0", "arm64", "1512430a602c67d53886502d758bf95b25b9faab066d08292a8eb496e9c08492"],
    ["7.6.1", "amd64", "12f1a671c28f12d946b9f39fb5cf7fe7c32e51fe30e0045d423b25627367be54"],
    ["7.6.1", "arm64", "785f9d1f17ce6cde779f361adf0a0ed5f0bdaa78a1a4ab1c70b289d109b59709"],
    ["7.6.2", "amd64", "05fd37139aab8f3538ddfcf04eec97bd27654a5279468dce79dfad0f605bd784"],
    ["7.6.2", "arm64", "c5697f6f2bfc21bc696f27d86e6f01b92e23ccbd3213e524c910c10d7bcab3fb"],
    ["7.6.3", "amd64", "882df2178c657ddbfdc7e532d32252ee5367403b0472aec2699433634a98b88c"],
    ["7.6.3", "arm64", "24c783f316cb6cb368da2a80d657a652b1efb4d03e30b8ea540481008cf68191"],
    ["7.6.4", "amd64", "9616bba1b213231493b4d17ed677f0dc26575e0d7f09234e6d4a6e0f6b1358ad"],
    ["7.6.4", "arm64", "362376a07ccdc1d604ef2d48229d853bed9340dbd033abd8a0174819dfa76b6e"],
    ["7.6.5", "amd64", "9c2f2a01cecf862c210af5a7bfe38fd71fe087c52e1cc168119d34bf7aa79761"],
    ["7.6.5", "arm64", "d162fb1d2e7acf151fdbf302c80f79622b7df67bf27ab85d83c40cc7e82a2ad1"],
    ["7.6.6", "amd64", "43992488e154a87119a7ffb738de92b3364f5b1bfcbdd958e757e87762076ed7"],
    ["7.6.6", "arm64", "21b348be14c30e39658e9378ed62750806a20946677866d5859ac426df0e6486"],
    ["7.6.7", "amd64", "7bd09a72ec12c4dde2b78cf5354db814b58a9723ba3ba95b370d5d2320807a94"],
    ["7.6.7", "arm64", "8baaddc8bedc7223db7995514996d87388b23fe6f39fecac7008ee8800be64f7"],
    ["7.6.8", "amd64", "e1437c7e61aa1ab28b00604d9c1ce0e280fa4f4025f34ea3aaf6a975b8bdb3bf"],
    ["7.6.8", "arm64", "4594fe0dfe33e2674f3f800de605856bf7e2a5bb15e34f8bc44cc382bf8351a6"],
    ["7.6.9", "amd64", "51cd89e7db43bf5858d6b98e50c43e6217694d814fddabafdf5e798bf8460e43"],
    ["7.6.9", "arm64", "ce070178588d34a08a792a63f11200c383b7c6d885f337101d13992850c282e5"],
    ["7.6.10", "amd64", "80938b3c86eb4cf412d9eb80b6494d96d32ce90555dc8536e0fb44a884f453ef"],
    ["7.6.10", "arm64", "680d6833172db7691aa0f9562aa50e044214f97cd8a785b410e828a840ce38bc"],
    ["7.6.11", "amd64", "a9dc8eb353e7e05c22a60d31330e9712954905012dd32eb4cea0fdbfb1bdbaab"],
    ["7.6.11", "arm64", "802192fbfb596eb954f8de21597d83d26e9af60ff03e911f0210e441d9be5f19"],
    ["8.0.0", "amd64", "5cf4f59906fa378b42ea58c3268febe222a1723387d472a853c6a0e4542df0e0"],
    ["8.0.0", "arm64", "cd5879dbc2a3b5776e19fd8e340727376c9aa38be01bdc1c710e538a68d8f7ad"],
    ["8.0.1", "amd64", "194504d728e6725068a15a7e19e7b60685a3fe4c70394112e132805445174128"],
    ["8.0.1", "arm64", "dba9dbeb2ff3928e62ebecf154353e1574e50e4e2548664ea25cb52bc2028cc7"],
    ["8.0.2", "amd64", "d08569edff129295eaf4faebc9d2c98b5d152226c88e5e7e8a1550965d7567f0"],
    ["8.0.2", "arm64", "12eb71693ff0258c02ad4995e4ea591be3f1553fc73b8ba3fc5681dff0d0ba7c"],
];

/** The package's file name: `couchbase-server-<edition>_<version>-linux_<arch>.deb`. */
export function packageFileName(version: string, edition: string, arch: string): string {
    return `couchbase-server-${edition}_${version}-linux_${arch}.deb`;
}

/**
 * Couchbase's release URL of the package:
 * `https://packages.couchbase.com/releases/<version>/couchbase-server-<edition>_<version>-linux_<arch>.deb`
 * (the pattern the shared data file gives for Enterprise; Community packages are published under
 * the same pattern with `community`).
 */
export function packageUrl(version: string, edition: string, arch: string): string {
    return `${COUCHBASE_RELEASES_URL}/${version}/${packageFileName(version, edition, arch)}`;
}

/** Where Couchbase publishes the package's sha256: beside it, `<package URL>.sha256`. */
export function packageSha256Url(version: string, edition: string, arch: string): string {
    return `${packageUrl(version, edition, arch)}.sha256`;
}

/** The table's sha256 for the package, or undefined when the table lacks it (any Community package). */
export function tableSha256(version: string, edition: string, arch: string): string | undefined {
    if (edition !== "enterprise") return undefined;
    return ENTERPRISE_DEB_SHA256.find(([v, a]) => v === version && a === arch)?.[2];
}

/** The sha256 a download must match, and where it came from; or why there is none. */
export type ExpectedSha256 = { sha256: string; from: "table" | "pin" } | { problem: string };

/**
 * The sha256 the downloaded package must have: the table's, or the stack's pin where the table
 * lacks the package. A pin that disagrees with the table is refused (one of them is wrong, and
 * the table names its source); a package neither has is refused with where Couchbase publishes
 * the value.
 *
 * @param stackPin the stack's pin for exactly this version and architecture (`""` = none);
 *   already trimmed and lowercased, and checked to be 64 hex digits by the caller.
 */
export function expectedSha256(version: string, edition: string, arch: string, stackPin: string): ExpectedSha256 {
    const table = tableSha256(version, edition, arch);
    const published = packageSha256Url(version, edition, arch);
    if (table !== undefined && stackPin !== "" && stackPin !== table)
        return {
            problem:
                `the pinned sha256 ${stackPin} of Couchbase Server ${edition} ${version} (${arch}) differs from the project's table (${TABLE_FILE}), ` +
                `which has ${table} from ${published}: remove the pin, or, if Couchbase republished the package, correct the table's row`,
        };
    if (table !== undefined) return { sha256: table, from: "table" };
    if (stackPin !== "") return { sha256: stackPin, from: "pin" };
    const lacks =
        edition === "enterprise"
            ? "is not in the project's table"
            : "has no entry in the project's table (it holds Enterprise packages only)";
    return {
        problem:
            `Couchbase Server ${edition} ${version} for ${arch} ${lacks} (${TABLE_FILE}), so the download cannot be checked: ` +
            `pin its sha256, which Couchbase publishes at ${published} (read it over a trusted network), or add the row to the table`,
    };
}

/** A stack's pins: version → architecture → sha256. */
export type PackagePins = Record<string, Record<string, string>>;

/** The stack's pin for one version and architecture, or `""`. */
export function stackPin(pins: PackagePins, version: string, arch: string): string {
    return Object.prototype.hasOwnProperty.call(pins, version) && Object.prototype.hasOwnProperty.call(pins[version], arch)
        ? pins[version][arch]
        : "";
}
