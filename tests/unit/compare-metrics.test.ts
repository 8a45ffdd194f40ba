import { describe, expect, it } from 'vitest';
import { CompareError, compileCheck, exactMatch, measureAnswers, normaliseAnswer, passesCheck, validateCompareOptions } from '../../src/app/compare/metrics';

describe('answer measures', () => {
  it('normalises by trimming and collapsing whitespace, keeping case and punctuation', () => {
    expect(normaliseAnswer('  Title: A\n\nB\t c  ')).toBe('Title: A B c');
    expect(exactMatch('Title: Fluffy\nOnce upon', ' Title: Fluffy Once upon ')).toBe(true);
    expect(exactMatch('title: Fluffy', 'Title: Fluffy')).toBe(false);
    expect(exactMatch('Title: Fluffy.', 'Title: Fluffy')).toBe(false);
  });
  it('tests the check against the trimmed answer; empty pattern = no check', () => {
    const re = compileCheck('^Title: ') as RegExp;
    expect(passesCheck(re, '\nTitle: Max\nOnce')).toBe(true);
    expect(passesCheck(re, 'Once upon a time. Title: Max')).toBe(false);
    expect(compileCheck('')).toBeNull();
  });
  it('refuses an invalid regex with a message naming the field', () => {
    expect(() => compileCheck('^Title: (')).toThrow(CompareError);
    expect(() => compileCheck('^Title: (')).toThrow(/^Check regex: "\^Title: \(" is not a valid regular expression/);
    expect(() => validateCompareOptions({ checkRegex: '[', evalPrompts: 3, maxNewTokens: 8 })).toThrow(/Check regex/);
    expect(() => validateCompareOptions({ checkRegex: '', evalPrompts: -1, maxNewTokens: 8 })).toThrow(/Eval prompts/);
    expect(() => validateCompareOptions({ checkRegex: '', evalPrompts: 2, maxNewTokens: 0 })).toThrow(/Max new tokens/);
  });
  it('aggregates rates and the mean length', () => {
    const m = measureAnswers([
      { exact: true, check: true, tokens: 10 },
      { exact: false, check: true, tokens: 20 },
      { exact: false, check: false, tokens: 3 },
      { exact: false, check: false, tokens: 7 },
    ]);
    expect(m).toEqual({ exactMatch: 0.25, checkRate: 0.5, meanTokens: 10 });
    expect(measureAnswers([{ exact: false, check: null, tokens: 4 }])).toEqual({ exactMatch: 0, checkRate: null, meanTokens: 4 });
    expect(measureAnswers([])).toEqual({ exactMatch: null, checkRate: null, meanTokens: null });
  });
});
