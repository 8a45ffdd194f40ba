/**
 * The dataset preview (src/app/datasetPreview.ts) on the demo pair: the first row's render cut into plain and
 * labelled pieces (stories260K template: "User: q\nAssistant:" then " answer</s>" labelled), token counts, rows cut
 * by Max length, kept/skipped counts, and the refusal when nothing is left or more than half a split is skipped;
 * preference files: the kind in the session summary, a pair's chosen and rejected renders with their labelled
 * answers, and the refusal when SFT and preference files are ticked together.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultSettingsFor } from '../../src/app/training';
import { MIXED_KINDS_REFUSAL, previewFor } from '../../src/app/datasetPreview';
import { Session } from '../../src/app/session';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] } };
const pairFiles = async () => Promise.all([manifest.base, manifest.instruct].flatMap((m) => m.files.map(async (f) => ({ path: `${m.name}/${f}`, file: await openAsBlob(`${DEMO}/${m.name}/${f}`) }))));

describe('dataset preview', () => {
  it('says how many kept rows are held-out', async () => {
    const s = new Session();
    await s.add(await pairFiles());
    const rows = [{ instruction: 'Say hi.', output: 'Hi there.' }, { instruction: 'Say bye.', output: 'Bye.' }];
    await s.add([{ path: 'd/train.json', file: new Blob([JSON.stringify(rows)]) }]);
    const settings = defaultSettingsFor(s);
    expect((await previewFor(s, settings)).keptHeldout).toBe(0);
    await s.add([{ path: 'd/heldout.json', file: new Blob([JSON.stringify(rows.slice(0, 1))]) }]);
    const p = await previewFor(s, settings);
    expect([p.kept, p.keptHeldout]).toEqual([3, 1]);
  });

  it('renders the first rows with labelled pieces, counts tokens, truncation and skips; refuses when too much is skipped', async () => {
    const s = new Session();
    await s.add(await pairFiles());
    const rows = [{ instruction: 'Say hi.', output: 'Hi there.' }, { instruction: 'Say bye.', output: 'Bye.' }, { instruction: 'nothing' }];
    await s.add([{ path: 'd/train.json', file: new Blob([JSON.stringify(rows)]) }]);
    const settings = defaultSettingsFor(s);
    const p = await previewFor(s, settings);
    expect([p.kept, p.skipped, p.truncatedRows, p.refusal]).toEqual([2, 1, 0, null]);
    expect(p.skippedRows).toEqual([{ file: 'd/train.json', row: 3, reason: "field 'output' is missing" }]);
    expect(p.rows[0]?.pieces).toEqual([{ text: '<s>User: Say hi.\nAssistant:', labelled: false, cut: false }, { text: ' Hi there.</s>', labelled: true, cut: false }]);
    expect(p.rows[0]?.labelledTokens).toBeGreaterThan(1);
    expect(p.rows[0]?.tokens).toBeGreaterThan(p.rows[0]?.labelledTokens ?? 0);
    expect(p.templateOptions).toEqual([]);
    const short = await previewFor(s, { ...settings, maxLength: 4 });
    expect(short.truncatedRows).toBe(2);
    // Max length 4 keeps "<s>User: Say…" only: the answer is past the cut, so nothing is shown as labelled (issue 20, fault 7).
    expect(short.rows[0]?.labelledTokens).toBe(0);
    expect(short.rows[0]?.pieces.filter((x) => x.labelled)).toEqual([]);
    expect(short.rows[0]?.pieces.map((x) => x.text).join('')).toBe('<s>User: Say hi.\nAssistant: Hi there.</s>');
    expect(short.rows[0]?.pieces.at(-1)).toMatchObject({ text: expect.stringContaining('Hi there.</s>'), cut: true });
    const answerKept = await previewFor(s, { ...settings, maxLength: p.rows[0]!.tokens - 1 });
    expect(answerKept.rows[0]?.labelledTokens).toBe(p.rows[0]!.labelledTokens - 1);
    expect(answerKept.rows[0]?.pieces.some((x) => x.labelled) && answerKept.rows[0]?.pieces.some((x) => x.cut)).toBe(true);
    await s.add([{ path: 'd/train.json', file: new Blob([JSON.stringify([rows[0], rows[2], rows[2]])]) }]);
    const bad = await previewFor(s, settings);
    expect(bad.refusal).toBe("2 of 3 training rows were skipped, more than 50% (first: d/train.json row 2: field 'output' is missing); fix the data or untick the file.");
    await s.add([{ path: 'd/train.json', file: new Blob([JSON.stringify([rows[2]])]) }]);
    expect((await previewFor(s, settings)).refusal).toBe("No training rows left: all 1 rows were skipped (first: d/train.json row 1: field 'output' is missing).");
  });
});

describe('dataset preview of preference pairs', () => {
  it('shows the kind, a pair with both labelled answers, pair counts and skips; refuses SFT and preference files ticked together', async () => {
    const s = new Session();
    await s.add(await pairFiles());
    const lines = readFileSync('/work/shared/datasets/story-titles-pref.train.trl.jsonl', 'utf8').split('\n').slice(0, 4);
    await s.add([{ path: 'd/pref.trl.jsonl', file: new Blob([[...lines, '{"prompt": "x"}'].join('\n')]) }]);
    expect(s.current().datasets.map((d) => [d.kind, d.schema, d.examples, d.skippedCount])).toEqual([['preference', 'trl-conversational', 4, 1]]);
    expect(s.current().trainExamples).toBe(4);
    const settings = defaultSettingsFor(s);
    const p = await previewFor(s, settings);
    expect([p.kind, p.kept, p.skipped, p.refusal, p.rows.length, p.pairs.length]).toEqual(['preference', 4, 1, null, 0, 3]);
    expect(p.skippedRows).toEqual([{ file: 'd/pref.trl.jsonl', row: 5, reason: "no 'chosen' and 'rejected' fields; this file holds preference pairs (an SFT row cannot be mixed in)" }]);
    const first = JSON.parse(lines[0] as string) as { prompt: { content: string }[]; chosen: { content: string }[]; rejected: { content: string }[] };
    expect([p.pairs[0]?.file, p.pairs[0]?.row]).toEqual(['d/pref.trl.jsonl', 1]);
    expect(p.pairs[0]?.chosen.pieces).toEqual([{ text: `<s>User: ${first.prompt[0]?.content}\nAssistant:`, labelled: false, cut: false }, { text: ` ${first.chosen[0]?.content}</s>`, labelled: true, cut: false }]);
    expect(p.pairs[0]?.rejected.pieces).toEqual([{ text: `<s>User: ${first.prompt[0]?.content}\nAssistant:`, labelled: false, cut: false }, { text: ` ${first.rejected[0]?.content}</s>`, labelled: true, cut: false }]);
    expect(p.pairs[0]?.chosen.labelledTokens).toBeGreaterThan(p.pairs[0]?.rejected.labelledTokens ?? Infinity);
    await s.add([{ path: 'd/sft.json', file: new Blob([JSON.stringify([{ instruction: 'Say hi.', output: 'Hi there.' }])]) }]);
    const mixed = await previewFor(s, settings);
    expect([mixed.kind, mixed.kept, mixed.rows.length, mixed.refusal]).toEqual(['mixed', 5, 1, MIXED_KINDS_REFUSAL]);
  });
});
