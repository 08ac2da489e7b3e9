// How often each rule refused a request, for `weir.refusals()` (and, when
// there is one, an admin endpoint). Keyed by the rule as the log line names
// it, so a count and the log lines behind it are found by the same text.

export class RefusalCounter {
  readonly #counts = new Map<string, number>();

  count(rule: string): void {
    this.#counts.set(rule, (this.#counts.get(rule) ?? 0) + 1);
  }

  /** Counts by rule, as a plain object. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }
}
