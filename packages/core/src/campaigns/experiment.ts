/**
 * A/B experiments on split nodes, pure: which variant wins, from each variant's test members and
 * successes. The best observed rate wins when a two-proportion z-test against every other variant is
 * significant; otherwise the experiment's declared fallback does. With more than two variants the
 * best is picked after looking at the data and compared k − 1 times, so each comparison is tested at a
 * Bonferroni-corrected level (1 − (1 − confidence) / (k − 1)); with two it is the chosen level itself.
 */
import type { ExperimentMetric, SplitExperiment } from "@omneural/contracts/workflows";
import { twoProportionZTest, wilsonInterval } from "./stats.ts";

export const DEFAULT_CONFIDENCE = 0.95;

/** The fallback that means "the highest observed rate, significant or not". */
export const BEST_FALLBACK = "best";

/** The response event whose presence makes a test member a success, per metric. */
export const METRIC_EVENT: Record<ExperimentMetric, string> = {
  open: "message.opened",
  click: "message.clicked",
  conversion: "message.converted",
};

export interface VariantCount {
  key: string;
  /** Test members who took this variant (holdout members excluded). */
  members: number;
  /** Of those, the members with at least one (non-machine) response of the metric after taking it. */
  successes: number;
}

export interface VariantStatistics extends VariantCount {
  rate: number;
  /** The Wilson score interval of the rate at the experiment's confidence. */
  interval: { low: number; high: number };
}

/** The best variant against one other. */
export interface VariantComparison {
  variant: string;
  against: string;
  difference: number;
  z: number;
  pValue: number;
  significant: boolean;
}

export interface ExperimentStatistics {
  metric: ExperimentMetric;
  confidence: number;
  /** The level each comparison is tested at (the confidence, Bonferroni-corrected). */
  comparisonConfidence: number;
  fallback: string;
  variants: VariantStatistics[];
  /** The variant with the highest observed rate (the first of equals). */
  best: string;
  comparisons: VariantComparison[];
  /** Whether the best beat every other variant significantly. */
  significant: boolean;
}

export interface ExperimentDecision {
  winner: string;
  /** Why, as a member's trace shows it after `routed to variant "b", `. */
  reason: string;
  statistics: ExperimentStatistics;
}

/** An experiment as recorded for a campaign (see listExperiments). */
export interface ExperimentRecord {
  nodeId: string;
  status: "testing" | "decided";
  startedAt: Date;
  decideAt: Date;
  decidedAt: Date | null;
  winner: string | null;
  reason: string | null;
  /** Set once decided. */
  statistics: ExperimentStatistics | null;
}

/** Chooses the winner. `counts` has one entry per variant, in branch order. */
export function chooseWinner(
  experiment: SplitExperiment,
  counts: readonly VariantCount[],
): ExperimentDecision {
  if (counts.length === 0) throw new Error("an experiment needs at least one variant");
  const confidence = experiment.confidence ?? DEFAULT_CONFIDENCE;
  const comparisonConfidence = counts.length > 2 ? 1 - (1 - confidence) / (counts.length - 1) : confidence;
  const variants: VariantStatistics[] = counts.map((c) => {
    const interval = wilsonInterval(c.successes, c.members, confidence);
    return { ...c, rate: interval.value, interval: { low: interval.low, high: interval.high } };
  });
  let best = variants[0]!;
  for (const v of variants) if (v.rate > best.rate) best = v;
  const comparisons: VariantComparison[] = variants
    .filter((v) => v !== best)
    .map((other) => {
      const test = twoProportionZTest(
        best.successes,
        best.members,
        other.successes,
        other.members,
        comparisonConfidence,
      );
      return {
        variant: best.key,
        against: other.key,
        difference: test.difference,
        z: test.z,
        pValue: test.pValue,
        significant: test.significant && test.difference > 0,
      };
    });
  const significant = comparisons.length > 0 && comparisons.every((c) => c.significant);
  const statistics: ExperimentStatistics = {
    metric: experiment.metric,
    confidence,
    comparisonConfidence,
    fallback: experiment.fallback,
    variants,
    best: best.key,
    comparisons,
    significant,
  };
  const label = `${experiment.metric} rate`;
  // The least convincing comparison (highest p-value) is the one that decides, and the one to show.
  const closest = comparisons.reduce<VariantComparison | undefined>(
    (worst, c) => (worst === undefined || c.pValue > worst.pValue ? c : worst),
    undefined,
  );
  const against = closest ? variants.find((v) => v.key === closest.against)! : undefined;
  const versus =
    closest && against
      ? `${label} ${percent(best.rate)} vs ${percent(against.rate)} for "${against.key}", ${pText(closest.pValue)}`
      : `${label} ${percent(best.rate)}`;
  if (significant) return { winner: best.key, reason: `the winner: ${versus}`, statistics };
  const level = `${Math.round(confidence * 1000) / 10}% confidence`;
  const tested = variants.reduce((n, v) => n + v.members, 0);
  const why =
    tested === 0 ? "no test member to compare" : `no significant difference at ${level} (${versus})`;
  if (experiment.fallback === BEST_FALLBACK) {
    return {
      winner: best.key,
      reason: `the best observed rate (fallback "best"): ${why}`,
      statistics,
    };
  }
  return { winner: experiment.fallback, reason: `the fallback: ${why}`, statistics };
}

/** The decision a simulation stands in with: it measures no responses, so the fallback (or the first). */
export function decisionWithoutResponses(experiment: SplitExperiment, keys: readonly string[]) {
  const winner = experiment.fallback === BEST_FALLBACK ? keys[0]! : experiment.fallback;
  const what = experiment.fallback === BEST_FALLBACK ? 'the first variant (fallback "best")' : "the fallback";
  return { winner, reason: `${what}: a simulation measures no responses` };
}

const percent = (rate: number) => `${(Math.round(rate * 1000) / 10).toFixed(1)}%`;
const pText = (p: number) => (p < 0.001 ? "p < 0.001" : `p = ${p.toFixed(3)}`);
