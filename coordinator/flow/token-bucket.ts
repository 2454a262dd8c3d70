/**
 * A token bucket: `ratePerSecond` tokens refill continuously up to `burst`. `take` spends one
 * (or n) when there are enough and says whether it did; `waitMs` says how long until there will be.
 * Time is passed in (Date.now() by default) so the arithmetic is testable without clocks.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number,
    now = Date.now(),
  ) {
    if (!(ratePerSecond > 0) || !(burst >= 1)) {
      throw new RangeError(`token bucket: rate ${ratePerSecond}/s and burst ${burst} must be > 0 and >= 1`);
    }
    this.tokens = burst;
    this.at = now;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.ratePerSecond) / 1000);
      this.at = now;
    }
  }

  take(n = 1, now = Date.now()): boolean {
    this.refill(now);
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }

  /** Milliseconds until `n` tokens are there (0 when they are now). */
  waitMs(n = 1, now = Date.now()): number {
    this.refill(now);
    return this.tokens >= n ? 0 : Math.ceil(((n - this.tokens) * 1000) / this.ratePerSecond);
  }

  /** True when the bucket is full again (an idle caller's bucket can be forgotten). */
  full(now = Date.now()): boolean {
    this.refill(now);
    return this.tokens >= this.burst;
  }
}
