/**
 * The full-parameter form of the training checkpoint file (engine/train/checkpointFile.ts): every trained tensor
 * under its HF name with `.exp_avg` / `.exp_avg_sq`, F32 of the tensor's shape (12 bytes per parameter), decoded back
 * exactly; a file missing a moment, or whose settings disagree with its tensors, is refused by name.
 */
import { describe, expect, it } from 'vitest';
import { APP_VERSION, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, type TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { CHECKPOINT_METADATA_KEY, CheckpointFileError, decodeCheckpoint, encodeCheckpoint } from '../../src/engine/train/checkpointFile';
import { fullCheckpointBytes } from '../../src/engine/train/fullCheckpoint';
import { readSafetensorsHeader, readTensorBytes, safetensorsBlob } from '../../src/io/safetensors';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import type { ModelConfig } from '../../src/io/config/types';

const shapes = new Map<string, readonly number[]>([['model.layers.0.self_attn.q_proj.weight', [3, 4]], ['model.norm.weight', [4]]]);
const vals = (k: number) => new Map([...shapes].map(([n, s]) => [n, Float32Array.from({ length: s.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(k * 13 + i) / 7)] as const));
const settings = { ...defaultTrainSettings({ hiddenSize: 4, maxPositionEmbeddings: 256, slidingWindow: null } as unknown as ModelConfig, 10), finetuningType: 'full' as const };

function sample(): TrainCheckpoint {
  return {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, appVersion: APP_VERSION, modelId: 'sha256-ends:abc', modelName: 'base', dataId: 'sha256:def',
    settings, step: 1, totalSteps: 2, history: [{ step: 1, loss: 2.5, lr: 1e-4, gradNorm: 0.5 }], evals: [], evalPoints: [],
    params: new Map(), m: new Map(), v: new Map(), full: { shapes, params: vals(1), m: vals(2), v: vals(3) }, savedAt: '2026-12-01T00:00:00.000Z',
  };
}

describe('full-parameter training checkpoint file', () => {
  it('keeps each trained tensor under its HF name with its moments, 12 bytes per parameter, decoded exactly', async () => {
    const blob = encodeCheckpoint(sample());
    const h = await readSafetensorsHeader(blob, 'full.safetensors');
    expect([...h.tensors.keys()].sort()).toEqual(['model.layers.0.self_attn.q_proj.weight', 'model.layers.0.self_attn.q_proj.weight.exp_avg', 'model.layers.0.self_attn.q_proj.weight.exp_avg_sq', 'model.norm.weight', 'model.norm.weight.exp_avg', 'model.norm.weight.exp_avg_sq']);
    expect(h.tensors.get('model.layers.0.self_attn.q_proj.weight.exp_avg')).toMatchObject({ dtype: 'F32', shape: [3, 4] });
    expect(JSON.parse(h.metadata[CHECKPOINT_METADATA_KEY]!).fullTensors).toEqual([...shapes.keys()]);
    expect(blob.size).toBeLessThanOrEqual(fullCheckpointBytes(16));
    expect(blob.size).toBeGreaterThanOrEqual(12 * 16);
    const d = await decodeCheckpoint(blob, 'full.safetensors');
    expect(d.params.size).toBe(0);
    for (const k of ['params', 'm', 'v'] as const) expect(d.full![k]).toEqual(sample().full![k]);
    expect(d.full!.shapes).toEqual(shapes);
  });

  it('refuses a file missing a moment, or whose settings are not full, naming the tensor or field', async () => {
    const blob = encodeCheckpoint(sample());
    const h = await readSafetensorsHeader(blob, 'full.safetensors');
    const keep = await Promise.all([...h.tensors].filter(([n]) => n !== 'model.norm.weight.exp_avg_sq').map(async ([name, info]) => {
      const data = await readTensorBytes(blob, info);
      return { name, dtype: info.dtype, shape: [...info.shape], byteLength: data.byteLength, data };
    }));
    const missing = safetensorsBlob(keep, h.metadata);
    await expect(decodeCheckpoint(missing, 'cut.safetensors')).rejects.toThrow(/cut\.safetensors: tensor model\.norm\.weight\.exp_avg_sq is missing/);
    const lora = encodeCheckpoint({ ...sample(), settings: { ...settings, finetuningType: 'lora' } });
    await expect(decodeCheckpoint(lora, 'x.safetensors')).rejects.toThrow(CheckpointFileError);
    await expect(decodeCheckpoint(lora, 'x.safetensors')).rejects.toThrow(/fullTensors/);
  });
});
