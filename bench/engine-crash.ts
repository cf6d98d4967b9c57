/**
 * The engine's crash test at full size. Runs packages/core/src/engine/stepper.crash.test.ts (a campaign
 * of send → wait 2 s → send, the stepper in a child process killed with SIGKILL at random moments and
 * restarted) with 100,000 members, twice in the same run:
 *   baseline: no kill;
 *   figure:   10 kills (most of them in the middle of a batch).
 * The test itself asserts that every member completes, with exactly one ledger row per member per send
 * node and an unbroken step history. Goal: both runs pass; the ratio shows what recovery costs.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { argValue, printReport, round } from "./lib.ts";

interface CrashReport {
  members: number;
  kills: number;
  killsMidBatch: number;
  seconds: number;
}

function runCrashTest(members: number, kills: number): { passed: boolean; report?: CrashReport } {
  const reportFile = path.join(os.tmpdir(), `omneural-crash-${process.pid}-${kills}.json`);
  fs.rmSync(reportFile, { force: true });
  console.error(`crash test: ${members.toLocaleString()} members, ${kills} kills…`);
  const result = spawnSync("npx", ["vitest", "run", "packages/core/src/engine/stepper.crash.test.ts"], {
    env: {
      ...process.env,
      CRASH_TEST_MEMBERS: String(members),
      CRASH_TEST_KILLS: String(kills),
      CRASH_TEST_REPORT: reportFile,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const passed = result.status === 0;
  const report = fs.existsSync(reportFile)
    ? (JSON.parse(fs.readFileSync(reportFile, "utf8")) as CrashReport)
    : undefined;
  fs.rmSync(reportFile, { force: true });
  console.error(
    `  ${passed ? "passed" : "FAILED"}${report ? `: ${round(report.seconds, 1)} s, ${report.kills} kills (${report.killsMidBatch} mid-batch)` : ""}`,
  );
  return { passed, ...(report ? { report } : {}) };
}

export async function main(args: string[]) {
  const members = argValue(args, "--members", 100_000);
  const kills = argValue(args, "--kills", 10);
  const baseline = runCrashTest(members, 0);
  const crashed = runCrashTest(members, kills);
  const seconds = crashed.report?.seconds ?? Number.NaN;
  const baseSeconds = baseline.report?.seconds ?? Number.NaN;
  printReport({
    bench: "engine-crash",
    figures: {
      secondsWithKills: round(seconds, 1),
      kills: crashed.report?.kills ?? 0,
      killsMidBatch: crashed.report?.killsMidBatch ?? 0,
      members,
      passed: crashed.passed ? 1 : 0,
    },
    baselines: { secondsWithoutKills: round(baseSeconds, 1), passed: baseline.passed ? 1 : 0 },
    ratios: { withKillsVsWithout: round(seconds / baseSeconds, 2) },
    goals: { passed: "= 1 (every member completes; one ledger row per member per send)", kills: ">= 10" },
    met: crashed.passed && baseline.passed && (crashed.report?.kills ?? 0) >= 10,
  });
}
