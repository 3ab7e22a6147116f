/**
 * The config table (pipeline/inputs.ts) is the one declaration of every key: these tests fail when
 * Pulumi.yaml or a doc table differs from it (any type, default or description), when a layer that
 * derives from it drifts (the image resource's defaults, the rebuild column against the fields
 * that are fingerprinted), and they run each declared rule through the program's parser.
 *
 * Proof limit: the rules are exercised through parseConfig (which runs validate.ts); the provider's
 * `check` running the same validate.ts is shown in test/unit/provider/provider.test.ts.
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import { ConfigError, parseConfig } from "../../pipeline/config";
import { CONFIG_KEYS, INPUTS, RULES, type ConfigKey, type InputSpec } from "../../pipeline/inputs";
import { firstSentence, generatedFiles, rebuildSentence, renderPulumiConfig } from "../../pipeline/inputsDocs";
import { BUILD_FIELDS, DEFAULTS as IMAGE_DEFAULTS } from "../../providers/packer/types";
import { applyDefaults } from "../../providers/packer/validate";

const ROOT = path.resolve(__dirname, "../..");
const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const ctx = { stack: "dev-alice", project: "couchbase-images", user: "alice" };
const spec = (k: ConfigKey): InputSpec => INPUTS[k];

function problems(raw: Record<string, unknown>): string[] {
    try {
        parseConfig({ sshCidrs: ["203.0.113.7/32"], ...raw }, ctx);
        return [];
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
}

describe("config table (pipeline/inputs.ts)", () => {
    describe("generated files match it (npm run gen:config rewrites them)", () => {
        const files = generatedFiles(read);
        for (const [file, text] of Object.entries(files)) {
            it(`${file}`, () => {
                assert.equal(read(file), text, `${file} differs from pipeline/inputs.ts: run npm run gen:config`);
            });
        }
    });

    it("Pulumi.yaml's config block reads back as exactly the table: every key's type, description and default", () => {
        // A line scanner of the generated form (folded descriptions), independent of the renderer's code paths.
        const text = read("Pulumi.yaml").slice(read("Pulumi.yaml").search(/^config:\s*$/m));
        const blocks = text.split(/^ {2}(?=[A-Za-z0-9]+:\s*$)/m).slice(1);
        assert.deepEqual(
            blocks.map((b) => b.split(":")[0]),
            CONFIG_KEYS,
        );
        for (const b of blocks) {
            const key = b.split(":")[0] as ConfigKey;
            const s = spec(key);
            assert.equal(/^ {4}type: (\w+)$/m.exec(b)?.[1], s.type, `${key}: type`);
            const desc = /^ {4}description: >-\n((?: {6}.*\n)+)/m.exec(b)?.[1] ?? "";
            assert.equal(
                desc
                    .split("\n")
                    .filter((l) => l !== "")
                    .map((l) => l.slice(6))
                    .join(" "),
                `${s.description} ${rebuildSentence(s.rebuild)}`,
                `${key}: description`,
            );
            const d = /^ {4}default: (.*)$/m.exec(b)?.[1] ?? "";
            const value: unknown = /^[[{"]|^-?\d+$|^(true|false)$/.test(d) ? JSON.parse(d) : d;
            assert.deepEqual(value, s.default, `${key}: default`);
        }
    });

    it("every description is one paragraph, and every default has the declared type", () => {
        for (const k of CONFIG_KEYS) {
            const s = spec(k);
            assert.doesNotMatch(s.description, /\n| {2}|^\s|\s$/, `${k}: one paragraph, single spaces`);
            assert.match(s.description, /[.)]$/, `${k}: ends a sentence`);
            const d = s.default;
            const ok =
                s.type === "string"
                    ? typeof d === "string"
                    : s.type === "integer"
                      ? Number.isInteger(d)
                      : s.type === "boolean"
                        ? typeof d === "boolean"
                        : s.type === "array"
                          ? Array.isArray(d) && d.every((x) => typeof x === "string")
                          : typeof d === "object" && d !== null && !Array.isArray(d);
            assert.ok(ok, `${k}: default ${JSON.stringify(d)} is not a ${s.type}`);
        }
    });

    it("README's summary is the description's first sentence (e.g. and i.e. do not end it)", () => {
        assert.equal(firstSentence("EC2 endpoint (e.g. the emulator). Empty = AWS."), "EC2 endpoint (e.g. the emulator).");
        assert.equal(firstSentence("One. two."), "One. two.");
        assert.equal(firstSentence("No stop"), "No stop");
    });

    it("the image resource's default of a shared input is the key's (one value: instanceType is t3.large everywhere)", () => {
        const image = IMAGE_DEFAULTS as unknown as Record<string, unknown>;
        const checked: string[] = [];
        for (const k of CONFIG_KEYS) {
            const p = spec(k).image;
            if (!p) continue;
            const d =
                p === "baseImage"
                    ? IMAGE_DEFAULTS.baseImage.nameFilter
                    : p === "baseImage.owners"
                      ? IMAGE_DEFAULTS.baseImage.owners
                      : image[p];
            if (d === undefined || p === "architecture" || p === "couchbasePackageSha256" || p === "kmsKeyId") continue; // no image default, or another shape (a map per region, a pin per version)
            assert.deepEqual(d, spec(k).default, `${k} → image ${p}`);
            checked.push(k);
        }
        assert.ok(checked.includes("instanceType") && checked.includes("rootVolumeSize"), checked.join(","));
        assert.equal(IMAGE_DEFAULTS.instanceType, "t3.large");
    });

    it("the rebuild column agrees with the fingerprinted fields (BUILD_FIELDS)", () => {
        for (const k of CONFIG_KEYS) {
            const p = spec(k).image;
            if (!p) continue;
            const field = p.split(".")[0] as (typeof BUILD_FIELDS)[number];
            // The agent artifact's path is not fingerprinted; its sha256 is.
            const rebuilds = BUILD_FIELDS.includes(field) || k === "agentArtifact";
            assert.equal(spec(k).rebuild.startsWith("yes"), rebuilds, `${k} (${p}): rebuild "${spec(k).rebuild}"`);
        }
    });

    describe("each declared rule, through the program's parser, names the key", () => {
        const cases: [ConfigKey, unknown, unknown][] = [
            // key, a value the rule accepts, a value it refuses
            ["couchbaseVersion", "7.6.3", "7.6.3-1234"],
            ["couchbaseEdition", "community", "gold"],
            ["environment", "stage", "qa"],
            ["instanceType", "m7i.xlarge", "large"],
            ["arm64InstanceType", "m7g.large", "graviton"],
            ["rootVolumeSize", 64, 4],
            ["rootVolumeSize", 16384, 16385],
            ["rootDeviceName", "/dev/xvda", "sda1"],
        ];
        for (const [key, good, bad] of cases) {
            it(`${key}: ${JSON.stringify(good)} passes, ${JSON.stringify(bad)} fails`, () => {
                const extra = key === "arm64InstanceType" ? { architectures: ["arm64"] } : {};
                const community = key === "couchbaseEdition" ? { couchbasePackageSha256: { "8.0.0": { amd64: "a".repeat(64) } } } : {};
                assert.deepEqual(problems({ [key]: good, ...extra, ...community }), []);
                const p = problems({ [key]: bad, ...extra });
                assert.ok(p.length >= 1 && p.every((x) => x.startsWith(`couchbase-images:${key}: `)), p.join("\n"));
            });
        }
        it('0 and "" leave the root volume to the template (no problem, nothing passed)', () => {
            assert.deepEqual(problems({ rootVolumeSize: 0, rootDeviceName: "" }), []);
        });
        it("all problems at once: two bad keys, two lines", () => {
            const p = problems({ rootVolumeSize: 7, rootDeviceName: "xvda" });
            assert.deepEqual(
                p.map((x) => x.split(":").slice(0, 2).join(":")),
                ["couchbase-images:rootVolumeSize", "couchbase-images:rootDeviceName"],
            );
            assert.match(p[0], /give whole GiB from 8 to 16384, or 0 for the template's default/);
            assert.match(p[1], /use \/dev\/<name>, e\.g\. \/dev\/xvda/);
        });
    });

    it("the one version rule: the template, the versions schema and the table agree (X.Y.Z, no build suffix)", () => {
        const hcl = read("images/aws/couchbase-cloud.pkr.hcl");
        assert.match(hcl, /condition\s*=\s*can\(regex\("\^\[0-9\]\+\\\\\.\[0-9\]\+\\\\\.\[0-9\]\+\$", var\.couchbase_version\)\)/);
        const schema = JSON.parse(read("versions/schema.json")) as { $defs?: unknown };
        const patterns = JSON.stringify(schema).match(/"pattern":"\^\\\\d\+\\\\\.\\\\d\+\\\\\.\\\\d\+[^"]*"/g) ?? [];
        assert.deepEqual(patterns, [`"pattern":${JSON.stringify(RULES.couchbaseVersion.pattern.source)}`]);
        assert.equal(RULES.couchbaseVersion.pattern.source, "^\\d+\\.\\d+\\.\\d+$");
    });

    it("docs/provider.md's input table names every image input, with the default the resource applies", () => {
        const text = read("docs/provider.md");
        const table = text.slice(text.indexOf("| Input | Default | Meaning | On change |"));
        const rows = table.slice(0, table.search(/\n\n/)).split("\n").slice(2);
        const named = new Map<string, string>();
        for (const r of rows) {
            const [names, def] = r.split(" | ");
            for (const m of names.matchAll(/`([A-Za-z0-9]+)`/g)) named.set(m[1], def);
        }
        const inputs = Object.keys(applyDefaults({})).filter((k) => k !== "providerVersion" && k !== "resourceUrn");
        assert.deepEqual(
            inputs.filter((k) => !named.has(k)),
            [],
            "inputs missing from docs/provider.md",
        );
        const defaults = IMAGE_DEFAULTS as unknown as Record<string, unknown>;
        for (const [k, d] of Object.entries(defaults)) {
            if (typeof d === "object" || !named.has(k) || /, /.test(k)) continue;
            const cellText = named.get(k) ?? "";
            const literal = typeof d === "string" ? (d === "" ? '`""`' : `\`${d}\``) : `\`${JSON.stringify(d)}\``;
            if (
                k === "couchbaseReleaseUrl" ||
                k === "sshPort" ||
                k === "sshHost" ||
                k === "kmsKeyId" ||
                k === "subnetId" ||
                k === "vpcId" ||
                k === "ec2Endpoint"
            )
                continue; // described in words
            assert.ok(cellText.startsWith(literal), `docs/provider.md ${k}: default ${cellText}, the resource's is ${literal}`);
        }
    });

    it("renders every key once, in the table's order", () => {
        const keys = [...renderPulumiConfig().matchAll(/^ {2}([A-Za-z0-9]+):$/gm)].map((m) => m[1]);
        assert.deepEqual(keys, CONFIG_KEYS);
    });
});
