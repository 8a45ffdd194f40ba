/**
 * The training checkpoint file (engine/train/checkpointFile.ts): one safetensors file with PEFT keys, AdamW moments
 * and the state as metadata JSON; decoded back exactly; malformed or foreign files refused by name. And the
 * identities (engine/train/checkpoint.ts) that refuse a checkpoint of another run.
 */
import { describe, expect, it } from 'vitest';
import { APP_VERSION, assertCompatible, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointMismatchError, dataIdentity, type TrainCheckpoint } from '../../src/engine/train/checkpoint';
import { CHECKPOINT_METADATA_KEY, CheckpointFileError, decodeCheckpoint, encodeCheckpoint } from '../../src/engine/train/checkpointFile';
import { readSafetensorsHeader, safetensorsBlob } from '../../src/io/safetensors';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import type { ModelConfig } from '../../src/io/config/types';
import type { LoraModuleWeights } from '../../src/engine/model/loraTypes';
import pkg from '../../package.json';

const r = 2;
const mod = (seed: number, inF: number, outF: number): LoraModuleWeights => ({
  a: Float32Array.from({ length: r * inF }, (_, i) => Math.sin(seed + i) / 3),
  b: Float32Array.from({ length: outF * r }, (_, i) => Math.cos(seed * 7 + i) * 1e-3),
  inFeatures: inF,
  outFeatures: outF,
});
const paths = ['model.layers.0.self_attn.q_proj', 'model.layers.0.mlp.down_proj'];
const maps = (k: number) => new Map(paths.map((p, i) => [p, mod(k * 10 + i, 5 + i, 3 + 2 * i)] as const));
const settings = (() => {
  const d = defaultTrainSettings({ hiddenSize: 64, maxPositionEmbeddings: 256, slidingWindow: null } as unknown as ModelConfig, 10);
  return { ...d, lora: { ...d.lora, r, alpha: 4, targetModules: ['q_proj', 'down_proj'] as const } };
})();

function sample(): TrainCheckpoint {
  return {
    format: CHECKPOINT_FORMAT, version: CHECKPOINT_VERSION, appVersion: APP_VERSION, modelId: 'sha256-ends:abc', modelName: 'base', dataId: 'sha256:def',
    settings, step: 3, totalSteps: 5,
    history: [{ step: 1, loss: 2.5, lr: 0, gradNorm: 1.25 }, { step: 2, loss: NaN, lr: 1e-3, gradNorm: Infinity }, { step: 3, loss: 0.1 + 0.2, lr: 5e-4, gradNorm: -Infinity }],
    evals: [{ model: 'base', when: 'before', loss: 3.0000000000000004 }],
    evalPoints: [{ step: 1, loss: 2.75 }, { step: 3, loss: NaN }],
    params: maps(1), m: maps(2), v: maps(3), savedAt: '2026-12-01T00:00:00.000Z',
  };
}

describe('training checkpoint file', () => {
  it('APP_VERSION is package.json version', () => {
    expect(APP_VERSION).toBe(pkg.version);
  });

  it('is a safetensors file with PEFT keys, exp_avg / exp_avg_sq and the state as metadata, decoded exactly', async () => {
    const c = sample();
    const blob = encodeCheckpoint(c);
    const h = await readSafetensorsHeader(blob, 'ckpt.safetensors');
    expect([...h.tensors.keys()]).toContain('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight');
    expect([...h.tensors.keys()]).toContain('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight.exp_avg_sq');
    expect(h.tensors.get('base_model.model.model.layers.0.mlp.down_proj.lora_B.weight.exp_avg')).toMatchObject({ dtype: 'F32', shape: [5, r] });
    expect(h.metadata.format).toBe('pt');
    expect(JSON.parse(h.metadata[CHECKPOINT_METADATA_KEY]!)).toMatchObject({ format: CHECKPOINT_FORMAT, step: 3, totalSteps: 5 });
    const d = await decodeCheckpoint(blob, 'ckpt.safetensors');
    expect(d.history).toEqual(c.history);
    expect(Object.is(d.history[1]!.loss, NaN)).toBe(true);
    expect(d.evals).toEqual(c.evals);
    expect(d.evalPoints).toEqual(c.evalPoints);
    // A file written before the held-out losses during training were kept reads as none.
    expect((await decodeCheckpoint(encodeCheckpoint({ ...c, evalPoints: undefined } as unknown as TrainCheckpoint), 'old.safetensors')).evalPoints).toEqual([]);
    await expect(decodeCheckpoint(encodeCheckpoint({ ...c, evalPoints: [{ step: 4, loss: 1 }] }), 'late.safetensors')).rejects.toThrow(/late.safetensors: evalPoints\[0\] must be \[step 1..3, loss\]/);
    expect(d.settings).toEqual(c.settings);
    for (const k of ['params', 'm', 'v'] as const) {
      for (const [p, w] of c[k]) {
        expect(d[k].get(p)!.a).toEqual(w.a);
        expect(d[k].get(p)!.b).toEqual(w.b);
        expect(d[k].get(p)!.inFeatures).toBe(w.inFeatures);
      }
    }
  });

  it('refuses files that are not checkpoints, of another version, or with a missing or mis-shaped tensor', async () => {
    const plain = safetensorsBlob([{ name: 'x', dtype: 'F32', shape: [1], byteLength: 4, data: new Uint8Array(4) }], { format: 'pt' });
    await expect(decodeCheckpoint(plain, 'adapter_model.safetensors')).rejects.toThrow(/adapter_model.safetensors: no "shadowft_checkpoint"/);
    const c = sample();
    const v2 = { ...c, version: 2 } as unknown as TrainCheckpoint;
    await expect(decodeCheckpoint(encodeCheckpoint(v2), 'c.safetensors')).rejects.toThrow(/checkpoint version 2 is not supported/);
    const noV = { ...c, v: new Map([...c.v].slice(0, 1)) };
    const e = await decodeCheckpoint(encodeCheckpoint(noV), 'c.safetensors').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(CheckpointFileError);
    expect((e as Error).message).toContain('base_model.model.model.layers.0.mlp.down_proj.lora_A.weight.exp_avg_sq is missing');
    const badShape = { ...c, settings: { ...c.settings, lora: { ...c.settings.lora, r: 3 } } };
    await expect(decodeCheckpoint(encodeCheckpoint(badShape), 'c.safetensors')).rejects.toThrow(/lora_A.weight has shape \[2,5\], expected \[3, in\/out\]/);
    const badHistory = { ...c, step: 2 };
    await expect(decodeCheckpoint(encodeCheckpoint(badHistory), 'c.safetensors')).rejects.toThrow(/history must hold one point per step done \(2\), got 3/);
  });
});

describe('checkpoint identities', () => {
  const ex = (ids: number[], labels: number[]) => ({ inputIds: Int32Array.from(ids), labels: Int32Array.from(labels) });

  it('dataIdentity changes with a token, a label, the order or the count', async () => {
    const a = [ex([1, 2, 3], [-100, 2, 3]), ex([4, 5], [-100, 5])];
    const id = await dataIdentity(a);
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await dataIdentity([ex([1, 2, 3], [-100, 2, 3]), ex([4, 5], [-100, 5])])).toBe(id);
    expect(await dataIdentity([ex([1, 2, 4], [-100, 2, 3]), a[1]!])).not.toBe(id);
    expect(await dataIdentity([ex([1, 2, 3], [-100, -100, 3]), a[1]!])).not.toBe(id);
    expect(await dataIdentity([a[1]!, a[0]!])).not.toBe(id);
    expect(await dataIdentity(a.slice(0, 1))).not.toBe(id);
    // The boundary between input_ids and labels counts: [1,2 | 3,4] vs a row of another length.
    expect(await dataIdentity([ex([1, 2], [3, 4])])).not.toBe(await dataIdentity([ex([1], [2]), ex([3], [4])]));
  });

  it('assertCompatible names the field that differs with both values', () => {
    const c = sample();
    const ok = { appVersion: APP_VERSION, modelId: c.modelId, dataId: c.dataId, settings: c.settings, totalSteps: 5 };
    expect(() => assertCompatible(c, ok)).not.toThrow();
    expect(() => assertCompatible({ ...c, settings: { ...c.settings, chatTemplateKwargs: undefined } }, { ...ok, settings: { ...c.settings, chatTemplateKwargs: {} } })).not.toThrow();
    const cases: [Partial<typeof ok>, string, string, string][] = [
      [{ appVersion: '9.9.9' }, 'app version', APP_VERSION, '9.9.9'],
      [{ modelId: 'sha256-ends:zzz' }, 'model', 'sha256-ends:abc', 'sha256-ends:zzz'],
      [{ dataId: 'sha256:000' }, 'training data', 'sha256:def', 'sha256:000'],
      [{ settings: { ...c.settings, seed: 7 } }, 'settings.seed', '42', '7'],
      [{ settings: { ...c.settings, lora: { ...c.settings.lora, targetModules: ['q_proj'] } } }, 'settings.lora.targetModules', '["q_proj","down_proj"]', '["q_proj"]'],
      [{ totalSteps: 6 }, 'total steps', '5', '6'],
    ];
    for (const [change, field, was, now] of cases) {
      const e = (() => {
        try {
          assertCompatible(c, { ...ok, ...change });
          return null;
        } catch (x) {
          return x;
        }
      })();
      expect(e, field).toBeInstanceOf(CheckpointMismatchError);
      expect(e).toMatchObject({ field, checkpointValue: was, expectedValue: now });
      expect((e as Error).message).toContain(field);
    }
  });
});
