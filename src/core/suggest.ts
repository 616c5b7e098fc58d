/**
 * "Did you mean …?" for mistyped names (commands, options, devices-file keys): the known names
 * that start with what was typed (`--a` → `--auth`, `--attempts`, …) and those closest to it by
 * edit distance (a swap of two neighbours counts as one edit). Pure; no I/O.
 */

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        best = Math.min(best, at(i - 2, j - 2) + 1);
      d[i * cols + j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The known names worth suggesting for `typed`, best first (at most `max`): those that start with
 * `typed` (shortest first: an abbreviation), then those within an edit distance of about a third
 * of the length (at least 1, at most 3). Case-insensitive; `_` and `-` count as the same.
 */
export function closestNames(typed: string, known: Iterable<string>, max = 3): string[] {
  const norm = (s: string): string => s.toLowerCase().replaceAll('_', '-');
  const t = norm(typed);
  if (t === '') return [];
  const names = [...new Set(known)];
  const limit = Math.min(3, Math.max(1, Math.floor(t.length / 3)));
  const prefixed = names
    .filter((name) => norm(name).startsWith(t) && norm(name) !== t)
    .sort((a, b) => a.length - b.length || a.localeCompare(b));
  const near = names
    .map((name) => ({ name, distance: editDistance(t, norm(name)) }))
    .filter((c) => c.distance <= limit)
    .sort((a, b) => a.distance - b.distance || a.name.localeCompare(b.name))
    .map((c) => c.name);
  return [...new Set([...prefixed, ...near])].slice(0, max);
}

/** " Did you mean X?" / " Did you mean X or Y?", or "" when nothing is close. */
export function didYouMean(typed: string, known: Iterable<string>, prefix = ''): string {
  const names = closestNames(typed, known).map((n) => `${prefix}${n}`);
  if (names.length === 0) return '';
  const last = names.pop() as string;
  return ` Did you mean ${names.length === 0 ? last : `${names.join(', ')} or ${last}`}?`;
}
