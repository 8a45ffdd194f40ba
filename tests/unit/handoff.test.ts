/**
 * `shadowft handoff` (Export for a cluster) on the demo pair: the YAMLs parse with `yaml`, every key is in the
 * checked LLaMA-Factory key list (src/app/handoff/llamafactoryKeys.json, read here as plain JSON), the values equal
 * the settings given (and the UI defaults otherwise), the data files parse back (studio parser) to the same
 * conversations, dataset_info.json names them, the mergekit config is the task_arithmetic graft, the README quotes
 * paths with spaces and non-ASCII characters, and prepare_base.sh works when the Base lacks the Instruct's template.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readmeText } from '../../src/app/handoff/readme';
import { handoffCommand } from '../../src/cli/handoff';
import { parseDataset } from '../../src/io/dataset/parse';

const SHARED = join(__dirname, '../../../shared');
const BASE = join(SHARED, 'models/stories260K-base');
const INSTRUCT = join(SHARED, 'models/stories260K-instruct');
const TRAIN = join(SHARED, 'datasets/story-titles.train.csv');
const HELD = join(SHARED, 'datasets/story-titles.heldout.alpaca.json');
const tmp = mkdtempSync(join(tmpdir(), 'shadowft-handoff-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const keyList = JSON.parse(readFileSync(join(__dirname, '../../src/app/handoff/llamafactoryKeys.json'), 'utf8')) as Record<string, unknown>;
const allowed = new Set(['model_args', 'data_args', 'finetuning_args', 'training_args', 'transformers_training_args'].flatMap((k) => keyList[k] as string[]));
/** Parsed as YAML 1.1 — the schema PyYAML (LLaMA-Factory's yaml.safe_load) implements, where `1e-8` is a string. */
const yamlOf = (dir: string, f: string): Record<string, unknown> => parse(readFileSync(join(dir, f), 'utf8'), { version: '1.1' }) as Record<string, unknown>;
/** PyYAML's implicit float (resolver.py, YAML 1.1): a dot in the mantissa, a signed exponent. */
const PYYAML_FLOAT = /^[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?$/;
/** Every plain scalar written in exponent form must be a PyYAML float (else LLaMA-Factory gets a string). */
function expectPyyamlFloats(dir: string, f: string): void {
  for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/: ([-+]?[\d.]+[eE][-+]?\d+)$/gm)) expect(m[1], `${f}: ${m[1]}`).toMatch(PYYAML_FLOAT);
}
const msgs = (file: string, text: string) => parseDataset(text, file).conversations.map((c) => c.messages);
type InfoEntry = { file_name: string; formatting: string; columns: Record<string, string> };
/**
 * LLaMA-Factory's SharegptDatasetConverter reads `example[columns.system]` for every row once the column is declared,
 * and the `datasets` JSON loader creates a column only when some row has the key: a declared column must be a key of
 * every record (else `KeyError: 'system'`), and an undeclared one of none.
 */
function expectColumnsInRecords(dir: string): void {
  const info = JSON.parse(readFileSync(join(dir, 'data/dataset_info.json'), 'utf8')) as Record<string, InfoEntry>;
  for (const e of Object.values(info)) {
    const recs = JSON.parse(readFileSync(join(dir, 'data', e.file_name), 'utf8')) as Record<string, unknown>[];
    for (const [i, r] of recs.entries()) {
      for (const col of Object.values(e.columns)) expect(Object.hasOwn(r, col), `${e.file_name}[${i}] has the declared column ${col}`).toBe(true);
      for (const k of Object.keys(r)) expect(Object.values(e.columns), `${e.file_name}[${i}].${k} is declared`).toContain(k);
    }
  }
}

describe('shadowft handoff', () => {
  it('writes LLaMA-Factory recipes with the given settings, ShareGPT data that round-trips, mergekit and README', async () => {
    const out = join(tmp, 'export dir ü');
    const flags = ['--rank', '4', '--lr', '2e-7', '--epochs', '2', '--batch', '4', '--accum', '2', '--warmup', '0.2', '--seed', '7', '--targets', 'q_proj,v_proj,down_proj', '--max-length', '256', '--clip', '0.5', '--wd', '0.01'];
    expect(await handoffCommand.run([BASE, INSTRUCT, '--train', TRAIN, '--heldout', HELD, '--out', out, ...flags])).toBe(0);
    expect(readdirSync(tmp).filter((f) => f.includes('partial'))).toEqual([]);
    const shadow = yamlOf(out, 'train_shadow_base.yaml');
    const conv = yamlOf(out, 'train_conventional_instruct.yaml');
    expectPyyamlFloats(out, 'train_shadow_base.yaml');
    expect(readFileSync(join(out, 'train_shadow_base.yaml'), 'utf8')).toMatch(/^learning_rate: 2\.0e-7$/m);
    for (const y of [shadow, conv]) for (const k of Object.keys(y)) expect(allowed.has(k), `${k} is a LLaMA-Factory argument`).toBe(true);
    const nTrain = parseDataset(readFileSync(TRAIN, 'utf8'), 'story-titles.train.csv').conversations.length;
    const steps = Math.ceil(Math.ceil(nTrain / 4) / 2) * 2;
    expect(shadow).toMatchObject({
      model_name_or_path: BASE, stage: 'sft', do_train: true, finetuning_type: 'lora', lora_rank: 4, lora_alpha: 8, lora_dropout: 0,
      lora_target: 'q_proj,v_proj,down_proj', use_rslora: false, dataset: 'shadowft_train', dataset_dir: 'data', eval_dataset: 'shadowft_heldout',
      cutoff_len: 256, per_device_train_batch_size: 4, gradient_accumulation_steps: 2, learning_rate: 2e-7, num_train_epochs: 2,
      lr_scheduler_type: 'cosine', warmup_steps: Math.ceil(steps * 0.2), weight_decay: 0.01, max_grad_norm: 0.5, seed: 7, bf16: true,
      adam_beta1: 0.9, adam_beta2: 0.999, adam_epsilon: 1e-8, plot_loss: true, output_dir: 'saves/shadow_base_lora',
    });
    expect(shadow).not.toHaveProperty('template');
    expect(shadow).not.toHaveProperty('max_steps');
    expect({ ...conv, model_name_or_path: BASE, output_dir: 'saves/shadow_base_lora' }).toEqual(shadow);
    expect(conv.model_name_or_path).toBe(INSTRUCT);
    const info = JSON.parse(readFileSync(join(out, 'data/dataset_info.json'), 'utf8')) as Record<string, InfoEntry>;
    // The demo rows have no system message: no system column (declaring one made LLaMA-Factory's get_dataset fail).
    expect(info.shadowft_train).toEqual({ file_name: 'train.json', formatting: 'sharegpt', columns: { messages: 'conversations' } });
    expectColumnsInRecords(out);
    expect(info.shadowft_heldout?.file_name).toBe('heldout.json');
    expect(msgs('train.json', readFileSync(join(out, 'data/train.json'), 'utf8'))).toEqual(msgs('story-titles.train.csv', readFileSync(TRAIN, 'utf8')));
    expect(msgs('heldout.json', readFileSync(join(out, 'data/heldout.json'), 'utf8'))).toEqual(msgs('story-titles.heldout.alpaca.json', readFileSync(HELD, 'utf8')));
    const rec = (JSON.parse(readFileSync(join(out, 'data/train.json'), 'utf8')) as { conversations: { from: string }[] }[])[0];
    expect(rec?.conversations.map((m) => m.from)).toEqual(['human', 'gpt']);
    // base_model = Instruct (mergekit copies its config, tokenizer and template); the adapter as mergekit's BASE+ADAPTER.
    // `./saves/…`, not `saves/…`: mergekit's model card asks the Hub whether a path with one `/` is a repo, which fails
    // offline (HF_HUB_OFFLINE) after the weights are written and before the tokenizer is copied.
    expect(yamlOf(out, 'graft_mergekit.yaml')).toEqual({
      merge_method: 'task_arithmetic', base_model: INSTRUCT,
      models: [{ model: `${BASE}+./saves/shadow_base_lora`, parameters: { weight: 1 } }, { model: BASE, parameters: { weight: -1 } }],
      parameters: { normalize: false }, dtype: 'float32', out_dtype: 'bfloat16',
    });
    const readme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(readme).toContain(`cd '${out}'`);
    expect(readme).toContain('llamafactory-cli train train_shadow_base.yaml');
    expect(readme).toContain(`npx shadowft graft '${BASE}' 'saves/shadow_base_lora' '${INSTRUCT}' 'grafted-instruct'`);
    // mergekit refuses BASE+ADAPTER without --lora-merge-cache, and applies the adapter in the Base's dtype (bf16, a
    // second rounding) unless --lora-merge-dtype float32.
    expect(readme).toContain("mergekit-yaml graft_mergekit.yaml 'grafted-instruct-mergekit' --lora-merge-cache lora-merge-cache --lora-merge-dtype float32");
    expect(readFileSync(join(out, 'graft_mergekit.yaml'), 'utf8').split('\n')[0]).toContain('mergekit-yaml graft_mergekit.yaml OUT --lora-merge-cache lora-merge-cache --lora-merge-dtype float32');
    expect(readme).not.toContain('Set the model paths first');
    expect(readdirSync(out)).not.toContain('prepare_base.sh');
  });

  it('full fine-tuning, max steps, and the UI defaults when no flag is given', async () => {
    const out = join(tmp, 'full');
    expect(await handoffCommand.run([BASE, INSTRUCT, '--train', TRAIN, '--out', out, '--finetuning-type', 'full', '--max-steps', '30', '--template', 'llama2'])).toBe(0);
    const y = yamlOf(out, 'train_shadow_base.yaml');
    for (const k of Object.keys(y)) expect(allowed.has(k), k).toBe(true);
    expect(y).toMatchObject({ finetuning_type: 'full', max_steps: 30, warmup_steps: 3, template: 'llama2', learning_rate: 1e-3, per_device_train_batch_size: 8, num_train_epochs: 3 });
    expect(y).not.toHaveProperty('lora_rank');
    expect(y).not.toHaveProperty('eval_dataset');
    const fullReadme = readFileSync(join(out, 'README.md'), 'utf8');
    expect(fullReadme).toContain("mergekit-yaml graft_mergekit.yaml 'grafted-instruct-mergekit'   #");
    expect(fullReadme).not.toContain('--lora-merge-cache');
    expect(yamlOf(out, 'graft_mergekit.yaml')).toMatchObject({ base_model: INSTRUCT, models: [{ model: './saves/shadow_base_full', parameters: { weight: 1 } }, { model: BASE, parameters: { weight: -1 } }] });
  });

  it('declares the system column only with system messages, and then on every record', async () => {
    const data = join(tmp, 'sys.sharegpt.jsonl');
    const rows = [
      { conversations: [{ from: 'human', value: 'a' }, { from: 'gpt', value: 'b' }], system: 'Be brief.' },
      { conversations: [{ from: 'human', value: 'c' }, { from: 'gpt', value: 'd' }] },
    ];
    writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    const out = join(tmp, 'sys');
    expect(await handoffCommand.run([BASE, INSTRUCT, '--train', data, '--heldout', HELD, '--out', out])).toBe(0);
    const info = JSON.parse(readFileSync(join(out, 'data/dataset_info.json'), 'utf8')) as Record<string, InfoEntry>;
    expect(info.shadowft_train?.columns).toEqual({ messages: 'conversations', system: 'system' });
    expect(info.shadowft_heldout?.columns).toEqual({ messages: 'conversations' });
    expect(JSON.parse(readFileSync(join(out, 'data/train.json'), 'utf8'))).toEqual([{ ...rows[0] }, { ...rows[1], system: '' }]);
    expectColumnsInRecords(out);
    expect(msgs('train.json', readFileSync(join(out, 'data/train.json'), 'utf8'))).toEqual(msgs('sys.sharegpt.jsonl', readFileSync(data, 'utf8')));
  });

  it('refuses an unknown template, an Instruct without chat template; prepares a Base lacking it', async () => {
    await expect(handoffCommand.run([BASE, INSTRUCT, '--train', TRAIN, '--out', join(tmp, 'x'), '--template', 'llama-9000'])).rejects.toThrow(/LLaMA-Factory has no template "llama-9000"/);
    const strip = (src: string, name: string): string => {
      const d = join(tmp, name);
      cpSync(src, d, { recursive: true });
      const cfg = JSON.parse(readFileSync(join(d, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
      delete cfg.chat_template;
      writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify(cfg));
      return d;
    };
    const noTplInstruct = strip(INSTRUCT, "instruct n'o tpl");
    await expect(handoffCommand.run([BASE, noTplInstruct, '--train', TRAIN, '--out', join(tmp, 'y')])).rejects.toThrow(/has no chat template.*--template NAME/);
    const noTplBase = strip(BASE, 'base sans modèle');
    const out = join(tmp, 'prep');
    expect(await handoffCommand.run([noTplBase, INSTRUCT, '--train', TRAIN, '--out', out])).toBe(0);
    expect(yamlOf(out, 'train_shadow_base.yaml').model_name_or_path).toBe('base_with_instruct_template');
    // The adapter trained on the prepared copy holds the Base's own weights: mergekit applies it to the Base itself.
    expect(yamlOf(out, 'graft_mergekit.yaml')).toMatchObject({ base_model: INSTRUCT, models: [{ model: `${noTplBase}+./saves/shadow_base_lora` }, { model: noTplBase }] });
    execFileSync('sh', ['prepare_base.sh'], { cwd: out, stdio: 'pipe' });
    const prepared = join(out, 'base_with_instruct_template');
    expect(lstatSync(join(prepared, 'model.safetensors')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(prepared, 'tokenizer_config.json'), 'utf8')).toBe(readFileSync(join(INSTRUCT, 'tokenizer_config.json'), 'utf8'));
    expect(readFileSync(join(prepared, 'config.json'), 'utf8')).toBe(readFileSync(join(noTplBase, 'config.json'), 'utf8'));
  });

  it('the README of an export with bare folder names (the app default) lists every place to set the paths', () => {
    const r = { instructModel: 'stories260K-instruct', finetuningType: 'lora' as const, preparedBaseDir: 'p', shadowOutput: 'saves/shadow_base_lora', conventionalOutput: 'c', hasHeldout: false, template: undefined, numTrain: 3, numHeldout: 0, totalSteps: 1, warmupSteps: 0, gradAccum: 1 };
    const bare = readmeText({ ...r, baseModel: 'stories260K-base', prepareBase: true, bareModelNames: true });
    expect(bare).toMatch(/Set the model paths first.*`stories260K-base`.*`stories260K-instruct`.*model_name_or_path.*graft_mergekit\.yaml.*prepare_base\.sh/s);
    expect(readmeText({ ...r, baseModel: '/m/base+v2', prepareBase: false })).toMatch(/contains one: symlink the Base/);
  });
});
