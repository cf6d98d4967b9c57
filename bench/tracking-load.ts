/**
 * The tracking benchmark's load generator, in a process of its own so that it does not share an event
 * loop with the server it measures:
 *   tracking-load.ts <base url> <paths file (JSON array)> <requests> <connections>
 * Sends `requests` GETs over `connections` keep-alive connections, cycling through the paths, as a
 * browser would (its User-Agent), and prints one JSON line: rate, latency percentiles, status counts.
 */
import fs from "node:fs";
import { createRequire } from "node:module";

interface Result {
  duration: number;
  latency: { p50: number; p99: number; max: number };
  "1xx": number;
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

const [url, pathsFile, requests, connections] = process.argv.slice(2) as [string, string, string, string];
const paths = JSON.parse(fs.readFileSync(pathsFile, "utf8")) as string[];
let next = 0;

const cpu = process.cpuUsage();
const result = await autocannon({
  url,
  amount: Number(requests),
  connections: Number(connections),
  // autocannon notices that `amount` requests were answered only at its next sample tick: with the
  // default 1-second tick a 2.1-second run would be timed as 3 s. Sample often so the rate is true.
  sampleInt: 10,
  headers: {
    "user-agent":
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
  },
  requests: [
    {
      setupRequest(request: { path: string }) {
        request.path = paths[next++ % paths.length]!;
        return request;
      },
    },
  ],
});
const used = process.cpuUsage(cpu);
const answered = result["1xx"] + result["2xx"] + result["3xx"] + result["4xx"] + result["5xx"];
process.stdout.write(
  `${JSON.stringify({
    requestsPerSecond: answered / (result.duration || 1),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    ok: result["2xx"] + result["3xx"],
    status4xx: result["4xx"],
    status5xx: result["5xx"],
    errors: result.errors,
    // The load generator's own CPU per request: on loopback it shares the cores with what it measures.
    cpuMicrosPerRequest: (used.user + used.system) / Math.max(1, answered),
    timeouts: result.timeouts,
    seconds: result.duration,
  })}\n`,
);
