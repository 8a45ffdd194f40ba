/**
 * The model declared once (src/engine/arch): the tensor table equals, name for name and shape for shape, the tensors
 * of every real fixture checkpoint (written by PyTorch / transformers, not by us); the layer op list of each family
 * is the HF layer maths written out by hand; the backward visits the ops in the order the gradients need.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { normalizeConfig } from '../../src/io/config';
import { readSafetensorsHeader } from '../../src/io/safetensors';
import { tensorTable } from '../../src/engine/arch/tensors';
import { layerAttention, layerOps, layerValues, type LayerOp } from '../../src/engine/arch/layer';
import { backwardOrder } from '../../src/engine/model/layerRun';

const F = '../shared/fixtures';
const cfgOf = (dir: string) => normalizeConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')), `${dir}/config.json`);

/** A compact name per op, e.g. "norm:input_layernorm x→h1", "linear:o_proj attn+→xMid". */
const show = (o: LayerOp): string => {
  switch (o.op) {
    case 'norm': return `norm:${o.norm} ${o.x}→${o.out}`;
    case 'linear': return `linear:${o.module} ${o.x}${o.accumulate ? '+' : ''}→${o.out}`;
    case 'rope': return `rope ${o.x}`;
    case 'copy': return `copy ${o.from}→${o.to}`;
    case 'add': return `add ${o.x}→${o.into}`;
    default: return o.op;
  }
};

describe('tensor table (arch/tensors.ts) vs real checkpoints', () => {
  it.each(['llama-tiny', 'qwen2-tiny', 'qwen3-tiny', 'gemma3-tiny', '../models/stories260K-base'])('%s: same names and shapes as model.safetensors', async (name) => {
    const dir = `${F}/${name}`;
    const h = await readSafetensorsHeader(new Blob([readFileSync(`${dir}/model.safetensors`)]), name);
    const file = new Map([...h.tensors.values()].map((t) => [t.name, [...t.shape]]));
    const table = new Map(tensorTable(cfgOf(dir)).map((t) => [t.name, [...t.shape]]));
    expect([...table.keys()].sort()).toEqual([...file.keys()].sort());
    for (const [n, s] of table) expect(s, n).toEqual(file.get(n));
  });

  it('marks what AdamW decays (transformers Trainer: no decay on biases and norms) and what LoRA targets', () => {
    const t = tensorTable(cfgOf(`${F}/qwen2-tiny`));
    expect(t.filter((x) => x.noDecay).every((x) => x.name.endsWith('.bias') || x.name.includes('norm'))).toBe(true);
    expect(t.filter((x) => !x.noDecay).every((x) => !x.name.endsWith('.bias') && !x.name.includes('norm'))).toBe(true);
    expect(t.filter((x) => x.loraTarget).length).toBe(2 * 7);
  });
});

describe('layer op list (arch/layer.ts)', () => {
  it('Llama (modeling_llama.py LlamaDecoderLayer)', () => {
    expect(layerOps(cfgOf(`${F}/llama-tiny`)).map(show)).toEqual([
      'norm:input_layernorm x→h1', 'linear:q_proj h1→q', 'linear:k_proj h1→k', 'linear:v_proj h1→v', 'rope q', 'rope k', 'attention',
      'copy x→xMid', 'linear:o_proj attn+→xMid', 'norm:post_attention_layernorm xMid→h2',
      'linear:gate_proj h2→gate', 'linear:up_proj h2→up', 'glu', 'copy xMid→xOut', 'linear:down_proj act+→xOut',
    ]);
  });

  it('Gemma 3 (modeling_gemma3.py Gemma3DecoderLayer: q/k norms before RoPE, sandwich norms)', () => {
    const cfg = cfgOf(`${F}/gemma3-tiny`);
    expect(layerOps(cfg).map(show)).toEqual([
      'norm:input_layernorm x→h1', 'linear:q_proj h1→qPre', 'linear:k_proj h1→kPre', 'linear:v_proj h1→v',
      'norm:q_norm qPre→q', 'norm:k_norm kPre→k', 'rope q', 'rope k', 'attention', 'copy x→xMid',
      'linear:o_proj attn→oOut', 'norm:post_attention_layernorm oOut→oNorm', 'add oNorm→xMid', 'norm:pre_feedforward_layernorm xMid→h2',
      'linear:gate_proj h2→gate', 'linear:up_proj h2→up', 'glu', 'copy xMid→xOut',
      'linear:down_proj act→mOut', 'norm:post_feedforward_layernorm mOut→mNorm', 'add mNorm→xOut',
    ]);
    expect([0, 1, 2].map((l) => layerAttention(cfg, l))).toEqual([
      { window: 8, scale: 24 ** -0.5, softcap: 0 }, { window: 8, scale: 24 ** -0.5, softcap: 0 }, { window: 0, scale: 24 ** -0.5, softcap: 0 },
    ]);
    expect(layerValues(cfg)).toContain('rstdM');
  });

  it('the backward reverses the ops but keeps linears of one input in forward order (d input written once, then added)', () => {
    const order = backwardOrder(layerOps(cfgOf(`${F}/qwen3-tiny`))).map(show);
    expect(order.indexOf('linear:q_proj h1→qPre')).toBeLessThan(order.indexOf('linear:k_proj h1→kPre'));
    expect(order.indexOf('linear:k_proj h1→kPre')).toBeLessThan(order.indexOf('linear:v_proj h1→v'));
    expect(order.indexOf('linear:gate_proj h2→gate')).toBeLessThan(order.indexOf('linear:up_proj h2→up'));
    expect(order[0]).toBe('linear:down_proj act+→xOut');
    expect(order.at(-1)).toBe('norm:input_layernorm x→h1');
    expect(order.indexOf('glu')).toBeLessThan(order.indexOf('linear:gate_proj h2→gate'));
  });
});
