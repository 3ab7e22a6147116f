/**
 * Tags on an AmiCopy's snapshots, as a resource (the AWS provider's AmiCopy tags only the image).
 * The provider is in ./copySnapshotTagsProvider.ts, required only when the program registers one,
 * so a stack without copy regions never loads the EC2 SDK. Type token
 * `pulumi-nodejs:dynamic/copy:SnapshotTags`.
 */
import * as pulumi from "@pulumi/pulumi";

import { providerText } from "./providerText";

/** Arguments of {@link CopySnapshotTags}. */
export interface CopySnapshotTagsArgs {
    /** Region of the copy. A change re-tags. */
    region: pulumi.Input<string>;
    /** Image id of the copy (`ami-…`): its snapshots are the ones tagged. A change re-tags. */
    imageId: pulumi.Input<string>;
    /** Tags to put on the snapshots: the copy's own tags. A change re-tags. */
    tags: pulumi.Input<Record<string, pulumi.Input<string>>>;
    /** EC2 endpoint override (the emulator, `http://127.0.0.1:<port>`); empty or absent = AWS. */
    ec2Endpoint?: pulumi.Input<string>;
}

/** The copy's snapshots, tagged like the copy. */
export class CopySnapshotTags extends pulumi.CustomResource {
    /** Snapshot ids that were tagged. */
    declare readonly snapshotIds: pulumi.Output<string[]>;
    /** Tags put on them. */
    declare readonly tags: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: CopySnapshotTagsArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            "pulumi-nodejs:dynamic/copy:SnapshotTags",
            name,
            {
                ec2Endpoint: "",
                ...args,
                __provider: providerText(
                    "copy-snapshot-tags",
                    () => (require("./copySnapshotTagsProvider") as typeof import("./copySnapshotTagsProvider")).PROVIDER,
                ),
                snapshotIds: undefined,
            },
            opts,
        );
    }
}
