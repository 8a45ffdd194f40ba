/**
 * Pure measures of greedy answers: normalisation for exact match, the user's check, and the per-model rates.
 * Normalisation (documented in the UI and the README): trim, then collapse every run of whitespace (spaces, tabs,
 * newlines) to one space; case and punctuation are kept.
 */
import type { CompareOptions } from './types';

/** Invalid comparison options (a check regex that does not compile, a count out of range); names the field. */
export class CompareError extends Error {
  override name = 'CompareError';
}

/** `s` trimmed, with each whitespace run collapsed to a single space. */
export function normaliseAnswer(s: string): string {
  return s.trim().replace(/\s+/g, ' ');
}

/** True when the normalised answer equals the normalised reference. */
export function exactMatch(answer: string, reference: string): boolean {
  return normaliseAnswer(answer) === normaliseAnswer(reference);
}

/**
 * Compiles the check (JavaScript RegExp syntax, no flags: `^` is the start of the answer, `.` stops at newlines).
 * @returns null for an empty pattern (no check)
 * @throws CompareError "Check regex: …" with the engine's reason when the pattern does not compile
 */
export function compileCheck(pattern: string): RegExp | null {
  if (pattern === '') return null;
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new CompareError(`Check regex: ${JSON.stringify(pattern)} is not a valid regular expression (${(e as Error).message})`);
  }
}

/** The check on one answer: the regex tested against the trimmed answer. */
export function passesCheck(re: RegExp, answer: string): boolean {
  return re.test(answer.trim());
}

/**
 * Validates the options before any training starts.
 * @throws CompareError naming the field (check regex, eval prompts, max new tokens)
 */
export function validateCompareOptions(o: CompareOptions): void {
  compileCheck(o.checkRegex);
  if (!Number.isInteger(o.evalPrompts) || o.evalPrompts < 1) throw new CompareError(`Eval prompts: must be a whole number ≥ 1 (the answers are what the check and exact match measure), got ${o.evalPrompts}`);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new CompareError(`Max new tokens: must be a whole number ≥ 1, got ${o.maxNewTokens}`);
}

/** Rates over a model's answers: exact-match and check fractions, mean answer length in tokens. */
export interface AnswerMeasures {
  readonly exactMatch: number | null;
  readonly checkRate: number | null;
  readonly meanTokens: number | null;
}

/**
 * Aggregates answers. All three are null when there are no answers; checkRate is null when no answer was checked.
 */
export function measureAnswers(answers: readonly { readonly exact: boolean; readonly check: boolean | null; readonly tokens: number }[]): AnswerMeasures {
  const n = answers.length;
  if (n === 0) return { exactMatch: null, checkRate: null, meanTokens: null };
  const checked = answers.filter((a) => a.check !== null);
  return {
    exactMatch: answers.filter((a) => a.exact).length / n,
    checkRate: checked.length ? checked.filter((a) => a.check).length / checked.length : null,
    meanTokens: answers.reduce((s, a) => s + a.tokens, 0) / n,
  };
}
