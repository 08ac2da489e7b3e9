// Suggestions for misspelled keys and names: "sevice" → "service".

/**
 * The candidate closest to `input`, or undefined when none is close enough
 * to be a likely typo. Case, and "-" against "_", are ignored: "Service" and
 * "strip-prefix" are obviously meant as "service" and "strip_prefix".
 */
export function closestMatch(input: string, candidates: Iterable<string>): string | undefined {
  const wanted = comparable(input);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, comparable(candidate));
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // About one edit per three characters: "apii" → "api" is a typo, "web" →
  // "api" is a different name. Names of one or two characters are too short
  // to tell a typo from another name.
  const allowed = wanted.length <= 2 ? 0 : Math.max(1, Math.floor(wanted.length / 3));
  return bestDistance <= allowed ? best : undefined;
}

/** `; did you mean "x"?` or "" — to append to a message. */
export function didYouMean(input: string, candidates: Iterable<string>): string {
  const match = closestMatch(input, candidates);
  return match === undefined ? '' : `; did you mean "${match}"?`;
}

/**
 * Edits (insert, delete, substitute, swap two neighbours) that turn a into b.
 * Swaps count as one edit because "sevrice" is one slip of the fingers.
 */
export function editDistance(a: string, b: string): number {
  // rows[i][j] = distance between the first i characters of a and the first j of b.
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const previous = rows[i - 1]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let distance = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        distance = Math.min(distance, rows[i - 2]![j - 2]! + 1);
      }
      row.push(distance);
    }
    rows.push(row);
  }
  return rows[a.length]![b.length]!;
}

function comparable(name: string): string {
  return name.toLowerCase().replaceAll('-', '_');
}
