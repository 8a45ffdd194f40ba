/**
 * Stage dpo outside the GPU: the CLI flags (--stage --pref-beta --pref-loss --pref-ftx) and their refusals, the
 * settings checks, the dataset-kind refusal by file name, the memory plan's two sequences per pair, the checkpoint
 * file's reference log-probs (F64, bit-exact) and the settings normalisation on resume.
 */
import { describe, expect, it } from 'vitest';
import { trainSettingsFromFlags } from '../../src/cli/trainFlags';
import { refuseKind } from '../../src/cli/train';
import { defaultTrainSettings, validateSettings } from '../../src/engine/train/defaults';
import { prefOptionsOf } from '../../src/engine/train/prefSettings';
import { APP_VERSION, assertCompatible, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { decodeCheckpoint, encodeCheckpoint, REFERENCE_KEYS } from '../../src/engine/train/checkpointFile';
import { planMemory } from '../../src/engine/plan/memory';
import { safetensorsBlob, readSafetensorsHeader } from '../../src/io/safetensors';
import type { ModelConfig } from '../../src/io/config/types';

const cfg = { hiddenSize: 64, maxPositionEmbeddings: 256, slidingWindow: null } as unknown as ModelConfig;
const defaults = defaultTrainSettings(cfg, 10);

describe('stage dpo settings', () => {
  it('reads --stage dpo --pref-beta --pref-loss --pref-ftx and keeps LLaMA-Factory defaults for absent ones', () => {
    const s = trainSettingsFromFlags(defaults, { stage: 'dpo', 'pref-beta': '0.2', 'pref-loss': 'ipo', 'pref-ftx': '0.5' });
    expect([s.stage, s.prefBeta, s.prefLoss, s.prefFtx]).toEqual(['dpo', 0.2, 'ipo', 0.5]);
    const d = trainSettingsFromFlags(defaults, { stage: 'dpo' });
    expect(prefOptionsOf(d)).toMatchObject({ beta: 0.1, lossType: 'sigmoid', ftx: 0 });
    expect(trainSettingsFromFlags(defaults, {}).stage).toBeUndefined();
  });

  it('refuses a bad stage, loss, number, or pref flags without --stage dpo, naming the flag', () => {
    expect(() => trainSettingsFromFlags(defaults, { stage: 'ppo' })).toThrow('--stage: expected sft or dpo, got "ppo"');
    expect(() => trainSettingsFromFlags(defaults, { stage: 'dpo', 'pref-loss': 'kto' })).toThrow('--pref-loss: expected one of sigmoid, hinge, ipo, orpo, simpo, got "kto"');
    expect(() => trainSettingsFromFlags(defaults, { stage: 'dpo', 'pref-beta': 'x' })).toThrow('--pref-beta: expected a number, got "x"');
    expect(() => trainSettingsFromFlags(defaults, { 'pref-beta': '0.2' })).toThrow('--pref-beta applies to --stage dpo only');
  });

  it('validateSettings checks the stage and the pref_* ranges', () => {
    expect(() => validateSettings({ ...defaults, stage: 'dpo', prefBeta: 0 }, cfg)).toThrow(/pref_beta must be a positive number, got 0/);
    expect(() => validateSettings({ ...defaults, stage: 'dpo', prefFtx: -1 }, cfg)).toThrow(/pref_ftx must be ≥ 0, got -1/);
    expect(() => validateSettings({ ...defaults, stage: 'kto' as 'dpo' }, cfg)).toThrow(/Stage: must be sft or dpo, got "kto"/);
    expect(() => validateSettings({ ...defaults, stage: 'dpo' }, cfg)).not.toThrow();
    // Stage dpo runs LoRA (full-parameter runs are SFT) and may evaluate its held-out pairs every N steps.
    expect(() => validateSettings({ ...defaults, stage: 'dpo', finetuningType: 'full' }, cfg)).toThrow(/Finetuning type: stage dpo trains LoRA only/);
    expect(() => validateSettings({ ...defaults, stage: 'dpo', evalSteps: 5 }, cfg)).not.toThrow();
    expect(() => validateSettings({ ...defaults, finetuningType: 'full', evalSteps: 5 }, cfg)).not.toThrow();
  });

  it('refuses a preference file for sft and an SFT file for dpo, by name', () => {
    expect(() => refuseKind('--train', 'a.json', 'sft', 'dpo')).toThrow('--train a.json is an SFT dataset (conversations); --stage dpo needs preference pairs');
    expect(() => refuseKind('--heldout', 'p.jsonl', 'preference', 'sft')).toThrow('--heldout p.jsonl is a preference dataset (chosen/rejected pairs); train it with --stage dpo');
    expect(() => refuseKind('--train', 'p.jsonl', 'preference', 'dpo')).not.toThrow();
  });
});

describe('memory plan of stage dpo', () => {
  const real = { hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, vocabSize: 256, maxPositionEmbeddings: 256, tieWordEmbeddings: true, layerTypes: ['full_attention', 'full_attention'], slidingWindow: null, attentionBias: false, qkNorm: false, rmsNormOffset: 0 } as unknown as ModelConfig;
  const limits = { maxBufferSize: 1 << 30, maxStorageBufferBindingSize: 1 << 27, minStorageBufferOffsetAlignment: 256 };
  it('counts 2 sequences per pair and the per-row scale', () => {
    const s = { ...defaults, batchSize: 3, maxLength: 40 };
    const sft = planMemory(real, s, 4, limits);
    const dpo = planMemory(real, { ...s, stage: 'dpo' }, 4, limits);
    const sft6 = planMemory(real, { ...s, batchSize: 6 }, 4, limits);
    expect(dpo.B).toBe(6);
    expect(sft.B).toBe(3);
    expect(dpo.activationBytes).toBe(sft6.activationBytes);
    expect(dpo.totalBytes - sft6.totalBytes).toBe(6 * 40 * 4 + 260);
  });
});

describe('checkpoint with reference log-probs', () => {
  const w = { a: new Float32Array([1, 2]), b: new Float32Array([3, 4]), inFeatures: 1, outFeatures: 1 };
  const mods = new Map([['model.layers.0.self_attn.q_proj', w]]);
  const settings = { ...defaults, stage: 'dpo' as const, lora: { ...defaults.lora, r: 2, alpha: 4, targetModules: ['q_proj' as const] } };
  const c: TrainCheckpoint = {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, appVersion: APP_VERSION, modelId: 'm', modelName: 'base', dataId: 'd', settings, step: 0, totalSteps: 2,
    history: [], evals: [], params: mods, m: mods, v: mods, savedAt: 'now',
    reference: { chosen: Float64Array.from([-1 / 3, -123.456789012345678]), rejected: Float64Array.from([-Math.PI, -1e-300]) },
  };

  it('stores them as F64 tensors and reads them back bit for bit', async () => {
    const blob = encodeCheckpoint(c);
    const h = await readSafetensorsHeader(blob, 'c.safetensors');
    expect(h.tensors.get(REFERENCE_KEYS.chosen)).toMatchObject({ dtype: 'F64', shape: [2] });
    const back = await decodeCheckpoint(blob, 'c.safetensors');
    expect(Array.from(back.reference!.chosen)).toEqual(Array.from(c.reference!.chosen));
    expect(Array.from(back.reference!.rejected)).toEqual(Array.from(c.reference!.rejected));
    const sft = await decodeCheckpoint(encodeCheckpoint({ ...c, reference: undefined }), 'sft.safetensors');
    expect(sft.reference).toBeUndefined();
  });

  it('refuses a file with only one of the two reference tensors, naming it', async () => {
    const h = await readSafetensorsHeader(encodeCheckpoint(c), 'c.safetensors');
    const blob = encodeCheckpoint(c);
    const tensors = await Promise.all([...h.tensors.values()].filter((t) => t.name !== REFERENCE_KEYS.rejected).map(async (t) => ({ name: t.name, dtype: t.dtype, shape: [...t.shape], byteLength: t.end - t.begin, data: new Uint8Array(await blob.slice(t.begin, t.end).arrayBuffer()) })));
    const broken = safetensorsBlob(tensors, h.metadata);
    await expect(decodeCheckpoint(broken, 'x.safetensors')).rejects.toThrow(`x.safetensors: tensor ${REFERENCE_KEYS.rejected} is missing`);
  });

  it('resume treats absent pref_* as their defaults in stage dpo, but a different β is another run', () => {
    const expectation = { appVersion: APP_VERSION, modelId: 'm', dataId: 'd', totalSteps: 2 };
    expect(() => assertCompatible(c, { ...expectation, settings: { ...settings, prefBeta: 0.1, prefLoss: 'sigmoid', prefFtx: 0 } })).not.toThrow();
    expect(() => assertCompatible(c, { ...expectation, settings: { ...settings, prefBeta: 0.2 } })).toThrow(/settings.prefBeta differs \(checkpoint: 0.1; this run: 0.2\)/);
    expect(() => assertCompatible({ ...c, settings: { ...defaults } }, { ...expectation, settings: { ...defaults, stage: 'sft' } })).not.toThrow();
  });
});
