/**
 * LLaMA-Factory semantics (src/llamafactory/data/converter.py, parser.py), each expectation written from what those
 * converters do: AlpacaDatasetConverter joins the non-empty of instruction and input with "\n" (empty, missing and
 * null input are the same); SharegptDatasetConverter takes a leading system-tag turn as the system prompt, then needs
 * odd turns in (user_tag, observation_tag) and even turns in (assistant_tag, function_tag) and an even count.
 * Plus a property-based fuzz test (fast-check) over every parser: any input parses to a valid result or throws
 * DatasetError; nothing else escapes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDataset } from '../../src/io/dataset/parse';
import { DatasetError } from '../../src/io/dataset/errors';
import { parseDatasetInfo } from '../../src/io/dataset/datasetInfo';

const jsonl = (recs: unknown[]): string => recs.map((r) => JSON.stringify(r)).join('\n');

describe('alpaca', () => {
  it('empty, missing and null input give the same user turn; non-empty input is joined with "\\n"', () => {
    const p = parseDataset(JSON.stringify([{ instruction: 'Q', output: 'A' }, { instruction: 'Q', input: '', output: 'A' }, { instruction: 'Q', input: null, output: 'A' }, { instruction: 'Q', input: 'more', output: 'A' }, { instruction: '', input: 'only input', output: 'A' }]), 'a.json');
    expect(p.conversations.map((c) => c.messages[0]?.content)).toEqual(['Q', 'Q', 'Q', 'Q\nmore', 'only input']);
  });
});

describe('ShareGPT', () => {
  const h = (v: string) => ({ from: 'human', value: v });
  const g = (v: string) => ({ from: 'gpt', value: v });
  it('a leading system turn becomes the system prompt; roles alternate; the count must be even', () => {
    const p = parseDataset(jsonl([
      { conversations: [{ from: 'system', value: 'S' }, h('q'), g('a')] },
      { conversations: [h('q'), g('a'), h('q2')] },
      { conversations: [h('q'), h('q2'), g('a')] },
      { conversations: [h('q'), g('a'), { from: 'system', value: 'late' }, g('b')] },
      { conversations: [h('q'), { from: 'function_call', value: '{}' }, { from: 'observation', value: 'r' }, g('a')] },
      { system: 'top', conversations: [{ from: 'user', value: 'q' }, { from: 'assistant', value: 'a' }] },
    ]), 's.jsonl');
    expect(p.conversations.map((c) => [c.row, c.messages])).toEqual([
      [1, [{ role: 'system', content: 'S' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]],
      [6, [{ role: 'system', content: 'top' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }]],
    ]);
    expect(p.skipped.map((s) => [s.row, s.reason])).toEqual([
      [2, '3 turns (not counting a leading system turn); ShareGPT needs an even count (user, assistant pairs)'],
      [3, 'conversations[1]: "from" is "human"; expected gpt or function_call or assistant (turns alternate human or observation or user / gpt or function_call or assistant, a system turn only first)'],
      [4, 'conversations[2]: "from" is "system"; expected human or observation or user (turns alternate human or observation or user / gpt or function_call or assistant, a system turn only first)'],
      [5, 'conversations[1]: tool turns (observation / function_call) are not trained by the studio yet'],
    ]);
  });
  it('dataset_info.json tags replace the defaults as a whole (an unlisted tag is None)', () => {
    const info = parseDatasetInfo(JSON.stringify({ d: { file_name: 'x.jsonl', formatting: 'sharegpt', tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' } } }), 'data/dataset_info.json');
    const attr = info.entries.get('data/x.jsonl')?.attr;
    expect(attr?.tags).toEqual({ role: 'role', content: 'content', user: 'user', assistant: 'assistant', observation: null, function: null, system: null });
    const p = parseDataset(jsonl([{ conversations: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }] }, { conversations: [{ role: 'human', content: 'q' }, { role: 'gpt', content: 'a' }] }]), 'data/x.jsonl', attr);
    expect(p.conversations).toHaveLength(1);
    expect(p.skipped[0]?.reason).toMatch(/^conversations\[0\]: "role" is "human"; expected user/);
  });
  it('alpaca columns listed in dataset_info.json: the ones not listed are None', () => {
    const info = parseDatasetInfo(JSON.stringify({ d: { file_name: 'q.json', columns: { prompt: 'question', response: 'answer' } } }), 'dataset_info.json');
    const attr = info.entries.get('q.json')?.attr;
    expect(attr?.columns).toMatchObject({ prompt: 'question', query: null, response: 'answer', history: null, system: null });
    const p = parseDataset(JSON.stringify([{ question: 'Q', input: 'not read', system: 'not read', answer: 'A' }]), 'q.json', attr);
    expect(p.conversations[0]?.messages).toEqual([{ role: 'user', content: 'Q' }, { role: 'assistant', content: 'A' }]);
  });
  it('dataset_info.json errors name the file and entry', () => {
    expect(() => parseDatasetInfo('{', 'd/dataset_info.json')).toThrow(/^d\/dataset_info\.json: not valid JSON/);
    expect(() => parseDatasetInfo('{"x": {"file_name": "a.json", "formatting": "weird"}}', 'dataset_info.json')).toThrow('dataset_info.json: entry "x": formatting "weird" is not supported; expected "alpaca" or "sharegpt"');
  });
});

describe('fuzz: every parser returns a valid result or throws DatasetError', () => {
  const role = fc.constantFrom('human', 'gpt', 'user', 'assistant', 'system', 'observation', 'function_call', 'tool', 7, null);
  const text = fc.oneof(fc.string(), fc.constant(''), fc.constant(null), fc.integer(), fc.constant(undefined));
  const record = fc.oneof(
    fc.record({ instruction: text, input: text, output: text, system: text, history: fc.oneof(fc.constant(undefined), fc.array(fc.tuple(text, text)), fc.anything()) }, { requiredKeys: [] }),
    fc.record({ conversations: fc.oneof(fc.array(fc.record({ from: role, value: text }, { requiredKeys: [] })), fc.anything()), system: text }, { requiredKeys: [] }),
    fc.record({ messages: fc.oneof(fc.array(fc.record({ role, content: fc.oneof(text, fc.array(fc.record({ type: fc.constantFrom('text', 'image'), text }))) }, { requiredKeys: [] })), fc.anything()) }, { requiredKeys: [] }),
    fc.anything(),
  );
  const check = (run: () => ReturnType<typeof parseDataset>): void => {
    try {
      const p = run();
      expect(p.conversations.length + p.skipped.length).toBe(p.rows);
      for (const c of p.conversations) {
        const start = c.messages[0]?.role === 'system' ? 1 : 0;
        expect(c.messages.length - start).toBeGreaterThanOrEqual(2);
        c.messages.slice(start).forEach((m, i) => {
          expect(m.role).toBe(i % 2 === 0 ? 'user' : 'assistant');
          expect(typeof m.content).toBe('string');
          expect(m.content.trim()).not.toBe('');
        });
      }
      for (const s of p.skipped) expect(s.row).toBeGreaterThanOrEqual(1);
    } catch (e) {
      if (!(e instanceof DatasetError)) throw e;
    }
  };
  it('JSON arrays and JSON Lines of arbitrary records', () => {
    fc.assert(fc.property(fc.array(record, { maxLength: 6 }), (recs) => {
      check(() => parseDataset(JSON.stringify(recs) ?? 'null', 'f.json'));
      check(() => parseDataset(recs.map((r) => JSON.stringify(r) ?? '').join('\n'), 'f.jsonl'));
    }), { numRuns: 300 });
  });
  it('arbitrary text as .json, .jsonl and .csv', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (t) => {
      for (const name of ['f.json', 'f.jsonl', 'f.csv']) check(() => parseDataset(t, name));
      check(() => parseDataset(`instruction,input,output\n${t}`, 'g.csv'));
    }), { numRuns: 300 });
  });
  it('arbitrary dataset_info.json text', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json(), fc.dictionary(fc.string(), fc.anything()).map((d) => JSON.stringify(d))), (t) => {
      try {
        parseDatasetInfo(t, 'dataset_info.json');
      } catch (e) {
        if (!(e instanceof DatasetError)) throw e;
      }
    }), { numRuns: 300 });
  });
});
