/**
 * The boot test of a built image as a Pulumi resource (`pulumi-nodejs:dynamic/packer:BootTest`):
 * a dynamic resource whose provider (providers/bootTestProvider.ts) runs the boot test template
 * (images/aws/boot-test/boot-test.pkr.hcl) with Packer: one instance launched from exactly that
 * image, checked once booted (boot-check.sh), terminated with its temporary key pair and security
 * group. `create` fails on any failed check, so whatever depends on the test (the copies, the
 * versions file) is never made for an image that did not pass. Nothing stays in the cloud: the
 * resource is the record of a passed test, replaced (tested again) when the image or the checks
 * change. Like PackerImage, its provider text is remembered on disk (providers/providerText.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { ownUrn } from "./packer";
import { providerText } from "./providerText";
import type { BootCheck } from "./bootTest/report";

/** Version of this provider's behaviour, stored in every test's inputs and outputs (as for the image). */
export const BOOT_TEST_PROVIDER_VERSION = "1.0.0";

/** The resource's type token. */
export const BOOT_TEST_TYPE = "pulumi-nodejs:dynamic/packer:BootTest";

export type { BootCheck };

/**
 * Arguments of {@link BootTest}. Paths are relative to the project root. "Re-test" means a change
 * replaces the resource, so the image is tested again; "update" means the new value is stored
 * without testing again (it only matters while a test runs).
 */
export interface BootTestArgs {
    /**
     * Folder with `boot-test.pkr.hcl` and `boot-check.sh`. Defaults to `images/aws/boot-test`.
     * It sits in the image template's folder, whose template declares the launch variables the
     * test shares with the builder (providers/bootTest/launchVariables.ts). Its files and those
     * declarations are hashed (`checksHash`): an edit, a new file or a mode change re-tests the
     * image (the image itself is not rebuilt: the folder is not part of its fingerprint).
     */
    templateDir?: pulumi.Input<string>;
    /** The image to test (`ami-…`), normally the image resource's `imageId`. Required. Re-test. */
    imageId: pulumi.Input<string>;
    /** Its name; the test instance is named `<imageName>-boot-test`. Required. Update. */
    imageName: pulumi.Input<string>;
    /** Region of the image (the build region). Required. Re-test. */
    region: pulumi.Input<string>;
    /** Instance type of the test instance. Defaults to the builder's default (`t3.large`, pipeline/inputs.ts). Update. */
    instanceType?: pulumi.Input<string>;
    /** Pulumi stack name (tag `Stack`). Required. Update. */
    stack: pulumi.Input<string>;
    /** Owner tag. Required. Update. */
    owner: pulumi.Input<string>;
    /** `dev`, `stage`, `prod` or `local` (tag `Environment`). Required. Update. */
    environment: pulumi.Input<string>;
    /** Release name (tag `Release`). Defaults to none. Update. */
    release?: pulumi.Input<string>;
    /** Extra tags on the test instance, its volumes, key pair and security group. Defaults to none. Update. */
    extraTags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /**
     * Literal values of config keys set as secrets, to be masked in every line the provider
     * prints or logs; pass them as `pulumi.secret(...)` so state holds them encrypted. Defaults
     * to none. No change (neither rebuild nor update).
     */
    secretValues?: pulumi.Input<pulumi.Input<string>[]>;
    /** Subnet for the test instance, as for the builder. Defaults to the default VPC's. Update. */
    subnetId?: pulumi.Input<string>;
    /** VPC for the test instance, as for the builder. Defaults to the default VPC. Update. */
    vpcId?: pulumi.Input<string>;
    /** A public IP for the test instance even where its subnet maps none, as for the builder. Defaults to false. Update. */
    associatePublicIpAddress?: pulumi.Input<boolean>;
    /** Which instance address SSH goes to, as for the builder (`private_ip` from inside the VPC). Defaults to `""`. Update. */
    sshInterface?: pulumi.Input<string>;
    /** CIDRs allowed to SSH to the test instance (never `0.0.0.0/0` or `::/0`). Required. Update. */
    sshCidrs: pulumi.Input<pulumi.Input<string>[]>;
    /** EC2 endpoint override (the local emulator). Defaults to AWS. Update. */
    ec2Endpoint?: pulumi.Input<string>;
    /** Emulator mode: Packer skips credential, region and metadata validation. Defaults to false. Update. */
    emulator?: pulumi.Input<boolean>;
    /** SSH host override (local: `127.0.0.1`). Defaults to the instance's address. Update. */
    sshHost?: pulumi.Input<string>;
    /** SSH port override. Defaults to 22. Update. */
    sshPort?: pulumi.Input<number>;
    /** SSH user of the image (the base image's). Defaults to `ubuntu`. Update. */
    sshUsername?: pulumi.Input<string>;
    /** The provider's own deadline for the whole test, minutes (then SIGINT, cleanup, SIGKILL). Defaults to 30. Update. */
    timeoutMinutes?: pulumi.Input<number>;
    /**
     * Units that fail only because of the platform's emulation (an arm64 image booted under
     * user-mode qemu), passed to the check, which reports them as such instead of as the image's
     * failures. Defaults to none (always none on real instances). Re-test.
     */
    emulationLimits?: pulumi.Input<pulumi.Input<string>[]>;
}

/** One boot test of one image. Type token: `pulumi-nodejs:dynamic/packer:BootTest`. */
export class BootTest extends pulumi.CustomResource {
    /** The image that was tested. */
    declare readonly imageId: pulumi.Output<string>;
    /** Always true: a test that did not pass fails `create` and never becomes a resource. */
    declare readonly passed: pulumi.Output<boolean>;
    /** ISO-8601 time the checks ran (the report's `checkedAt`). */
    declare readonly testedAt: pulumi.Output<string>;
    /** Every check: name, status (`passed` or `skipped`), what it saw. */
    declare readonly checks: pulumi.Output<BootCheck[]>;
    /** The instance the test launched (terminated since). */
    declare readonly instanceId: pulumi.Output<string>;
    /** sha256 over the boot test folder's files. */
    declare readonly checksHash: pulumi.Output<string>;
    /** Project-relative path of the test's log (the report is appended to it). */
    declare readonly testLog: pulumi.Output<string>;
    /** Provider behaviour version that last touched this resource. */
    declare readonly providerVersion: pulumi.Output<string>;

    constructor(name: string, args: BootTestArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            BOOT_TEST_TYPE,
            name,
            {
                ...args,
                __provider: providerText(
                    "boot-test",
                    () => (require("./bootTestProvider") as typeof import("./bootTestProvider")).PROVIDER,
                ),
                providerVersion: BOOT_TEST_PROVIDER_VERSION,
                resourceUrn: ownUrn(name, BOOT_TEST_TYPE, opts?.parent),
                passed: undefined,
                testedAt: undefined,
                checks: undefined,
                instanceId: undefined,
                checksHash: undefined,
                testLog: undefined,
            },
            opts,
        );
    }
}
