/**
 * `shadowft handoff --stage dpo`: LLaMA-Factory `stage: dpo` recipes for Base (Shadow-DPO) and Instruct with
 * pref_beta / pref_loss / pref_ftx, every key a LLaMA-Factory argument (llamafactoryKeys.json), and the pairs in
 * LLaMA-Factory's ShareGPT ranking layout with a `ranking: true` dataset_info entry, which our own parser reads back
 * as the same pairs. An SFT file is refused for dpo by name.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { handoffCommand } from '../../src/cli/handoff';
import { parseDataset } from '../../src/io/dataset/parse';
import { rankingInfoEntry, rankingJson } from '../../src/app/handoff/ranking';
import type { PreferencePair } from '../../src/io/dataset/types';

const SHARED = join(__dirname, '../../../shared');
const BASE = join(SHARED, 'models/stories260K-base');
const INSTRUCT = join(SHARED, 'models/stories260K-instruct');
const TRAIN = join(SHARED, 'datasets/story-titles-pref.train.trl.jsonl');
const HELD = join(SHARED, 'datasets/story-titles-pref.heldout.alpaca.json');
const tmp = mkdtempSync(join(tmpdir(), 'shadowft-handoff-dpo-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const keyList = JSON.parse(readFileSync(join(__dirname, '../../src/app/handoff/llamafactoryKeys.json'), 'utf8')) as Record<string, unknown>;
const allowed = new Set(['model_args', 'data_args', 'finetuning_args', 'training_args', 'transformers_training_args'].flatMap((k) => keyList[k] as string[]));
const yamlOf = (dir: string, f: string): Record<string, unknown> => parse(readFileSync(join(dir, f), 'utf8'), { version: '1.1' }) as Record<string, unknown>;

describe('shadowft handoff --stage dpo', () => {
  it('writes stage dpo recipes with the pref_* settings and ranking data that round-trips', async () => {
    const out = join(tmp, 'dpo');
    expect(await handoffCommand.run([BASE, INSTRUCT, '--train', TRAIN, '--heldout', HELD, '--out', out, '--stage', 'dpo', '--pref-beta', '0.2', '--pref-loss', 'ipo', '--pref-ftx', '0.5', '--batch-size', '4'])).toBe(0);
    for (const f of ['train_shadow_base.yaml', 'train_conventional_instruct.yaml']) {
      const y = yamlOf(out, f);
      for (const k of Object.keys(y)) expect(allowed.has(k), `${f}: ${k} is a LLaMA-Factory argument`).toBe(true);
      expect(y).toMatchObject({ stage: 'dpo', pref_beta: 0.2, pref_loss: 'ipo', pref_ftx: 0.5, finetuning_type: 'lora', dataset: expect.any(String), eval_dataset: expect.any(String), per_device_train_batch_size: 4 });
    }
    expect(yamlOf(out, 'train_shadow_base.yaml').model_name_or_path).not.toBe(yamlOf(out, 'train_conventional_instruct.yaml').model_name_or_path);
    const info = JSON.parse(readFileSync(join(out, 'data/dataset_info.json'), 'utf8')) as Record<string, { file_name: string; formatting: string; ranking: boolean; columns: Record<string, string> }>;
    const entries = Object.values(info);
    expect(entries).toHaveLength(2);
    for (const e of entries) expect(e).toMatchObject({ formatting: 'sharegpt', ranking: true, columns: { messages: 'conversations', chosen: 'chosen', rejected: 'rejected' } });
    // No pair has a system message: no system column (LLaMA-Factory get_dataset raises KeyError: 'system' otherwise).
    for (const e of entries) expect(e.columns.system).toBeUndefined();
    const want = parseDataset(readFileSync(TRAIN, 'utf8'), 'train.trl.jsonl').pairs;
    const text = readFileSync(join(out, 'data/train.json'), 'utf8');
    const first = (JSON.parse(text) as unknown[])[0];
    expect(first).toEqual({ conversations: [{ from: 'human', value: want[0]?.prompt[0]?.content }], chosen: { from: 'gpt', value: want[0]?.chosen }, rejected: { from: 'gpt', value: want[0]?.rejected } });
    const back = parseDataset(text, 'train.json');
    expect(back.kind).toBe('preference');
    expect(back.pairs.map((p) => [p.prompt, p.chosen, p.rejected])).toEqual(want.map((p) => [p.prompt, p.chosen, p.rejected]));
    expect(parseDataset(readFileSync(join(out, 'data/heldout.json'), 'utf8'), 'heldout.json').pairs).toHaveLength(60);
  });

  it('declares the system column only when some pair has a system message, and then writes it on every record', () => {
    const pair = (system?: string): PreferencePair => ({ prompt: [...(system !== undefined ? [{ role: 'system' as const, content: system }] : []), { role: 'user' as const, content: 'q' }], chosen: 'a', rejected: 'b', source: 'x' });
    const mixed = [pair('be brief'), pair()];
    expect(rankingInfoEntry('t.json', mixed).columns).toEqual({ messages: 'conversations', chosen: 'chosen', rejected: 'rejected', system: 'system' });
    expect((JSON.parse(rankingJson(mixed)) as { system?: string }[]).map((r) => r.system)).toEqual(['be brief', '']);
    expect(rankingInfoEntry('t.json', [pair(), pair('')]).columns).toEqual({ messages: 'conversations', chosen: 'chosen', rejected: 'rejected' });
    expect((JSON.parse(rankingJson([pair(), pair('')])) as Record<string, unknown>[]).every((r) => !('system' in r))).toBe(true);
  });

  it('refuses an SFT file for --stage dpo by name', async () => {
    await expect(handoffCommand.run([BASE, INSTRUCT, '--train', join(SHARED, 'datasets/story-titles.train.csv'), '--out', join(tmp, 'x'), '--stage', 'dpo'])).rejects.toThrow(/story-titles\.train\.csv is an SFT dataset \(conversations\); --stage dpo needs preference pairs/);
  });
});
