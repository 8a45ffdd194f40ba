/**
 * Preference data (src/io/dataset/prefRecords.ts, rows.ts): the shared story-titles-pref files in their three
 * layouts (LLaMA-Factory alpaca and ShareGPT ranking, TRL conversational) and as Parquet give the same pairs; the
 * LLaMA-Factory rules written from converter.py / parser.py (ShareGPT ranking needs an odd turn count, the answers are
 * single assistant-tag messages, columns.chosen / columns.rejected are needed in dataset_info.json); TRL's implicit
 * prompt and plain-string layout; bad rows skipped with file, row and reason.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDataset, readDatasetFile } from '../../src/io/dataset/parse';
import { parseDatasetInfo } from '../../src/io/dataset/datasetInfo';
import type { PreferencePair } from '../../src/io/dataset/types';
import { writeStringParquet } from '../support/parquetWriter';

const DATA = '/work/shared/datasets';
const jsonl = (recs: unknown[]): string => recs.map((r) => JSON.stringify(r)).join('\n');
const strip = (p: PreferencePair) => ({ prompt: p.prompt, chosen: p.chosen, rejected: p.rejected });

describe('story-titles-pref: the three layouts give the same pairs', () => {
  for (const split of ['train', 'heldout'] as const) {
    it(`${split}: alpaca, ShareGPT, TRL and Parquet agree, nothing skipped`, async () => {
      const files = [`story-titles-pref.${split}.alpaca.json`, `story-titles-pref.${split}.sharegpt.jsonl`, `story-titles-pref.${split}.trl.jsonl`];
      const parsed = files.map((f) => parseDataset(readFileSync(`${DATA}/${f}`, 'utf8'), f));
      expect(parsed.map((p) => [p.kind, p.schema, p.skipped.length, p.conversations.length])).toEqual([
        ['preference', 'alpaca', 0, 0], ['preference', 'sharegpt', 0, 0], ['preference', 'trl-conversational', 0, 0],
      ]);
      const [alpaca, sharegpt, trl] = parsed.map((p) => p.pairs.map(strip));
      expect(alpaca).toHaveLength(split === 'train' ? 300 : 60);
      expect(sharegpt).toEqual(alpaca);
      expect(trl).toEqual(alpaca);
      // README: chosen = the reference answer with its title line, rejected = the same story without it
      for (const p of alpaca ?? []) {
        expect(p.prompt).toHaveLength(1);
        expect(p.chosen).toMatch(/^Title: [^\n]{1,60}\n\S/);
        expect(p.chosen.slice(p.chosen.indexOf('\n') + 1)).toBe(p.rejected);
      }
      const rows = JSON.parse(readFileSync(`${DATA}/${files[0]}`, 'utf8')) as { instruction: string; input: string; chosen: string; rejected: string }[];
      const col = (name: 'instruction' | 'input' | 'chosen' | 'rejected') => ({ name, optional: false, values: rows.map((r) => r[name]) });
      const lf = await readDatasetFile(new Blob([writeStringParquet([col('instruction'), col('input'), col('chosen'), col('rejected')]).slice().buffer as ArrayBuffer]), 'pref.parquet');
      expect([lf.kind, lf.schema, lf.pairs.map(strip)]).toEqual(['preference', 'alpaca', alpaca]);
      const std = writeStringParquet([{ ...col('instruction'), name: 'prompt' }, col('chosen'), col('rejected')]);
      const trlStd = await readDatasetFile(new Blob([std.slice().buffer as ArrayBuffer]), 'pref-trl.parquet');
      expect([trlStd.schema, trlStd.pairs.map(strip)]).toEqual(['trl-standard', alpaca]);
      expect(trlStd.pairs[1]?.source).toBe('pref-trl.parquet row 2');
    });
  }
});

describe('LLaMA-Factory ranking layouts', () => {
  it('alpaca: history and system go into the prompt; answers must be non-empty strings', () => {
    const p = parseDataset(JSON.stringify([
      { instruction: 'Q', input: 'more', chosen: 'good', rejected: 'bad', system: 'S', history: [['q0', 'a0']] },
      { instruction: 'Q', chosen: 'good', rejected: ['bad'] },
      { instruction: 'Q', chosen: '  ', rejected: 'bad' },
      { instruction: 'Q', chosen: 'same', rejected: 'same' },
      { instruction: 'Q', output: 'an SFT row' },
    ]), 'pref.json');
    expect(p.pairs.map((x) => [x.row, x.prompt, x.chosen, x.rejected])).toEqual([
      [1, [{ role: 'system', content: 'S' }, { role: 'user', content: 'q0' }, { role: 'assistant', content: 'a0' }, { role: 'user', content: 'Q\nmore' }], 'good', 'bad'],
    ]);
    expect(p.skipped.map((s) => [s.row, s.reason])).toEqual([
      [2, "field 'rejected' must be a string (the dispreferred answer), got a list"],
      [3, "field 'chosen' is empty"],
      [4, "'chosen' and 'rejected' are the same text, so there is no preference to learn"],
      [5, "no 'chosen' and 'rejected' fields; this file holds preference pairs (an SFT row cannot be mixed in)"],
    ]);
  });

  it('ShareGPT: an odd turn count ending with the user, answers are single gpt messages', () => {
    const h = (v: string) => ({ from: 'human', value: v });
    const g = (v: string) => ({ from: 'gpt', value: v });
    const p = parseDataset(jsonl([
      { conversations: [{ from: 'system', value: 'S' }, h('q'), g('a'), h('q2')], chosen: g('c'), rejected: g('r') },
      { conversations: [h('q'), g('a')], chosen: g('c'), rejected: g('r') },
      { conversations: [h('q')], chosen: h('c'), rejected: g('r') },
      { conversations: [h('q')], chosen: [g('c')], rejected: g('r') },
      { conversations: [h('q')], chosen: { from: 'function_call', value: '{}' }, rejected: g('r') },
      { conversations: [g('q')], chosen: g('c'), rejected: g('r') },
    ]), 'pref.jsonl');
    expect(p.schema).toBe('sharegpt');
    expect(p.pairs.map((x) => [x.row, x.prompt.map((m) => m.role), x.chosen])).toEqual([[1, ['system', 'user', 'assistant', 'user'], 'c']]);
    expect(p.skipped.map((s) => [s.row, s.reason])).toEqual([
      [2, "2 turns in 'conversations' (not counting a leading system turn); a ShareGPT preference row needs an odd count ending with the user's turn (chosen and rejected are the answers to it)"],
      [3, `'chosen' has "from" "human"; expected gpt or assistant`],
      [4, "'chosen' must be one message {from, value} (LLaMA-Factory ShareGPT ranking layout), got a list"],
      [5, "'chosen' is a tool call (function_call); tool turns are not trained by the studio yet"],
      [6, 'conversations[0]: "from" is "gpt"; expected human or observation or user (turns alternate human or observation or user / gpt or function_call or assistant, a system turn only first)'],
    ]);
  });

  it('dataset_info.json: ranking entries read chosen/rejected from columns, with their tags; without them the entry is unusable', () => {
    const info = parseDatasetInfo(JSON.stringify({
      a: { file_name: 'a.json', ranking: true, columns: { prompt: 'q', chosen: 'yes', rejected: 'no' } },
      s: { file_name: 's.jsonl', formatting: 'sharegpt', ranking: true, columns: { messages: 'turns', chosen: 'c', rejected: 'r' }, tags: { role_tag: 'role', content_tag: 'text', user_tag: 'u', assistant_tag: 'm' } },
      bad: { file_name: 'b.json', ranking: true },
    }), 'data/dataset_info.json');
    expect(info.unusable).toEqual([expect.stringMatching(/^data\/dataset_info\.json: "bad" is a preference \(ranking\) dataset but its "columns" do not name "chosen" and "rejected"/)]);
    const a = parseDataset(JSON.stringify([{ q: 'Q', input: 'not a column here', yes: 'Y', no: 'N' }]), 'data/a.json', info.entries.get('data/a.json')?.attr);
    expect(a.pairs.map(strip)).toEqual([{ prompt: [{ role: 'user', content: 'Q' }], chosen: 'Y', rejected: 'N' }]);
    const s = parseDataset(jsonl([{ turns: [{ role: 'u', text: 'Q' }], c: { role: 'm', text: 'Y' }, r: { role: 'm', text: 'N' } }, { turns: [{ role: 'u', text: 'Q' }], c: { role: 'assistant', text: 'Y' }, r: { role: 'm', text: 'N' } }]), 'data/s.jsonl', info.entries.get('data/s.jsonl')?.attr);
    expect(s.pairs.map(strip)).toEqual([{ prompt: [{ role: 'user', content: 'Q' }], chosen: 'Y', rejected: 'N' }]);
    expect(s.skipped.map((x) => x.reason)).toEqual([`'c' has "role" "assistant"; expected m`]);
  });
});

describe('TRL layouts', () => {
  const u = (content: string) => ({ role: 'user', content });
  const as = (content: string) => ({ role: 'assistant', content });
  it('conversational with a system prompt, the implicit-prompt form, plain strings; bad rows named', () => {
    const p = parseDataset(jsonl([
      { prompt: [{ role: 'system', content: 'S' }, u('Q')], chosen: [as('Y')], rejected: [as('N')] },
      { chosen: [u('Q'), as('Y')], rejected: [u('Q'), as('N')] },
      { prompt: [u('Q')], chosen: [as('Y'), as('more')], rejected: [as('N')] },
      { prompt: [u('Q'), as('A')], chosen: [as('Y')], rejected: [as('N')] },
      { chosen: [u('Q'), as('Y')], rejected: [u('other'), as('N')] },
      'not an object',
    ]), 'trl.jsonl');
    expect(p.pairs.map((x) => [x.row, x.prompt.length, x.chosen, x.rejected])).toEqual([[1, 2, 'Y', 'N'], [2, 1, 'Y', 'N']]);
    expect(p.skipped.map((s) => [s.row, s.reason])).toEqual([
      [3, "'chosen' must hold exactly one assistant message after the prompt, found assistant, assistant"],
      [4, 'the prompt must end with a user message (the answers reply to it), found assistant'],
      [5, "no 'prompt' field, and 'chosen' and 'rejected' share no leading messages to take as the prompt"],
      [6, `expected an object with 'chosen' and 'rejected', got "not an object"`],
    ]);
    const std = parseDataset(jsonl([{ prompt: 'The sky is', chosen: 'blue.', rejected: 'green.' }]), 'std.jsonl');
    expect([std.schema, std.pairs.map(strip)]).toEqual(['trl-standard', [{ prompt: [u('The sky is')], chosen: 'blue.', rejected: 'green.' }]]);
  });

  it('CSV with chosen and rejected columns is alpaca ranking data; SFT files stay SFT', () => {
    const csv = parseDataset('instruction,chosen,rejected\nQ,Y,N\nQ2,,N\n', 'pref.csv');
    expect([csv.kind, csv.schema, csv.pairs.map((x) => x.chosen), csv.skipped]).toEqual(['preference', 'csv', ['Y'], [{ file: 'pref.csv', row: 2, reason: "column 'chosen' is empty" }]]);
    const sft = parseDataset(jsonl([{ messages: [u('Q'), as('A')] }, { prompt: 'x', chosen: 'y', rejected: 'z' }]), 'sft.jsonl');
    expect([sft.kind, sft.pairs.length, sft.conversations.length, sft.skipped.length]).toEqual(['sft', 0, 1, 1]);
  });
});
