// Headers that describe one connection, not the message (RFC 9110 section
// 7.6.1). A proxy removes them, and every header the Connection header
// names, in both directions.
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'te', 'transfer-encoding', 'upgrade', 'http2-settings']);

export function isHopByHop(lowerName: string): boolean {
  return HOP_BY_HOP.has(lowerName);
}

/** Lower-case names listed in Connection header values ("close" and "keep-alive" included; harmless to drop). */
export function connectionTokens(values: readonly string[]): Set<string> | undefined {
  if (values.length === 0) return undefined;
  const tokens = new Set<string>();
  for (const value of values) {
    for (const token of value.split(',')) {
      const name = token.trim().toLowerCase();
      if (name) tokens.add(name);
    }
  }
  return tokens;
}
