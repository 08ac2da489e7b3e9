/** A failure on the way to or from the backend, with how far the exchange got. */
export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly code: string;
  /** The response head had arrived: too late for another answer. */
  readonly afterHead: boolean;

  constructor(code: string, message: string, afterHead: boolean, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.afterHead = afterHead;
  }
}
