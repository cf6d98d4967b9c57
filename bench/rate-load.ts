/**
 * A fixed-rate HTTP load in a process of its own (so it shares no event loop with what it measures):
 *   rate-load.ts <base url> <paths file (JSON array)> <requests per second> <seconds> <headers JSON>
 * Cycles through the paths at the given overall rate over 10 keep-alive connections and prints one JSON
 * line: the rate reached, latency percentiles, status counts. A fixed rate (not "as fast as possible")
 * shows how the latency of ordinary traffic changes when something else runs.
 */
import fs from "node:fs";
import { createRequire } from "node:module";

interface Result {
  duration: number;
  latency: { p50: number; p90: number; p99: number; max: number };
  "2xx": number;
  "3xx": number;
  "4xx": number;
  "5xx": number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<Result>;
// autocannon is CommonJS without type declarations.
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const [url, pathsFile, rate, seconds, headers] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const paths = JSON.parse(fs.readFileSync(pathsFile, "utf8")) as string[];
let next = 0;

const result = await autocannon({
  url,
  connections: 10,
  overallRate: Number(rate),
  duration: Number(seconds),
  sampleInt: 10,
  headers: JSON.parse(headers) as Record<string, string>,
  requests: [
    {
      setupRequest(request: { path: string }) {
        request.path = paths[next++ % paths.length]!;
        return request;
      },
    },
  ],
});
const answered = result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"];
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: answered / (result.duration || 1),
    p50Ms: result.latency.p50,
    p90Ms: result.latency.p90,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    ok: result["2xx"],
    failed: result["3xx"] + result["4xx"] + result["5xx"] + result.errors + result.timeouts,
  })}\n`,
);
