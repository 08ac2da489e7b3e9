// What the small parsers (durations, addresses, IP ranges) return: the value,
// or a message that can be shown to the user as it is. They never throw, so
// the loader can collect every problem in a file instead of stopping at one.

export type Result<T> = { ok: true; value: T } | { ok: false; message: string };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail<T>(message: string): Result<T> {
  return { ok: false, message };
}
