import { describe, expect, it } from "vitest";
import {
  differenceInterval,
  normalCdf,
  normalQuantile,
  normalTail,
  twoProportionZTest,
  wilsonInterval,
  zFor,
} from "./stats.ts";

// Expected values computed independently with Python's math.erfc (exact to double precision).
describe("statistics", () => {
  it("computes the normal distribution and its quantile", () => {
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 6);
    expect(normalCdf(-3)).toBeCloseTo(0.0013498980316300957, 6);
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(zFor(0.95)).toBeCloseTo(1.959963984540053, 7);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 6);
    expect(() => normalQuantile(1)).toThrow(RangeError);
    // The far tail keeps its digits: 1 − Φ(9) = 1.1285884059538e-19.
    expect(normalTail(9) / 1.1285884059538e-19).toBeCloseTo(1, 5);
    expect(twoProportionZTest(5000, 10000, 4000, 10000).pValue).toBeGreaterThan(0);
  });

  it("runs the pooled two-proportion z-test against known values", () => {
    const a = twoProportionZTest(200, 1000, 250, 1000);
    expect(a.z).toBeCloseTo(-2.677397763008329, 6);
    expect(a.pValue).toBeCloseTo(0.007419649261025674, 5);
    expect(a.significant).toBe(true);
    expect(a.difference).toBeCloseTo(-0.05, 12);

    const b = twoProportionZTest(52, 500, 40, 500);
    expect(b.z).toBeCloseTo(1.3129385742198267, 6);
    expect(b.pValue).toBeCloseTo(0.18920364735346507, 5);
    expect(b.significant).toBe(false);
    // Significant at 80 % confidence, not at 95 %.
    expect(twoProportionZTest(52, 500, 40, 500, 0.8).significant).toBe(true);
  });

  it("never calls an empty or uniform test significant", () => {
    expect(twoProportionZTest(0, 0, 5, 10)).toMatchObject({ z: 0, pValue: 1, significant: false });
    expect(twoProportionZTest(0, 100, 0, 100)).toMatchObject({ z: 0, pValue: 1, significant: false });
    expect(twoProportionZTest(100, 100, 100, 100).significant).toBe(false);
  });

  it("gives Wilson intervals", () => {
    const w = wilsonInterval(81, 263);
    expect(w.value).toBeCloseTo(81 / 263, 12);
    expect(w.low).toBeCloseTo(0.2552885198782743, 6);
    expect(w.high).toBeCloseTo(0.3662095769828001, 6);
    const none = wilsonInterval(0, 10);
    expect(none.low).toBe(0);
    expect(none.high).toBeCloseTo(0.277532799862889, 6);
    const w99 = wilsonInterval(9, 10, 0.99);
    expect(w99.low).toBeCloseTo(0.49276822876710713, 5);
    expect(w99.high).toBeCloseTo(0.9881484965889671, 5);
    expect(wilsonInterval(0, 0)).toEqual({ value: 0, low: 0, high: 0 });
  });

  it("gives the interval of a difference of proportions", () => {
    const d = differenceInterval(300, 1000, 250, 1000);
    const half = 1.959963984540053 * Math.sqrt((0.3 * 0.7) / 1000 + (0.25 * 0.75) / 1000);
    expect(d.value).toBeCloseTo(0.05, 12);
    expect(d.low).toBeCloseTo(0.05 - half, 7);
    expect(d.high).toBeCloseTo(0.05 + half, 7);
  });
});
