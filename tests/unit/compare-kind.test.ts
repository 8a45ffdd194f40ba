/**
 * Compare per kind (issues 17 and 18): the kind chosen from stage × finetuning_type (DPO + full refused naming both
 * settings), the five models' labels and sources per kind, the DPO wording (preference accuracy first, under the
 * same two-proportion tie rule, then the held-out loss on the chosen answers) and the DPO CSV columns.
 */
import { describe, expect, it } from 'vitest';
import { compareKindOf, compareModelLabels, groupByCheckpoint, modelSources, type CompareSide } from '../../src/app/compare/kind';
import { describeComparison, type WordingInput } from '../../src/app/compare/wording';
import { compareCsv, compareCsvFields } from '../../src/ui/compare/compareCsv';
import type { Checkpoint } from '../../src/io/checkpoint';
import type { ModelConfig } from '../../src/io/config/types';
import type { LoraAdapter } from '../../src/engine/model/loraTypes';
import type { CompareResult } from '../../src/app/compare/types';
import type { Wording } from '../../src/app/compare/wording';
import Papa from 'papaparse';

const zeros = { instruct: 0, instruct_conventional: 0, instruct_shadow: 0, base: 0, base_lora: 0 };
const dpo: WordingInput = {
  preference_accuracy: { instruct: 0, instruct_conventional: 0.55, instruct_shadow: 0.95, base: 0, base_lora: 0.9 },
  heldout_examples: 40,
  heldout_loss: { instruct: 1.3668, instruct_conventional: 1.2, instruct_shadow: 1.1, base: 1.4753, base_lora: 1.0 },
  exact_match: zeros,
  check_rate: zeros,
  eval_prompts: 10,
  checkRegex: '',
  labels: compareModelLabels({ stage: 'dpo' }),
};

describe('compare kinds', () => {
  it('chooses the kind from stage and finetuning_type and refuses DPO with full, naming both settings', () => {
    expect(compareKindOf({})).toEqual({ stage: 'sft', finetuningType: 'lora' });
    expect(compareKindOf({ stage: 'dpo' })).toEqual({ stage: 'dpo', finetuningType: 'lora' });
    expect(compareKindOf({ finetuningType: 'full' })).toEqual({ stage: 'sft', finetuningType: 'full' });
    expect(() => compareKindOf({ stage: 'dpo', finetuningType: 'full' })).toThrow(/^Stage DPO with Fine-tuning type full: .*LoRA only/);
  });

  it('labels the models per kind', () => {
    expect(compareModelLabels({ stage: 'dpo' })).toMatchObject({ instruct_conventional: 'Instruct + DPO', instruct_shadow: 'Instruct + Shadow-DPO graft', base_lora: 'Base + DPO' });
    expect(compareModelLabels({ finetuningType: 'full' }).base_lora).toBe('Tuned Base');
    expect(compareModelLabels({}).instruct_conventional).toBe('Instruct + conventional LoRA');
  });

  it('builds LoRA models as adapters on the pair and full models from their own checkpoints', () => {
    const ck = (n: string) => ({ modelName: n }) as unknown as Checkpoint;
    const side = (n: string): CompareSide => ({ name: n, config: { hiddenSize: 1 } as ModelConfig, checkpoint: ck(n) });
    const [b, i] = [side('b'), side('i')];
    const [sa, ca] = [{ id: 's' } as unknown as LoraAdapter, { id: 'c' } as unknown as LoraAdapter];
    const lora = modelSources(b, i, { finetuningType: 'lora', adapters: { shadow: sa, conventional: ca } });
    expect([lora.instruct_shadow.checkpoint, lora.instruct_shadow.adapter, lora.base_lora.checkpoint, lora.base_lora.adapter, lora.instruct_conventional.adapter]).toEqual([i.checkpoint, sa, b.checkpoint, sa, ca]);
    expect(groupByCheckpoint(lora).map((g) => g.variants.map((v) => v.model))).toEqual([['base', 'base_lora'], ['instruct', 'instruct_conventional', 'instruct_shadow']]);
    const w = { tunedBase: ck('tb'), tunedInstruct: ck('ti'), graft: ck('g') };
    const full = modelSources(b, i, { finetuningType: 'full', weights: w });
    expect([full.base_lora.checkpoint, full.instruct_conventional.checkpoint, full.instruct_shadow.checkpoint, full.instruct_shadow.adapter]).toEqual([w.tunedBase, w.tunedInstruct, w.graft, null]);
    expect(groupByCheckpoint(full).map((g) => g.variants.map((v) => v.model))).toEqual([['base'], ['base_lora'], ['instruct'], ['instruct_conventional'], ['instruct_shadow']]);
  });
});

describe('DPO wording', () => {
  it('gives the preference accuracy first, then the held-out loss on the chosen answers, with the DPO names', () => {
    const w = describeComparison(dpo);
    expect(w.verdicts.map((v) => v.measure)).toEqual(['preference_accuracy', 'heldout_loss', 'exact_match']);
    // 0.95 vs 0.90 over 40 pairs: within 1.96·√(p̄(1−p̄)·2/40) ≈ 0.12, a tie at the top.
    expect(w.verdicts[0]?.winner).toBeNull();
    expect(w.verdicts[0]?.text).toBe('Preference accuracy: Instruct + Shadow-DPO graft (38/40), Base + DPO (36/40) tie within noise for highest.');
    expect(w.verdicts[1]?.text).toBe('Held-out loss on the chosen answers: Base + DPO is lowest (1.000); next Instruct + Shadow-DPO graft (1.100).');
    expect(w.notes.some((n) => n.includes('Instruct and Base score 0 by construction'))).toBe(true);
  });

  it('names a clear preference winner beyond noise', () => {
    const w = describeComparison({ ...dpo, preference_accuracy: { ...zeros, instruct_shadow: 0.95, instruct_conventional: 0.5, base_lora: 0.4 } });
    expect(w.verdicts[0]?.winner).toBe('instruct_shadow');
    expect(w.verdicts[0]?.text).toBe('Preference accuracy: Instruct + Shadow-DPO graft is highest (38/40); next Instruct + DPO (20/40).');
  });

  it('has no preference verdict for SFT (no preference measures)', () => {
    const { preference_accuracy: _p, labels: _l, ...sft } = dpo;
    expect(describeComparison(sft).verdicts.map((v) => v.measure)).toEqual(['heldout_loss', 'exact_match']);
    expect(describeComparison({ ...sft, preference_accuracy: { ...zeros, instruct: null, instruct_conventional: null, instruct_shadow: null, base: null, base_lora: null } }).verdicts[0]?.measure).toBe('heldout_loss');
  });
});

describe('DPO CSV', () => {
  it('adds the preference columns after the label, with the DPO labels', () => {
    const nulls = { instruct: null, instruct_conventional: null, instruct_shadow: null, base: null, base_lora: null };
    const r = { ...dpo, stage: 'dpo', finetuning_type: 'lora', mean_answer_tokens: zeros, reward_margin: { ...zeros, instruct_shadow: 0.25 }, chosen_logps: { ...zeros, base: -12.5 }, rejected_logps: zeros } as unknown as CompareResult;
    expect(compareCsvFields(r)).toEqual(['model', 'label', 'preference_accuracy', 'reward_margin', 'chosen_logps', 'rejected_logps', 'heldout_loss', 'exact_match', 'check_rate', 'mean_answer_tokens']);
    const rows = Papa.parse<string[]>(compareCsv({ result: r, wording: {} as Wording, samples: [] })).data;
    expect(rows[3]).toEqual(['instruct_shadow', 'Instruct + Shadow-DPO graft', '0.95', '0.25', '0', '0', '1.1', '0', '0', '0']);
    expect(rows[4]?.slice(0, 5)).toEqual(['base', 'Base', '0', '0', '-12.5']);
    expect(compareCsvFields({ ...r, preference_accuracy: nulls })).toHaveLength(6);
  });
});

describe('after a full-parameter comparison', () => {
  it('refuses adapter exports with the reason and says why Try it has no tuned models', async () => {
    const { compareAdaptersOf, tryInfoAfterCompare } = await import('../../src/app/compareSession');
    expect(() => compareAdaptersOf({ adapters: null })).toThrow(/^This comparison was full-parameter \(Fine-tuning type full\): it trained every weight, so it has no LoRA adapter/);
    const infos = [
      { model: 'instruct' as const, label: 'Instruct', available: true, why: null },
      { model: 'instruct_conventional' as const, label: 'c', available: false, why: 'run Compare first' },
      { model: 'base_lora' as const, label: 'b', available: false, why: 'train LoRA or run Compare first' },
    ];
    const after = tryInfoAfterCompare(infos, { adapters: null });
    expect(after.map((i) => i.why)).toEqual([null, expect.stringMatching(/^the last Compare was full-parameter/), expect.stringMatching(/^the last Compare was full-parameter/)]);
    expect(tryInfoAfterCompare(infos, { adapters: {} })).toEqual(infos);
    expect(tryInfoAfterCompare(infos, null)).toEqual(infos);
  });
});
