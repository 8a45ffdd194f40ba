/**
 * The studio's pieces of a full-parameter run (finetuning_type full) that need no GPU: the settings YAML (LLaMA-Factory
 * finetuning_type; "Train embeddings" off as the studio's comment line), the form's switch (FinetuningFields
 * withFinetuningType), the estimate's FLOPs (app/runEstimate.ts flopsOf against the per-part count written out here),
 * the run-history Settings column, the progress phase labels, and the checkpoint identity (absent = lora).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/io/config';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { FROZEN_EMBEDDINGS_LINE, settingsFromYaml, settingsToYaml } from '../../src/store/settingsYaml';
import { withFinetuningType } from '../../src/ui/finetuningType';
import { flopsOf, type RunEstimate } from '../../src/app/runEstimate';
import { settingsSummary } from '../../src/store/runHistory';
import { planPhases, ASSUMED_SPEEDS } from '../../src/store/runProgress';
import { flattenSettings } from '../../src/engine/train/checkpoint';
import type { Batch } from '../../src/io/dataset/types';

const demo = normalizeConfig(JSON.parse(readFileSync('../shared/models/stories260K-base/config.json', 'utf8')) as Record<string, unknown>, 'config.json');
const d = defaultTrainSettings(demo, 300);
const ctx = { baseModel: 'stories260K-base', totalSteps: 100 };
const known = JSON.parse(readFileSync('src/app/handoff/llamafactoryKeys.json', 'utf8')) as Record<string, unknown>;
const keys = new Set(Object.values(known).filter(Array.isArray).flat() as string[]);

describe('full-parameter settings', () => {
  it('the YAML says finetuning_type full without lora_* keys, and reads back Train embeddings on and off', () => {
    for (const trainEmbeddings of [true, false]) {
      const s = { ...d, finetuningType: 'full' as const, trainEmbeddings, learningRate: 1e-5 };
      const text = settingsToYaml(s, ctx);
      const y = parse(text) as Record<string, unknown>;
      expect(y.finetuning_type).toBe('full');
      expect(Object.keys(y).filter((k) => k.startsWith('lora_'))).toEqual([]);
      for (const k of Object.keys(y)) expect(keys.has(k), k).toBe(true);
      expect(text.includes(FROZEN_EMBEDDINGS_LINE)).toBe(!trainEmbeddings);
      const back = settingsFromYaml(text, d, ctx, 'full.yaml');
      expect(back.ignored).toEqual([]);
      expect(back.settings).toMatchObject({ finetuningType: 'full', trainEmbeddings, learningRate: 1e-5 });
    }
    // A LoRA YAML over full settings goes back to LoRA (absent = lora); freeze tuning and its keys are named as ignored.
    const lora = settingsFromYaml('finetuning_type: lora\n', { ...d, finetuningType: 'full', trainEmbeddings: false }, ctx, 'lora.yaml');
    expect(lora.settings.finetuningType).toBeUndefined();
    expect(lora.settings.trainEmbeddings).toBeUndefined();
    const freeze = settingsFromYaml('finetuning_type: freeze\nfreeze_trainable_layers: 2\n', d, ctx, 'freeze.yaml');
    expect(freeze.ignored).toEqual(['finetuning_type: freeze — the studio trains lora or full (freeze: see the handoff export)', 'freeze_trainable_layers: belongs to finetuning_type freeze, which the studio does not train']);
  });

  it('the form switch stores lora as absent (older settings and checkpoints compare equal) and full with Train embeddings on', () => {
    const full = withFinetuningType(d, 'full');
    expect(full).toEqual({ ...d, finetuningType: 'full', trainEmbeddings: true });
    expect(withFinetuningType({ ...full, trainEmbeddings: false }, 'full').trainEmbeddings).toBe(false);
    expect(withFinetuningType(full, 'lora')).toEqual(d);
    expect(flattenSettings(withFinetuningType(full, 'lora'))).toEqual(flattenSettings(d));
  });

  it('the estimate counts every weight gradient of a full step, and the head gradient only when the head is trained', () => {
    const batches = [{ batchSize: 2, seqLen: 7 }, { batchSize: 1, seqLen: 3 }] as unknown as Batch[];
    const full = { ...d, finetuningType: 'full' as const, trainEmbeddings: true };
    // Written out: forward + input gradient of every linear (4·in·out per token), plus dW (2·in·out per token), the
    // lm_head forward + hidden gradient (4·C·V) and its dE (2·C·V; demo's head is tied), attention 12·D per visible pair.
    const C = 64, V = 512, L = 5, H = 8, D = 8;
    const N = 4096 + 2048 + 2048 + 4096 + 3 * 11008;
    const perStep = (B: number, T: number, head: boolean) => L * 6 * N * B * T + (4 + (head ? 2 : 0)) * C * V * B * T + L * B * H * ((T * (T + 1)) / 2) * 12 * D;
    expect(demo.tieWordEmbeddings).toBe(true);
    expect(flopsOf(demo, full, batches, false)).toBe(perStep(2, 7, true) + perStep(1, 3, true));
    expect(flopsOf(demo, { ...full, trainEmbeddings: false }, batches, false)).toBe(perStep(2, 7, false) + perStep(1, 3, false));
    // Forward-only evaluation of a full run has no LoRA branch, whatever the (unused) LoRA settings say.
    expect(flopsOf(demo, full, batches, true)).toBe(flopsOf(demo, { ...d, lora: { ...d.lora, targetModules: [] } }, batches, true));
  });

  it('the history names finetuning_type full instead of the LoRA settings; the phases say tuned Base / Instruct + graft (full)', () => {
    const text = settingsSummary({ settings: { ...d, finetuningType: 'full', trainEmbeddings: false }, totalSteps: 4 });
    expect(text).toContain('finetuning_type full (embeddings frozen)');
    expect(text).not.toContain(`r ${d.lora.r},`);
    const est = { totalSteps: 4, conversations: 10, baseBytes: 1e6, instructBytes: 1e6, trainFlops: 1e9, evalPassFlops: 1e8, evalPasses: 4, evalsDuringTraining: 0, finetuningType: 'full' } as unknown as RunEstimate;
    const labels = planPhases(est, ASSUMED_SPEEDS).map((p) => p.label);
    expect(labels).toContain('Held-out loss: tuned Base (full)');
    expect(labels).toContain('Held-out loss: Instruct + graft (full)');
    expect(labels.join()).not.toContain('LoRA');
  });
});
