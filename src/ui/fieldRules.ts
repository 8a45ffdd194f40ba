/** The rules of a numeric field and the message for text that breaks them (pure, testable without React). */

/** What a numeric field accepts: whole numbers only, inclusive min / max, exclusive lower bound `above`. */
export interface FieldRules {
  readonly integer?: boolean;
  readonly min?: number;
  readonly above?: number;
  readonly max?: number;
}

/** Why `text` is not acceptable for a field with these rules, or null. */
export function fieldProblem(text: string, p: FieldRules): string | null {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) return 'enter a number';
  if (p.integer && !Number.isInteger(v)) return 'enter a whole number';
  if (p.min !== undefined && v < p.min) return `must be ≥ ${p.min}`;
  if (p.above !== undefined && !(v > p.above)) return `must be > ${p.above}`;
  if (p.max !== undefined && v > p.max) return `must be ≤ ${p.max}`;
  return null;
}
