/**
 * The dataset preview (src/app/datasetPreview.ts) on the demo pair: the first row's render cut into plain and
 * labelled pieces (stories260K template: "User: q\nAssistant:" then " answer</s>" labelled), token counts, rows cut
 * by Max length, kept/skipped counts, and the refusal when nothing is left or more than half a split is skipped.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultSettingsFor } from '../../src/app/training';
import { previewFor } from '../../src/app/datasetPreview';
import { Session } from '../../src/app/session';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] } };
const pairFiles = async () => Promise.all([manifest.base, manifest.instruct].flatMap((m) => m.files.map(async (f) => ({ path: `${m.name}/${f}`, file: await openAsBlob(`${DEMO}/${m.name}/${f}`) }))));

describe('dataset preview', () => {
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
