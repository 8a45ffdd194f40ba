/**
 * The CPU f64 reference model (src/engine/reference/model.ts: the tensor table and the layer op list of src/engine/arch
 * interpreted with the reference kernels) against the PyTorch goldens of every fixture folder, logits at the positions
 * with attention_mask 1 (fixtures README case 1): Llama, Qwen2 (BF16, biases, untied), Qwen3 (q/k norms) and Gemma 3
 * (made with transformers' own Gemma3ForCausalLM: (1 + w) norms, sandwich norms, GeGLU, scaled embeddings, sliding
 * window 8 < T, per-layer-type RoPE, query_pre_attn_scalar). This checks the op lists themselves, with no GPU code.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { normalizeConfig } from '../../src/io/config';
import { openCheckpoint } from '../../src/io/checkpoint';
import { decodeToF32 } from '../../src/io/dtype';
import { readSafetensorsHeader, readTensorBytes } from '../../src/io/safetensors';
import { loadRefModel, refForwardLogits } from '../../src/engine/reference/model';
import { modelFilesFromDir } from '../../src/node/files';

const F = '../shared/fixtures';

describe.each(['llama-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gemma3-tiny'])('reference model on %s', (name) => {
  it('reproduces the golden logits within 2e-4 wherever attention_mask is 1', async () => {
    const dir = `${F}/${name}`;
    const cfg = normalizeConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')), name);
    const model = await loadRefModel(cfg, await openCheckpoint(await modelFilesFromDir(dir)));
    const blob = new Blob([readFileSync(`${dir}/forward.safetensors`)]);
    const h = await readSafetensorsHeader(blob, 'forward.safetensors');
    const get = async (k: string) => {
      const info = h.tensors.get(k)!;
      return { shape: info.shape, data: decodeToF32(await readTensorBytes(blob, info), info.dtype) };
    };
    const ids = await get('input_ids');
    const mask = await get('attention_mask');
    const logits = await get('logits');
    const [B, T] = ids.shape as [number, number];
    const V = cfg.vocabSize;
    let worst = 0;
    for (let b = 0; b < B; b++) {
      const n = Array.from(mask.data.subarray(b * T, (b + 1) * T)).filter((m) => m === 1).length;
      const got = refForwardLogits(model, Array.from(ids.data.subarray(b * T, b * T + n)), null, 'all');
      for (let i = 0; i < n * V; i++) worst = Math.max(worst, Math.abs((got[i] as number) - (logits.data[(b * T) * V + i] as number)));
    }
    expect(worst).toBeLessThan(2e-4);
  });
});
