// One id per request, in the backend's logs and in the client's answer, so a
// report from a user can be followed through every hop. A client (or a proxy
// in front) may bring its own; weir keeps it when it looks like an id, so a
// trace that started further out stays one trace.

import { randomUUID } from 'node:crypto';

// Letters, digits and the punctuation ids are made of (UUIDs, ULIDs, base64,
// "trace:span"); nothing that could be read as markup or a list separator.
const WELL_FORMED = /^[A-Za-z0-9._:+=/@-]{1,200}$/;

/** The client's id when it is well formed, otherwise a new UUID. */
export function keepOrMakeRequestId(sent: string | undefined): string {
  return sent !== undefined && WELL_FORMED.test(sent) ? sent : randomUUID();
}
