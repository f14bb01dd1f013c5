/**
 * A token bucket: `perSecond` tokens at most, refilled continuously. A client may send a burst (an app
 * subscribing to its doctypes on start) but not a sustained flood.
 */
export class TokenBucket {
  #tokens: number;
  #last: number;

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = performance.now.bind(performance),
  ) {
    this.#tokens = perSecond;
    this.#last = now();
  }

  /** Spends one token; false when none is left. */
  take(): boolean {
    const t = this.now();
    this.#tokens = Math.min(this.perSecond, this.#tokens + ((t - this.#last) * this.perSecond) / 1000);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
