// The status the access log and the metrics report for a finished request.

/** What a request that got no answer at all is reported as: the client closed the connection first (nginx's 499; weir never sends it). */
export const CLIENT_CLOSED_STATUS = 499;

/** The answer's status, or 499 when there was none (the log phase hears 0 then). */
export function reportedStatus(status: number): number {
  return status === 0 ? CLIENT_CLOSED_STATUS : status;
}
