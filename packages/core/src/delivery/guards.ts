/**
 * Guards a dispatcher keeps per provider, in its own process: a circuit breaker that stops calling a
 * provider that keeps failing, and a token bucket that holds sends to a provider's allowed rate. Both
 * defer messages (not an attempt) rather than fail them. Time is always passed in.
 */

/** Closed: sends go. Open after `threshold` retryable failures in a row: nothing goes until `cooldownMs`
 * has passed, then one trial send (half-open) decides whether it closes again. */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  /** When the half-open trial send was let through; a trial that never reports expires after the cooldown. */
  private trialSince: number | undefined;

  constructor(
    readonly threshold = 5,
    readonly cooldownMs = 30_000,
  ) {}

  /** When the breaker holds sends back: the moment to try again; undefined when a send may go. */
  holdUntil(now: number): number | undefined {
    if (this.failures < this.threshold) return undefined;
    if (now < this.openUntil) return this.openUntil;
    if (this.trialSince !== undefined && now - this.trialSince < this.cooldownMs) return now + 1000;
    this.trialSince = now;
    return undefined;
  }

  record(outcome: "success" | "failure", now: number) {
    this.trialSince = undefined;
    if (outcome === "success") {
      this.failures = 0;
      return;
    }
    this.failures++;
    if (this.failures >= this.threshold) this.openUntil = now + this.cooldownMs;
  }

  get state(): "closed" | "open" {
    return this.failures >= this.threshold ? "open" : "closed";
  }
}

/** At most `perSecond` sends a second on average, in bursts of up to `burst`. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number | undefined;

  constructor(
    readonly perSecond: number,
    readonly burst = Math.max(1, Math.ceil(perSecond)),
  ) {
    this.tokens = burst;
  }

  /** Takes a token: 0 when one was free, else how many ms until one will be. */
  take(now: number): number {
    if (this.updatedAt !== undefined) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    }
    this.updatedAt = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }
}
