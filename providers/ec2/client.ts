/**
 * The one place that makes an EC2 client.
 *
 * Called from inside the image provider's methods (a Pulumi dynamic provider, whose code is
 * serialized into state), from the janitor and from the tests. So: the SDK is loaded with a plain
 * `require` inside the function ({@link ec2Sdk}), nothing native lives at module scope, and credentials are
 * never arguments: they come from the SDK's default chain (environment, profile, SSO, instance role).
 */
import type { EC2Client } from "@aws-sdk/client-ec2";

/**
 * Loads the EC2 SDK inside a function. A plain CommonJS `require`, not `await import()`: TypeScript
 * compiles `import()` to its `__importStar` helper, which has hidden state and which Pulumi's closure
 * serializer stops capturing once tslib is loaded in the process ("__importStar is not defined" in
 * the provider host). Serialized as `require("@aws-sdk/client-ec2")`, resolved by the provider host.
 */
export function ec2Sdk(): typeof import("@aws-sdk/client-ec2") {
    return require("@aws-sdk/client-ec2") as typeof import("@aws-sdk/client-ec2");
}

/**
 * Returns an EC2 client for `region`. `endpoint` overrides the service endpoint (moto:
 * `http://127.0.0.1:<port>`); when omitted the SDK still honours `AWS_ENDPOINT_URL_EC2`.
 */
export async function ec2Client(region: string, endpoint?: string): Promise<EC2Client> {
    const sdk = ec2Sdk();
    return new sdk.EC2Client({
        region,
        ...(endpoint ? { endpoint } : {}),
        // The SDK's own retries cover transient network errors; our withRetry covers the EC2
        // codes that need longer waits (InUse, DependencyViolation) and heavy throttling.
        maxAttempts: 5,
        retryMode: "adaptive",
    });
}
