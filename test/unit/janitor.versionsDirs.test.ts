import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { stackConfigFileNames, versionsDirs, type ConfigFile } from "../../janitor/configFiles";
import { protectedImages, versionsFolders } from "../../janitor/sources";

const ROOT = path.resolve(__dirname, "../..");
const P = "couchbase-images";

/** A project file declaring versionsDir the way Pulumi.yaml does, with `decl` as its body. */
const projectFile = (decl: string, extra = ""): ConfigFile => ({
    name: "Pulumi.yaml",
    text: `name: ${P}\nruntime:\n  name: nodejs\n  options:\n    typescript: true\ndescription: >-\n  versionsDir: not a key, a description\nconfig:\n  buildRegion:\n    type: string\n    default: us-east-1\n${decl}${extra}`,
});
const stack = (name: string, config: string, top = ""): ConfigFile => ({ name: `Pulumi.${name}.yaml`, text: `${top}config:\n${config}` });

describe("janitor/configFiles: which versions folders the config points to", () => {
    const dirs = (project: ConfigFile | undefined, stacks: ConfigFile[]) =>
        versionsDirs(project, stacks, P).map((d) => [d.dir, d.from.join(" ")]);

    const cases: { name: string; project?: ConfigFile; stacks?: ConfigFile[]; want: string[][] }[] = [
        { name: "no config files: versions/ only", want: [["versions", "always"]] },
        {
            name: "the project default, declared with type and description",
            project: projectFile(
                "  versionsDir:\n    type: string\n    description: >-\n      Folder where versions/<stack>.json is written.\n    default: out/versions\n",
            ),
            want: [
                ["versions", "always"],
                ["out/versions", "Pulumi.yaml:12"],
            ],
        },
        {
            name: "the project default equal to versions/ adds nothing",
            project: projectFile("  versionsDir:\n    type: string\n    default: versions\n"),
            want: [["versions", "always Pulumi.yaml:12"]],
        },
        {
            name: "shorthand project default",
            project: projectFile("  versionsDir: 'pins'\n"),
            want: [
                ["versions", "always"],
                ["pins", "Pulumi.yaml:12"],
            ],
        },
        {
            name: "namespaced key in the project file, value attribute",
            project: projectFile(`  ${P}:versionsDir:\n    value: "pins/"\n`),
            want: [
                ["versions", "always"],
                ["pins", "Pulumi.yaml:12"],
            ],
        },
        {
            name: "every stack file's setting, in each key form, normalized and merged",
            stacks: [
                stack("a", `  ${P}:environment: dev\n  ${P}:versionsDir: .build/a/versions # the e2e layout\n`),
                stack("b", `  versionsDir: "./.build/a/versions/"\n`),
                stack("c", `  ${P}:config:versionsDir: 'shared'\n`),
                stack("d", `  other-project:versionsDir: elsewhere\n  ${P}:versionsDirs: typo\n`),
            ],
            want: [
                ["versions", "always"],
                [".build/a/versions", "Pulumi.a.yaml:3 Pulumi.b.yaml:2"],
                ["shared", "Pulumi.c.yaml:2"],
            ],
        },
        {
            name: "other keys' nested, flow, quoted, secret and multi-line values are skipped",
            stacks: [
                stack(
                    "dev",
                    `  ${P}:copyRegions:\n    - us-west-2\n  ${P}:sshCidrs:\n  - 203.0.113.7/32\n  ${P}:extraTags: {"a": "b: c"}\n  ${P}:owner:\n    secure: v1:abc\n` +
                        `  ${P}:release: |\n    versionsDir: inside a block scalar\n  "${P}:versionsDir": "x\\u002Fy" # quoted key, escaped slash\n`,
                    "# comment\n---\nencryptionsalt: v1:x\n",
                ),
            ],
            want: [
                ["versions", "always"],
                ["x/y", "Pulumi.dev.yaml:14"],
            ],
        },
        {
            name: "an empty setting is unset (the program refuses it; nothing is written there)",
            stacks: [stack("e", `  ${P}:versionsDir: ""\n`)],
            want: [["versions", "always"]],
        },
        { name: "an empty config block", stacks: [{ name: "Pulumi.e.yaml", text: "config: {}\n" }], want: [["versions", "always"]] },
    ];
    for (const c of cases) it(c.name, () => assert.deepEqual(dirs(c.project, c.stacks ?? []), c.want));

    const errors: { name: string; file: ConfigFile; want: RegExp }[] = [
        {
            name: "a folder above the project root",
            file: stack("dev", `  ${P}:versionsDir: ../pins\n`),
            want: /^Error: Pulumi\.dev\.yaml:2: couchbase-images:versionsDir "\.\.\/pins" leaves the project/,
        },
        {
            name: "a folder that escapes after normalizing",
            file: stack("dev", `  ${P}:versionsDir: a/../../pins\n`),
            want: /Pulumi\.dev\.yaml:2: .*leaves the project/,
        },
        { name: "an absolute folder", file: stack("dev", `  ${P}:versionsDir: /srv/pins\n`), want: /Pulumi\.dev\.yaml:2: .*is absolute/ },
        {
            name: "a home-relative folder",
            file: stack("dev", `  versionsDir: ~/pins\n`),
            want: /Pulumi\.dev\.yaml:2: versionsDir .*is absolute/,
        },
        { name: "a secret", file: stack("dev", `  ${P}:versionsDir:\n    secure: v1:abc\n`), want: /Pulumi\.dev\.yaml:2: .* is a secret/ },
        { name: "an object", file: stack("dev", `  ${P}:versionsDir:\n    default: x\n`), want: /Pulumi\.dev\.yaml:2: .* is an object/ },
        { name: "a list", file: stack("dev", `  ${P}:versionsDir:\n    - x\n`), want: /Pulumi\.dev\.yaml:2: .* is a list/ },
        { name: "no value", file: stack("dev", `  ${P}:versionsDir:\n`), want: /Pulumi\.dev\.yaml:2: .* has no value/ },
        { name: "an alias", file: stack("dev", `  ${P}:versionsDir: *pins\n`), want: /Pulumi\.dev\.yaml:2: .*cannot read "\*pins"/ },
        { name: "a block scalar", file: stack("dev", `  ${P}:versionsDir: >-\n    pins\n`), want: /Pulumi\.dev\.yaml:2: .*block scalars/ },
        {
            name: "a multi-line plain scalar",
            file: stack("dev", `  ${P}:versionsDir: pins\n    more\n`),
            want: /Pulumi\.dev\.yaml:2: .*continues on line 3/,
        },
        {
            name: "an unclosed quote",
            file: stack("dev", `  ${P}:versionsDir: "pins\n    more"\n`),
            want: /Pulumi\.dev\.yaml:2: .*must close on the same line/,
        },
        {
            name: "a key line it cannot read",
            file: stack("dev", `  ${P}:owner: me\n  ? complex\n`),
            want: /^Error: Pulumi\.dev\.yaml:3: cannot read "\? complex"/,
        },
        { name: "a merge key", file: stack("dev", `  <<: *defaults\n`), want: /^Error: Pulumi\.dev\.yaml:2: cannot read "<<: \*defaults"/ },
        {
            name: "bad indentation",
            file: stack("dev", `    ${P}:owner: me\n  ${P}:versionsDir: x\n`),
            want: /^Error: Pulumi\.dev\.yaml:3: is indented less/,
        },
        {
            name: "a flow mapping as config",
            file: { name: "Pulumi.dev.yaml", text: `config: {"${P}:versionsDir": "x"}\n` },
            want: /^Error: Pulumi\.dev\.yaml:1: config: .* is not a block mapping/,
        },
        {
            name: "a second YAML document",
            file: { name: "Pulumi.dev.yaml", text: "config: {}\n---\nconfig: {}\n" },
            want: /^Error: Pulumi\.dev\.yaml:2: .*only one plain YAML document/,
        },
        {
            name: "ESC environments",
            file: stack("dev", `  ${P}:owner: me\n`, "environment:\n  - team/images\n"),
            want: /^Error: Pulumi\.dev\.yaml:1: imports Pulumi ESC environments/,
        },
        { name: "not YAML at all", file: { name: "Pulumi.dev.yaml", text: "{\n" }, want: /^Error: Pulumi\.dev\.yaml:1: cannot read "\{"/ },
    ];
    for (const c of errors)
        it(`refuses ${c.name}, naming the file and line`, () => assert.throws(() => versionsDirs(undefined, [c.file], P), c.want));

    it("refuses a project file that moves the stack files, or its old `config: <folder>` form", () => {
        assert.throws(
            () => versionsDirs({ name: "Pulumi.yaml", text: `name: ${P}\nstackConfigDir: stacks\n` }, [], P),
            /^Error: Pulumi\.yaml:2: stackConfigDir moves the stack files/,
        );
        assert.throws(
            () => versionsDirs({ name: "Pulumi.yaml", text: `name: ${P}\nconfig: stacks\n` }, [], P),
            /^Error: Pulumi\.yaml:2: config: "stacks" .*old form of stackConfigDir/,
        );
    });
    it("the project file's name is the namespace", () => {
        const project = { name: "Pulumi.yaml", text: "name: other\n" };
        assert.deepEqual(
            versionsDirs(project, [stack("dev", `  other:versionsDir: mine\n  ${P}:versionsDir: not-mine\n`)], P).map((d) => d.dir),
            ["versions", "mine"],
        );
    });
    it("stack files are Pulumi.<stack>.yaml", () => {
        assert.deepEqual(
            stackConfigFileNames([
                "Pulumi.yaml",
                "Pulumi.dev.yaml",
                "Pulumi.local-e2e-1.yaml",
                "Pulumi.dev.yaml.bak",
                "pulumi.x.yaml",
                "README.md",
            ]),
            ["Pulumi.dev.yaml", "Pulumi.local-e2e-1.yaml"],
        );
    });
    it("reads the repository's own committed config files: versions/ only", () => {
        const read = (name: string) => ({ name, text: fs.readFileSync(path.join(ROOT, name), "utf8") });
        assert.deepEqual(
            versionsDirs(read("Pulumi.yaml"), ["Pulumi.dev.yaml", "Pulumi.local.yaml"].map(read), P).map((d) => d.dir),
            ["versions"],
        );
    });
});

describe("janitor/sources: versions folders on disk", () => {
    let repo: string;
    beforeEach(() => {
        repo = fs.mkdtempSync(path.join(os.tmpdir(), "janitor-vdirs-"));
    });
    afterEach(() => fs.rmSync(repo, { recursive: true, force: true }));
    const write = (rel: string, text: string) => {
        fs.mkdirSync(path.dirname(path.join(repo, rel)), { recursive: true });
        fs.writeFileSync(path.join(repo, rel), text);
    };

    it("protects images named only in a stack's custom versionsDir; a missing folder is empty", () => {
        write("Pulumi.yaml", `name: ${P}\nconfig:\n  versionsDir:\n    type: string\n    default: versions\n`);
        write("Pulumi.ci.yaml", `config:\n  ${P}:versionsDir: out/versions\n`);
        write("Pulumi.gone.yaml", `config:\n  ${P}:versionsDir: never/written\n`);
        write("out/versions/ci.json", JSON.stringify({ images: { "us-east-1": "ami-0ccccccccccccccc1" } }));
        write("versions/dev.json", JSON.stringify({ images: { "us-east-1": "ami-0ddddddddddddddd1" } }));
        assert.deepEqual(
            versionsFolders(repo).map((f) => f.dir),
            ["versions", "never/written", "out/versions"],
        );
        assert.deepEqual([...protectedImages(repo)].sort(), [
            ["ami-0ccccccccccccccc1", path.join("out", "versions", "ci.json")],
            ["ami-0ddddddddddddddd1", path.join("versions", "dev.json")],
        ]);
    });
    it("an unparsable stack file stops the run, naming the file", () => {
        write("Pulumi.bad.yaml", "config:\n  - oops\n");
        assert.throws(
            () => protectedImages(repo),
            new RegExp(`^Error: cannot tell which versions folders to protect \\(in ${repo}\\): Pulumi\\.bad\\.yaml:2: `),
        );
    });
    it("an unreadable stack file stops the run, naming the file", () => {
        fs.mkdirSync(path.join(repo, "Pulumi.dir.yaml")); // reading a directory fails as an unreadable file does (root ignores modes)
        assert.throws(() => protectedImages(repo), new RegExp(`cannot read ${path.join(repo, "Pulumi.dir.yaml")}: EISDIR`));
    });
    it("a versions file in a custom folder that is not JSON stops the run", () => {
        write("Pulumi.ci.yaml", `config:\n  ${P}:versionsDir: out\n`);
        write("out/ci.json", "{");
        assert.throws(() => protectedImages(repo), /cannot read versions file .*out\/ci\.json/);
    });
});
