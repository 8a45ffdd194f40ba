/**
 * Settings as a LLaMA-Factory YAML (store/settingsYaml.ts): save → load gives the same settings; a YAML written for
 * LLaMA-Factory fills the shared fields and names the keys it ignores; bad values are refused naming file and key;
 * every key written is one LLaMA-Factory / transformers reads (src/app/handoff/llamafactoryKeys.json).
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { settingsFromYaml, settingsToYaml } from '../../src/store/settingsYaml';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import type { ModelConfig } from '../../src/io/config/types';

const cfg = { hiddenSize: 64, maxPositionEmbeddings: 512, slidingWindow: null } as unknown as ModelConfig;
const d = defaultTrainSettings(cfg, 300);
const ctx = { baseModel: 'stories260K-base', totalSteps: 114 };

describe('settings YAML', () => {
  it('round-trips the studio settings (warmup through warmup_steps of the run)', () => {
    const s = { ...d, lora: { ...d.lora, r: 4, alpha: 12, dropout: 0.05, useRslora: true, targetModules: ['q_proj', 'v_proj'] as const }, learningRate: 2e-4, epochs: 2, maxSteps: 0, batchSize: 4, gradAccum: 2, maxLength: 96, warmupRatio: 0.1, weightDecay: 0.01, seed: 7, recompute: true, evalSteps: 20, chatTemplateKwargs: { enable_thinking: false } };
    const text = settingsToYaml(s, ctx);
    const y = parse(text) as Record<string, unknown>;
    expect(y).toMatchObject({ model_name_or_path: 'stories260K-base', finetuning_type: 'lora', lora_rank: 4, lora_alpha: 12, lora_target: 'q_proj,v_proj', cutoff_len: 96, warmup_steps: 12, eval_steps: 20, eval_strategy: 'steps', disable_gradient_checkpointing: false, enable_thinking: false });
    const back = settingsFromYaml(text, d, ctx, 'run.yaml');
    expect(back.ignored).toEqual([]);
    expect({ ...back.settings, warmupRatio: 0 }).toEqual({ ...s, warmupRatio: 0 });
    expect(back.settings.warmupRatio).toBeCloseTo(12 / 114, 12);
    const known = JSON.parse(readFileSync('src/app/handoff/llamafactoryKeys.json', 'utf8')) as Record<string, unknown>;
    const keys = new Set(Object.values(known).filter(Array.isArray).flat() as string[]);
    for (const k of Object.keys(y)) expect(keys.has(k), k).toBe(true);
  });

  it('round-trips stage dpo with pref_beta, pref_loss and pref_ftx', () => {
    const s = { ...d, stage: 'dpo' as const, prefBeta: 0.25, prefLoss: 'ipo' as const, prefFtx: 0.5 };
    const text = settingsToYaml({ ...s, evalSteps: 10 }, ctx);
    const y = parse(text) as Record<string, unknown>;
    // Stage dpo evaluates its held-out pairs every eval_steps as LLaMA-Factory's DPO trainer does (eval_rewards/*).
    expect(y).toMatchObject({ stage: 'dpo', pref_beta: 0.25, pref_loss: 'ipo', pref_ftx: 0.5, eval_strategy: 'steps', eval_steps: 10 });
    const back = settingsFromYaml(text, d, ctx, 'dpo.yaml');
    expect(back.ignored).toEqual([]);
    expect({ ...back.settings, warmupRatio: 0 }).toEqual({ ...s, evalSteps: 10, warmupRatio: 0 });
    const sft = settingsFromYaml(settingsToYaml(d, ctx), { ...s, evalSteps: 5 }, ctx, 'sft.yaml').settings;
    expect(sft.stage).toBeUndefined();
    expect(settingsFromYaml('stage: dpo\neval_steps: 5', d, ctx, 'x.yaml')).toMatchObject({ settings: { stage: 'dpo', prefBeta: 0.1, prefLoss: 'sigmoid', prefFtx: 0, evalSteps: 5 }, ignored: [] });
    expect(settingsFromYaml('stage: kto', d, ctx, 'x.yaml').ignored).toEqual(['stage: kto — the studio trains sft or dpo']);
    expect(() => settingsFromYaml('pref_loss: bco', d, ctx, 'x.yaml')).toThrow('x.yaml: pref_loss must be one of sigmoid, hinge, ipo, orpo, simpo, got "bco"');
  });

  it("reads a LLaMA-Factory example YAML: shared fields filled, the others named", () => {
    const lf = [
      'model_name_or_path: meta-llama/Meta-Llama-3-8B-Instruct', 'trust_remote_code: true', 'stage: sft', 'do_train: true', 'finetuning_type: lora',
      'lora_rank: 8', 'lora_target: all', 'dataset: identity,alpaca_en_demo', 'template: llama3', 'cutoff_len: 2048', 'max_samples: 1000',
      'output_dir: saves/llama3-8b/lora/sft', 'per_device_train_batch_size: 1', 'gradient_accumulation_steps: 8', 'learning_rate: 1.0e-4',
      'num_train_epochs: 3.0', 'lr_scheduler_type: cosine', 'warmup_ratio: 0.1', 'bf16: true', 'ddp_timeout: 180000000',
    ].join('\n');
    const r = settingsFromYaml(lf, d, { baseModel: null, totalSteps: null }, 'llama3_lora_sft.yaml');
    expect(r.settings).toMatchObject({ learningRate: 1e-4, epochs: 3, batchSize: 1, gradAccum: 8, maxLength: 2048, warmupRatio: 0.1 });
    expect(r.settings.lora).toMatchObject({ r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] });
    expect(r.ignored).toEqual(['trust_remote_code: not a setting of the studio', 'max_samples: not a setting of the studio', 'ddp_timeout: not a setting of the studio']);
  });

  it('refuses bad values naming the file and key', () => {
    expect(() => settingsFromYaml('learning_rate: 0', d, ctx, 'x.yaml')).toThrow('x.yaml: learning_rate must be in (0, 1), got 0');
    expect(() => settingsFromYaml('lora_target: q_proj,lm_head', d, ctx, 'x.yaml')).toThrow('x.yaml: lora_target lm_head is not one of');
    expect(() => settingsFromYaml('- a\n- b', d, ctx, 'x.yaml')).toThrow('x.yaml: expected a mapping');
    expect(settingsFromYaml('lr_scheduler_type: linear', d, ctx, 'x.yaml').ignored).toEqual(['lr_scheduler_type: linear — the studio trains with cosine']);
  });
});
