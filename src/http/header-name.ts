// Looking up a header in the flat [name, value, ...] list that Node and
// the upstream client hand over, on paths that run for every request: no lower-cased
// copies of names are made.

/** ASCII case-insensitive equality against an already lower-case name, without allocating. */
export function equalsLowercase(text: string, lowercase: string): boolean {
  if (text.length !== lowercase.length) return false;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code >= 0x41 && code <= 0x5a) code += 0x20;
    if (code !== lowercase.charCodeAt(i)) return false;
  }
  return true;
}

/** The first value of the header named `lowerName` (any case in the list), undefined when absent. */
export function firstHeaderValue(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (equalsLowercase(raw[i]!, lowerName)) return raw[i + 1];
  }
  return undefined;
}
