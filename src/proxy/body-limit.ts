// max_body_size for bodies without a Content-Length (chunked): the size is
// only known as the bytes arrive, so they are counted on their way to the
// backend and the request is cut off at the first byte over the limit.
// Nothing is held back: the body still streams.

import { Transform, type TransformCallback } from 'node:stream';

/** The client sent more than max_body_size; answered with 413. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';
  readonly code = 'WEIR_BODY_TOO_LARGE';
  readonly limit: number;
  constructor(limit: number) {
    super(`request body over max_body_size (${limit} bytes)`);
    this.limit = limit;
  }
}

/** A pass-through that fails with BodyTooLargeError once more than `limit` bytes went by. */
export class BodyLimit extends Transform {
  readonly #limit: number;
  #seen = 0;

  constructor(limit: number) {
    super();
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#seen += chunk.length;
    if (this.#seen > this.#limit) callback(new BodyTooLargeError(this.#limit));
    else callback(null, chunk);
  }
}
