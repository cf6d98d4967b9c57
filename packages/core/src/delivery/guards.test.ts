import { describe, expect, it } from "vitest";
import { CircuitBreaker, TokenBucket } from "./guards.ts";

describe("CircuitBreaker", () => {
  it("opens after the threshold of failures in a row, lets one trial through after the cooldown", () => {
    const breaker = new CircuitBreaker(3, 10_000);
    for (let i = 0; i < 2; i++) breaker.record("failure", 0);
    expect(breaker.holdUntil(0)).toBeUndefined();
    breaker.record("failure", 1000);
    expect(breaker.state).toBe("open");
    expect(breaker.holdUntil(5000)).toBe(11_000);
    expect(breaker.holdUntil(11_000)).toBeUndefined(); // the trial
    expect(breaker.holdUntil(11_001)).toBe(12_001); // others wait for the trial's answer
    breaker.record("failure", 11_500);
    expect(breaker.holdUntil(12_000)).toBe(21_500);
    expect(breaker.holdUntil(21_500)).toBeUndefined();
    breaker.record("success", 21_600);
    expect(breaker.state).toBe("closed");
    expect(breaker.holdUntil(21_700)).toBeUndefined();
  });

  it("does not stay stuck when a trial never reports", () => {
    const breaker = new CircuitBreaker(1, 1000);
    breaker.record("failure", 0);
    expect(breaker.holdUntil(1000)).toBeUndefined();
    expect(breaker.holdUntil(1500)).toBe(2500);
    expect(breaker.holdUntil(2000)).toBeUndefined();
  });

  it("a success resets the count of failures", () => {
    const breaker = new CircuitBreaker(2, 1000);
    breaker.record("failure", 0);
    breaker.record("success", 1);
    breaker.record("failure", 2);
    expect(breaker.holdUntil(3)).toBeUndefined();
  });
});

describe("TokenBucket", () => {
  it("lets a burst through, then one send per interval", () => {
    const bucket = new TokenBucket(2, 2);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(0);
    expect(bucket.take(0)).toBe(500);
    expect(bucket.take(500)).toBe(0);
    expect(bucket.take(500)).toBe(500);
    expect(bucket.take(2000)).toBe(0);
  });
});
