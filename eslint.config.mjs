// The lint gate of `npm test` (scripts/test.sh, stage "lint"): eslint's and typescript-eslint's
// recommended type-checked rules, plus Pulumi's own rules (an Output in a template literal prints
// "Calling [toString] on an [Output<T>] is not supported" instead of its value). Formatting is
// prettier's job (.prettierrc.json), so no stylistic rule is enabled here.
import js from "@eslint/js";
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "dist/", ".build/", "agent/", "tools/"] },
    js.configs.recommended,
    tseslint.configs.recommendedTypeChecked,
    {
        files: ["**/*.ts"],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            // A dynamic provider's methods and Pulumi's interfaces return promises; an `async`
            // method without `await` is how such a method returns one, not a mistake.
            "@typescript-eslint/require-await": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" }],
        },
    },
    {
        // A dynamic provider is serialized with its closure: its methods load modules with
        // `require()` when they run instead of capturing the program's imports (docs/provider.md).
        files: ["providers/**/*.ts", "pipeline/versionsFile.ts"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // Tests read JSON (state files, Packer manifests, engine events, mock calls) and assert on
        // it field by field; typing each of those documents would add nothing the assertion checks.
        // They also load modules when the order matters (after setMocks, as pulumi's testing-unit-ts
        // does; a file the test has just written; a fresh copy of an SDK module).
        files: ["test/**/*.ts", "bench/**/*.ts"],
        rules: {
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-return": "off",
            "@typescript-eslint/no-unsafe-argument": "off",
        },
    },
    { files: ["**/*.mjs", "**/*.js"], extends: [tseslint.configs.disableTypeChecked] },
);
