/**
 * A friendlier message for node:util parseArgs' ERR_PARSE_ARGS_UNKNOWN_OPTION: the unknown flag, the closest flags
 * of the command's usage line (edit distance ≤ a third of the typed length, at least 1, or a flag that starts with
 * what was typed), and the usage.
 */

/** Edit distance (insertions, deletions, substitutions of one character each) between `a` and `b`. */
export function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** The `--flag` names of a usage line, in order, without repeats. */
export function usageFlags(usage: string): string[] {
  return [...new Set(usage.match(/--[a-z][a-z0-9-]*/g) ?? [])];
}

/**
 * The message for an error thrown by parseArgs, or null when `e` is not an unknown-option error.
 * @param usage the command's usage line (its flags are the candidates)
 */
export function unknownFlagMessage(e: unknown, usage: string): string | null {
  if (!(e instanceof Error) || (e as { code?: unknown }).code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return null;
  const typed = /Unknown option '([^']+)'/.exec(e.message)?.[1] ?? '';
  const name = typed.replace(/=.*$/, '');
  const flags = usageFlags(usage);
  const ranked = flags
    .map((f) => ({ f, d: f.startsWith(name) && name.length > 3 ? 0 : editDistance(name, f) }))
    .filter((x) => x.d <= Math.max(1, Math.floor(name.length / 3)))
    .sort((x, y) => x.d - y.d)
    .slice(0, 3)
    .map((x) => x.f);
  const hint = ranked.length ? ` Did you mean ${ranked.join(' or ')}?` : '';
  return `unknown flag ${typed || '(empty)'}.${hint}\nusage: npx shadowft ${usage}`;
}
