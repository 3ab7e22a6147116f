/**
 * The Packer template's variables stay in HCL (images/aws/couchbase-cloud.pkr.hcl); this test keeps
 * the provider's var file (providers/packer/argv.ts `packerVariables`) and the stack config in step
 * with them:
 * - every variable the provider passes is declared, with a value of a compatible type;
 * - every declared variable is set by something: an input a config key reaches (pipeline/inputs.ts
 *   `image`), an input the program sets itself (the agent, the stack), or a per-build value — so no
 *   template variable is left out of reach (root_volume_size and root_device_name were, before the
 *   rootVolumeSize and rootDeviceName keys).
 *
 * Which input sets which variable is found by changing each input in turn and looking at what
 * changed in the var file, not from a list kept by hand. Proof limit: types are compared to the
 * HCL type names (string, number, bool, list(string), map(string)); `packer validate` with real
 * values runs in the provider's check (test/integration/provider-validate.test.ts).
 */
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

import { IMAGE_PROPERTY_KEYS } from "../../../pipeline/inputs";
import { declaredVariables, packerVariables, type BuildValues } from "../../../providers/packer/argv";
import type { ResolvedImageInputs } from "../../../providers/packer/types";
import { downloadInputs, goodInputs } from "./fixtures";

const TEMPLATE = path.resolve(__dirname, "../../../images/aws/couchbase-cloud.pkr.hcl");

/** name → HCL type of every `variable` block of the template. */
function templateTypes(hcl: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const m of hcl.matchAll(/^variable\s+"([A-Za-z0-9_-]+)"\s*\{([\s\S]*?)^\}/gm)) {
        const t = /^\s*type\s*=\s*(.+?)\s*$/m.exec(m[2]);
        out[m[1]] = t ? t[1] : "any";
    }
    return out;
}

function compatible(hclType: string, v: unknown): boolean {
    switch (hclType) {
        case "string":
            return typeof v === "string";
        case "number":
            return typeof v === "number" && Number.isFinite(v);
        case "bool":
            return typeof v === "boolean";
        case "list(string)":
            return Array.isArray(v) && v.every((x) => typeof x === "string");
        case "map(string)":
            return typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string");
        default:
            return false;
    }
}

const BUILD: BuildValues = {
    imageName: "cb-dev-alice-0123456789ab",
    tags: { Stack: "dev-alice" },
    manifestPath: ".build/packer/x/manifest.json",
    temporaryKeyPairName: "packer-abc",
};

/** Every optional input set (so nothing is left to a template default), in both package modes and both base image forms. */
const FULL: Partial<ResolvedImageInputs> = {
    rootVolumeSize: 64,
    rootDeviceName: "/dev/xvda",
    kmsKeyId: "alias/images",
    subnetId: "subnet-0123456789abcdef0",
    vpcId: "vpc-0123456789abcdef0",
    associatePublicIpAddress: true,
    sshInterface: "private_ip",
    ec2Endpoint: "http://127.0.0.1:5000",
    emulator: true,
    sshHost: "127.0.0.1",
    sshPort: 2222,
};
const BASES: ResolvedImageInputs[] = [
    downloadInputs({ ...FULL, couchbasePackageSha256: "b".repeat(64) }),
    goodInputs({ ...FULL, baseImage: { id: "ami-0123456789abcdef0" } }),
];

/** The same value, changed (same type). */
function changed(v: unknown): unknown {
    if (typeof v === "string") return `${v}9`;
    if (typeof v === "number") return v + 1;
    if (typeof v === "boolean") return !v;
    if (Array.isArray(v)) return [...(v as unknown[]), "x"];
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        return typeof o.id === "string"
            ? { id: `${o.id}9` }
            : { ...o, nameFilter: `${String(o.nameFilter)}9`, owners: [...((o.owners as string[]) ?? []), "self"] };
    }
    return v;
}

/** variable → what changes it: `input:<field>` or `build:<field>`. */
function sources(): Record<string, Set<string>> {
    const out: Record<string, Set<string>> = {};
    const note = (before: Record<string, unknown>, after: Record<string, unknown>, what: string) => {
        for (const k of new Set([...Object.keys(before), ...Object.keys(after)]))
            if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) (out[k] ??= new Set()).add(what);
    };
    for (const base of BASES) {
        const vars = packerVariables(base, BUILD);
        for (const f of Object.keys(base) as (keyof ResolvedImageInputs)[])
            note(vars, packerVariables({ ...base, [f]: changed(base[f]) }, BUILD), `input:${f}`);
        for (const f of Object.keys(BUILD) as (keyof BuildValues)[])
            note(vars, packerVariables(base, { ...BUILD, [f]: changed(BUILD[f]) }), `build:${f}`);
    }
    return out;
}

/** Image inputs the program sets itself, not from a config key of the same concept. */
const PROGRAM_SET = new Set(["agentArtifact", "agentSha256", "agentUnit", "stack"]);

describe("Packer template variables ↔ the provider's var file ↔ config keys", () => {
    const hcl = fs.readFileSync(TEMPLATE, "utf8");
    const types = templateTypes(hcl);

    it("reads the template's variables with their types (the same names declaredVariables finds)", () => {
        assert.deepEqual(Object.keys(types).sort(), declaredVariables([hcl]));
        assert.equal(types.root_volume_size, "number");
        assert.equal(types.tags, "map(string)");
    });

    it("every variable the provider passes is declared, with a value of a compatible type", () => {
        for (const base of BASES) {
            for (const [k, v] of Object.entries(packerVariables(base, BUILD))) {
                assert.ok(k in types, `the provider passes ${k}, which the template does not declare`);
                assert.ok(compatible(types[k], v), `${k}: ${JSON.stringify(v)} is not a ${types[k]}`);
            }
        }
    });

    it("every declared variable is set by a config key's input, a program-set input or a per-build value", () => {
        const by = sources();
        const reachable = new Set(Object.keys(IMAGE_PROPERTY_KEYS).map((p) => p.split(".")[0]));
        const unreached: string[] = [];
        for (const name of Object.keys(types)) {
            const s = [...(by[name] ?? [])];
            const ok = s.some((x) => x.startsWith("build:") || reachable.has(x.slice(6)) || PROGRAM_SET.has(x.slice(6)));
            if (!ok) unreached.push(`${name} (set by: ${s.join(", ") || "nothing"})`);
        }
        assert.deepEqual(unreached, []);
    });

    it("the root volume: rootVolumeSize and rootDeviceName reach root_volume_size and root_device_name, and are left to the template when unset", () => {
        const by = sources();
        assert.deepEqual([...by.root_volume_size], ["input:rootVolumeSize"]);
        assert.deepEqual([...by.root_device_name], ["input:rootDeviceName"]);
        assert.equal(IMAGE_PROPERTY_KEYS.rootVolumeSize, "rootVolumeSize");
        assert.equal(IMAGE_PROPERTY_KEYS.rootDeviceName, "rootDeviceName");
        const unset = packerVariables(downloadInputs(), BUILD);
        assert.ok(!("root_volume_size" in unset) && !("root_device_name" in unset), JSON.stringify(unset));
    });
});
