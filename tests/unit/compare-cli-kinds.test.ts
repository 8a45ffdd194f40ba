/**
 * `shadowft compare` refusals of the kind flags before any training or writing: stage dpo with finetuning_type full
 * (naming both settings), --write-merged without --finetuning-type full, a dataset of the other kind for the stage
 * (as `shadowft train --stage dpo` refuses it), a bad --finetuning-type.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareCommand } from '../../src/cli/compare';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const M = '../shared/models';
const D = '../shared/datasets';
const args = (out: string, data: 'sft' | 'pref', extra: string[]): string[] => {
  const [train, heldout] = data === 'pref' ? ['story-titles-pref.train.trl.jsonl', 'story-titles-pref.heldout.trl.jsonl'] : ['story-titles.train.alpaca.json', 'story-titles.heldout.alpaca.json'];
  return [`${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', `${D}/${train}`, '--heldout', `${D}/${heldout}`, '--out', out, ...extra];
};

describe('shadowft compare kind flags', () => {
  it('refuses conflicting or misplaced kind flags, writing nothing', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-compare-kinds-'));
    dirs.push(tmp);
    const out = join(tmp, 'cmp');
    await expect(compareCommand.run(args(out, 'pref', ['--stage', 'dpo', '--finetuning-type', 'full']))).rejects.toThrow(/^Stage DPO with Fine-tuning type full: preference training \(stage dpo\) trains LoRA only/);
    await expect(compareCommand.run(args(out, 'sft', ['--write-merged']))).rejects.toThrow('--write-merged applies to --finetuning-type full');
    await expect(compareCommand.run(args(out, 'sft', ['--stage', 'dpo']))).rejects.toThrow(/^--train .*story-titles\.train\.alpaca\.json is an SFT dataset \(conversations\); --stage dpo needs preference pairs/);
    await expect(compareCommand.run(args(out, 'pref', []))).rejects.toThrow(/is a preference dataset \(chosen\/rejected pairs\); train it with --stage dpo/);
    await expect(compareCommand.run(args(out, 'sft', ['--finetuning-type', 'qlora']))).rejects.toThrow('--finetuning-type: expected lora or full, got qlora');
    await expect(stat(out)).rejects.toThrow();
  });
});
