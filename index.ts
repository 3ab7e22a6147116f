/**
 * Entry point for `pulumi up` with a standard Pulumi install. The program itself is
 * pipeline/program.ts, shared with the Automation API driver (scripts/stack.ts).
 */
import { program } from "./pipeline/program";

const outputs = program();

/** Architecture → region → image id (build region and every copy region), for every architecture built. */
export const amiIdsByArch = outputs.then((o) => o.amiIdsByArch);
/** Architecture → `{imageName, fingerprint, agentSha256, bootTest}` of that architecture's image. */
export const imagesByArch = outputs.then((o) => o.imagesByArch);
/**
 * The outputs below are the amd64 image's, as before architectures existed; absent (undefined)
 * in a stack that does not build amd64.
 */
/** Region → the amd64 image id (build region and every copy region). */
export const amiIds = outputs.then((o) => o.amiIds);
/** Project-relative path of versions/<stack>.json. */
export const versionsFile = outputs.then((o) => o.versionsFile);
/** sha256 of the agent artifact baked into the image. */
export const agentSha256 = outputs.then((o) => o.agentSha256);
/** Image name, the same in every region. */
export const imageName = outputs.then((o) => o.imageName);
/** sha256 of the image's whole input set. */
export const fingerprint = outputs.then((o) => o.fingerprint);
/** The boot test of the image: `{enabled, passed, at, checks}`, or `{enabled: false}`. */
export const bootTest = outputs.then((o) => o.bootTest);
