/**
 * Peak-EWMA of a backend's response latency, as Finagle and Linkerd use it:
 * a slower sample takes over at once (so a backend that slows down is
 * avoided immediately), faster samples pull the average down gradually, with
 * a time constant rather than a fixed factor so that the decay does not
 * depend on the request rate.
 */
export class PeakEwma {
  readonly #decayMs: number;
  #value = 0;
  #stamp = 0;

  constructor(decayMs = 10_000) {
    this.#decayMs = decayMs;
  }

  observe(latencyMs: number, now: number): void {
    if (latencyMs > this.#value) {
      this.#value = latencyMs;
    } else {
      const weight = Math.exp(-Math.max(0, now - this.#stamp) / this.#decayMs);
      this.#value = this.#value * weight + latencyMs * (1 - weight);
    }
    this.#stamp = now;
  }

  /** The current estimate in ms; 0 before the first sample. */
  get value(): number {
    return this.#value;
  }
}
