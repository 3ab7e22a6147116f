/** The janitor's command line, parsed into plain options. Pure; table-tested. */
import { parseDuration } from "./plan";

export interface JanitorOptions {
    /** Explicit regions, or "all" for every enabled region (DescribeRegions). */
    regions: string[] | "all";
    olderThanMs?: number;
    longestBuildMs: number;
    stack?: string;
    delete: boolean;
    endpoint?: string;
    pricePerGiBMonth: number;
    backendUrl?: string;
    liveStacks?: string[];
    namePrefix?: string;
    tempPrefixes: string[];
    /** Repository root: Pulumi.yaml, Pulumi.<stack>.yaml, the versions folders they name and the local file backend .pulumi-state/ are read from here. */
    repo?: string;
    json: boolean;
    help: boolean;
}

export const USAGE = `Usage: npm run janitor -- [options]

Finds this project's leftovers (Project=couchbase-images) and, with --delete, removes them.
Dry run by default.

  --regions r1,r2          regions to sweep (default: $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1)
  --all-regions            every region enabled for the account (DescribeRegions)
  --older-than DUR         also delete images older than DUR (e.g. 24h, 7d) even before ExpiresAt
  --longest-build DUR      builder instances, temporary groups/key pairs and orphan snapshots older
                           than this are leftovers (default 2h)
  --stack NAME             only objects of stack NAME (its images are eligible even if it still exists)
  --delete                 delete (default: dry run, print the plan)
  --endpoint URL           EC2 endpoint override (moto: http://127.0.0.1:5000)
  --price-per-gib-month N  snapshot storage price for the savings estimate (default 0.05)
  --backend-url URL        Pulumi backend whose stacks are live (file://… read directly; others via
                           \`pulumi stack ls\`); default $PULUMI_BACKEND_URL
  --live-stacks a,b        stacks that still exist (instead of asking a non-file backend)
  --name-prefix P          only images whose name starts with P
  --temp-prefix P          another name prefix of temporary key pairs/groups (packer_ and packer- always count: Packer's default names and the key pairs the image provider names)
  --repo DIR               repository root (Pulumi*.yaml, versions folders, .pulumi-state/); default: this repo
  --json                   print the plan as JSON instead of a table
  -h, --help               this text

Never touches: Environment=prod objects, images named in a versions file (versions/*.json and the
*.json in every versionsDir of Pulumi.yaml and the Pulumi.<stack>.yaml files), images of stacks
that still exist (unless --stack names it), anything without Project=couchbase-images.
Exit code: 0 ok, 1 a deletion failed, 2 bad usage or the scan failed.`;

/** The region of the environment: $AWS_REGION, $AWS_DEFAULT_REGION or us-east-1. */
export function defaultRegion(env: Readonly<Record<string, string | undefined>>): string {
    return env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";
}

function list(v: string): string[] {
    return v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
}

/** Parses argv (without node and script). Throws with a readable message on bad usage. */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): JanitorOptions {
    const o: JanitorOptions = {
        regions: [],
        longestBuildMs: parseDuration("2h"),
        delete: false,
        pricePerGiBMonth: 0.05,
        tempPrefixes: ["packer_", "packer-"],
        json: false,
        help: false,
    };
    let allRegions = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const eq = a.indexOf("=");
        const flag = a.startsWith("--") && eq > 0 ? a.slice(0, eq) : a;
        const inline = a.startsWith("--") && eq > 0 ? a.slice(eq + 1) : undefined;
        const value = (): string => {
            if (inline !== undefined) return inline;
            const v = argv[++i];
            if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
            return v;
        };
        switch (flag) {
            case "--regions":
                o.regions = list(value());
                break;
            case "--all-regions":
                allRegions = true;
                break;
            case "--older-than":
                o.olderThanMs = parseDuration(value());
                break;
            case "--longest-build":
                o.longestBuildMs = parseDuration(value());
                break;
            case "--stack":
                o.stack = value();
                break;
            case "--delete":
                o.delete = true;
                break;
            case "--endpoint":
                o.endpoint = value();
                break;
            case "--price-per-gib-month": {
                const v = value();
                const n = Number(v);
                if (!Number.isFinite(n) || n < 0 || v.trim() === "") throw new Error(`--price-per-gib-month: not a price: "${v}"`);
                o.pricePerGiBMonth = n;
                break;
            }
            case "--backend-url":
                o.backendUrl = value();
                break;
            case "--live-stacks":
                o.liveStacks = list(value());
                break;
            case "--name-prefix":
                o.namePrefix = value();
                break;
            case "--temp-prefix":
                o.tempPrefixes.push(value());
                break;
            case "--repo":
                o.repo = value();
                break;
            case "--json":
                o.json = true;
                break;
            case "-h":
            case "--help":
                o.help = true;
                break;
            default:
                throw new Error(`unknown argument: ${a}`);
        }
    }
    if (allRegions && o.regions.length) throw new Error("--regions and --all-regions exclude each other");
    if (allRegions) o.regions = "all";
    else if (o.regions.length === 0) o.regions = [defaultRegion(env)];
    if (o.backendUrl === undefined && env.PULUMI_BACKEND_URL) o.backendUrl = env.PULUMI_BACKEND_URL;
    return o;
}
