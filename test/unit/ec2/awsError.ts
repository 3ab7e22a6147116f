/** An error shaped like the AWS SDK v3's service errors: the EC2 code as `name` and `Code`. */
export function awsError(code: string): Error {
    const e = new Error(`${code}: simulated`) as Error & { Code: string };
    e.name = code;
    e.Code = code;
    return e;
}
