/**
 * Preference pairs → tokens (src/io/tokenizer/pairs.ts) and micro-batches (src/io/dataset/prefBatches.ts) with the
 * stories260K Instruct tokenizer: a single-turn chosen answer tokenises exactly as the same SFT example of
 * story-titles does; chosen and rejected share the prompt tokens; only the final answer (through </s>) is labelled,
 * also after a multi-turn prompt; a pair cut off by Max length is skipped with its file and row; a batch holds the
 * chosen rows then the rejected rows of the same pairs, right-padded, with the per-row label counts.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadChatTokenizer, type ChatTokenizer } from '../../src/io/tokenizer/load';
import { IGNORE_INDEX, tokenizeConversation } from '../../src/io/tokenizer/labels';
import { preparePairSplit, tokenizePair } from '../../src/io/tokenizer/pairs';
import { refusalOf } from '../../src/io/tokenizer/prepare';
import { parseDataset } from '../../src/io/dataset/parse';
import { makePreferenceBatches } from '../../src/io/dataset/prefBatches';
import type { PreferencePair } from '../../src/io/dataset/types';
import { modelFilesFromDir } from '../../src/node/files';
import { tokenizePreferenceData } from '../../src/app/trainingData';
import type { TrainEvent, TrainSettings } from '../../src/engine/train/types';

const DATA = '/work/shared/datasets';
const read = (f: string) => parseDataset(readFileSync(`${DATA}/${f}`, 'utf8'), f);
let tok: ChatTokenizer;
let pairs: PreferencePair[];
beforeAll(async () => {
  tok = await loadChatTokenizer(await modelFilesFromDir('/work/shared/models/stories260K-instruct'));
  pairs = read('story-titles-pref.train.trl.jsonl').pairs.slice(0, 5);
});

/** Decoded text of the labelled tokens (one contiguous run) and where it starts. */
function labelled(ex: { inputIds: Int32Array; labels: Int32Array }): { start: number; text: string } {
  const on = [...ex.labels].map((l, t) => (l === IGNORE_INDEX ? -1 : t)).filter((t) => t >= 0);
  const start = on[0] as number;
  const end = (on[on.length - 1] as number) + 1;
  expect(on).toEqual(Array.from({ length: end - start }, (_, k) => start + k));
  for (const t of on) expect(ex.labels[t]).toBe(ex.inputIds[t]);
  return { start, text: tok.decode(ex.inputIds.subarray(0, end)).slice(tok.decode(ex.inputIds.subarray(0, start)).length) };
}

describe('tokenizePair', () => {
  it('chosen = the story-titles SFT example token for token; rejected shares its prompt; only the answer and </s> are labelled', () => {
    const sft = read('story-titles.train.messages.jsonl').conversations.slice(0, 5);
    pairs.forEach((p, i) => {
      const t = tokenizePair(tok, p, 512, 512);
      const s = tokenizeConversation(tok, sft[i] as (typeof sft)[number], 512, 512);
      expect([...t.chosen.inputIds]).toEqual([...s.inputIds]);
      expect([...t.chosen.labels]).toEqual([...s.labels]);
      const c = labelled(t.chosen);
      const r = labelled(t.rejected);
      expect(c.start).toBe(r.start);
      expect([...t.rejected.inputIds.subarray(0, r.start)]).toEqual([...t.chosen.inputIds.subarray(0, c.start)]);
      expect(c.text).toBe(` ${p.chosen}</s>`);
      expect(r.text).toBe(` ${p.rejected}</s>`);
      expect([t.file, t.row]).toEqual(['story-titles-pref.train.trl.jsonl', i + 1]);
    });
  });

  it('after a multi-turn prompt only the final answer is labelled (earlier assistant turns are prompt)', () => {
    const p: PreferencePair = { prompt: [{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Hello there.' }, { role: 'user', content: 'A story?' }], chosen: 'Yes.', rejected: 'No.', source: 'm.jsonl line 1' };
    const t = tokenizePair(tok, p, 512, 512);
    expect(labelled(t.chosen).text).toBe(' Yes.</s>');
    expect(labelled(t.rejected).text).toBe(' No.</s>');
    expect(t.chosen.tokenSpans).toHaveLength(1);
    expect(t.chosen.text).toContain('Assistant: Hello there.</s>User: A story?');
  });

  it('a pair whose answer Max length cuts off is skipped with file, row and reason; refusalOf counts it', () => {
    const starts = pairs.slice(0, 2).map((p) => tokenizePair(tok, p, 512, 512).chosen.tokenSpans[0]?.[0] as number);
    const prompt = Math.min(...starts);
    const split = preparePairSplit(tok, pairs.slice(0, 2), [{ file: 'x.jsonl', row: 9, reason: 'parser' }], prompt, 512);
    expect(split.examples).toHaveLength(0);
    expect(split.rows).toBe(3);
    expect(split.skipped[1]).toEqual({ file: 'story-titles-pref.train.trl.jsonl', row: 1, reason: `the chosen answer starts at token ${starts[0]}, after Max length ${prompt} (the prompt alone fills it)` });
    expect(refusalOf(split, 'training')).toMatch(/^No training rows left: all 3 rows were skipped/);
    const cut = preparePairSplit(tok, pairs.slice(0, 1), [], (starts[0] as number) + 3, 512).examples[0];
    expect([cut?.chosen.truncated, cut?.chosen.inputIds.length, cut?.chosen.labels.filter((l) => l !== IGNORE_INDEX).length]).toEqual([true, (starts[0] as number) + 3, 3]);
  });
});

describe('makePreferenceBatches', () => {
  it('chosen rows then rejected rows of the same pairs, right-padded with labels -100, label counts after the shift', () => {
    const tp = pairs.map((p) => tokenizePair(tok, p, 512, 512));
    const batches = makePreferenceBatches(tp, 2, { padTokenId: tok.padTokenId, seed: 7 });
    expect(batches.map((b) => [b.pairs, b.batchSize])).toEqual([[2, 4], [2, 4], [1, 2]]);
    const seen = batches.flatMap((b) => b.sources);
    expect([...seen].sort()).toEqual(tp.map((p) => p.source).sort());
    for (const b of batches) {
      const rows = [...b.sources.map((s) => tp.find((p) => p.source === s)?.chosen), ...b.sources.map((s) => tp.find((p) => p.source === s)?.rejected)];
      expect(b.seqLen).toBe(Math.max(...rows.map((r) => r?.inputIds.length ?? 0)));
      rows.forEach((r, k) => {
        const n = r?.inputIds.length ?? 0;
        expect([...b.inputIds.subarray(k * b.seqLen, k * b.seqLen + n)]).toEqual([...(r?.inputIds ?? [])]);
        expect([...b.inputIds.subarray(k * b.seqLen + n, (k + 1) * b.seqLen)].every((x) => x === tok.padTokenId)).toBe(true);
        expect([...b.labels.subarray(k * b.seqLen + n, (k + 1) * b.seqLen)].every((x) => x === IGNORE_INDEX)).toBe(true);
        expect(b.labelCounts[k]).toBe(r?.labels.filter((l, t) => t > 0 && l !== IGNORE_INDEX).length);
      });
      expect(b.numItems).toBe([...b.labelCounts].reduce((a, x) => a + x, 0));
    }
    expect(() => makePreferenceBatches(tp, 0)).toThrow('pairs per batch must be a positive integer, got 0');
    expect(() => makePreferenceBatches(tp, 2, { maxLength: 10 })).toThrow(/story-titles-pref\.train\.trl\.jsonl line 1: the chosen answer has no labelled token within 10 tokens/);
  });
});

describe('tokenizePreferenceData', () => {
  it('tokenises both splits with preparing events; refuses a split with more than half its pairs skipped', () => {
    const events: TrainEvent[] = [];
    const settings = { maxLength: 512, chatTemplateKwargs: {} } as unknown as TrainSettings; // the two fields it reads
    const held = read('story-titles-pref.heldout.alpaca.json').pairs.slice(0, 2);
    const d = tokenizePreferenceData(tok, { pairs, skipped: [] }, { pairs: held, skipped: [{ file: 'h.json', row: 3, reason: 'x' }] }, settings, 512, 'stories260K-instruct', (e) => events.push(e));
    expect([d.train.length, d.heldout?.length, d.heldoutSplit?.rows, d.truncated]).toEqual([5, 2, 3, 0]);
    expect(events.map((e) => ('message' in e ? e.message : ''))).toEqual([
      'tokenising 7 preference pairs (chosen and rejected) with the stories260K-instruct chat template',
      'held-out: 2 pairs kept, 1 skipped (first: h.json row 3: x)',
    ]);
    const skipped = [1, 2, 3, 4, 5, 6].map((row) => ({ file: 't.json', row, reason: 'bad' }));
    expect(() => tokenizePreferenceData(tok, { pairs, skipped }, { pairs: [], skipped: [] }, settings, 512, 'm', () => {})).toThrow('6 of 11 training rows were skipped, more than 50% (first: t.json row 1: bad)');
  });
});
