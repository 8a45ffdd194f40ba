import { describe, expect, it } from 'vitest';
import { openAsBlob, readdirSync } from 'node:fs';
import { recognizeDrop, type DroppedFile, type RecognizedModel } from '../../src/io/folder';
import { assignRoles, roleFromName } from '../../src/io/roles';
import { checkPairCompatible, PairMismatchError, type PairSide } from '../../src/io/pair';
import { openCheckpoint, type Checkpoint } from '../../src/io/checkpoint';
import { normalizeConfig, readModelConfig } from '../../src/io/config';
import type { ModelConfig } from '../../src/io/config/types';
import { modelFilesFromDir } from '../../src/node/files';

const SHARED = '/work/shared';

/** The files of a folder on disk as a drop under `prefix` (like webkitRelativePath). */
async function dropDir(dir: string, prefix: string): Promise<DroppedFile[]> {
  const out: DroppedFile[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isFile()) out.push({ path: `${prefix}/${e.name}`, file: await openAsBlob(`${dir}/${e.name}`) });
  }
  return out;
}

const text = (s: string): Blob => new Blob([s]);

describe('recognizeDrop', () => {
  it('finds the stories260K pair, the sixteen datasets (six of them preference pairs), and ignores the rest with reasons', async () => {
    const dropped = [
      ...(await dropDir(`${SHARED}/models/stories260K-base`, 'models/stories260K-base')),
      ...(await dropDir(`${SHARED}/models/stories260K-instruct`, 'models\\stories260K-instruct')),
      ...(await dropDir(`${SHARED}/datasets`, 'datasets')),
      { path: 'models/README.md', file: text('# readme') },
      { path: 'models/.DS_Store', file: text('') },
      { path: 'orphan/config.json', file: text('{}') },
      { path: 'orphan/tokenizer.json', file: text('{}') },
    ];
    const got = await recognizeDrop(dropped);
    expect(got.models.map((m) => [m.files.name, m.folder, m.hasTokenizer, m.hasChatTemplate])).toEqual([
      ['stories260K-base', 'models/stories260K-base', true, true],
      ['stories260K-instruct', 'models/stories260K-instruct', true, true],
    ]);
    expect([...(got.models[0]?.files.files.keys() ?? [])].sort()).toEqual([
      'LICENSE', 'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    const ds = Object.fromEntries(got.datasets.map((d) => [d.path, `${d.format}/${d.split}`]));
    expect(ds).toEqual({
      'datasets/instruct-sft.heldout.messages.jsonl': 'jsonl/heldout',
      'datasets/instruct-sft.messages.jsonl': 'jsonl/train',
      'datasets/story-titles-pref.heldout.alpaca.json': 'json/heldout',
      'datasets/story-titles-pref.heldout.sharegpt.jsonl': 'jsonl/heldout',
      'datasets/story-titles-pref.heldout.trl.jsonl': 'jsonl/heldout',
      'datasets/story-titles-pref.train.alpaca.json': 'json/train',
      'datasets/story-titles-pref.train.sharegpt.jsonl': 'jsonl/train',
      'datasets/story-titles-pref.train.trl.jsonl': 'jsonl/train',
      'datasets/story-titles.heldout.alpaca.json': 'json/heldout',
      'datasets/story-titles.heldout.csv': 'csv/heldout',
      'datasets/story-titles.heldout.messages.jsonl': 'jsonl/heldout',
      'datasets/story-titles.heldout.sharegpt.jsonl': 'jsonl/heldout',
      'datasets/story-titles.train.alpaca.json': 'json/train',
      'datasets/story-titles.train.csv': 'csv/train',
      'datasets/story-titles.train.messages.jsonl': 'jsonl/train',
      'datasets/story-titles.train.sharegpt.jsonl': 'jsonl/train',
    });
    expect(Object.fromEntries(got.ignored.map((i) => [i.path, i.reason]))).toEqual({
      'datasets/README.md': 'not a model file or a dataset (.json, .jsonl, .csv, .parquet)',
      'models/README.md': 'not a model file or a dataset (.json, .jsonl, .csv, .parquet)',
      'models/.DS_Store': 'hidden file',
      'orphan/config.json': 'not a model folder: config.json but no model.safetensors',
      'orphan/tokenizer.json': 'not a model folder: config.json but no model.safetensors',
    });
    // The recognised folder opens as a checkpoint.
    const ckpt = await openCheckpoint(got.models[0]?.files ?? { name: '', files: new Map() });
    expect(ckpt.tensors.size).toBe(47);
  });

  it('loose files form one model named "model"; a single *.safetensors with another name is accepted', async () => {
    const got = await recognizeDrop([
      { path: 'config.json', file: text('{}') },
      { path: 'weights.safetensors', file: text('') },
      { path: 'train.jsonl', file: text('') },
    ]);
    expect(got.models.map((m) => [m.files.name, m.folder, m.hasTokenizer, m.hasChatTemplate])).toEqual([['model', '', false, false]]);
    // .jsonl/.csv next to the weights are datasets; the model keeps its other files.
    expect(got.datasets.map((d) => [d.path, d.format, d.split])).toEqual([['train.jsonl', 'jsonl', 'train']]);
    expect([...(got.models[0]?.files.files.keys() ?? [])]).toEqual(['config.json', 'weights.safetensors']);
  });

  it('sharded checkpoints need every shard named in the index', async () => {
    const index = JSON.stringify({ metadata: { total_size: 0 }, weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' } });
    const files = [
      { path: 'big/config.json', file: text('{}') },
      { path: 'big/model.safetensors.index.json', file: text(index) },
      { path: 'big/model-00001-of-00002.safetensors', file: text('') },
    ];
    const missing = await recognizeDrop(files);
    expect(missing.models).toEqual([]);
    expect(missing.ignored[0]?.reason).toBe('not a model folder: shard model-00002-of-00002.safetensors named in model.safetensors.index.json missing');
    const complete = await recognizeDrop([...files, { path: 'big/model-00002-of-00002.safetensors', file: text('') }]);
    expect(complete.models.map((m) => m.files.name)).toEqual(['big']);
  });

  it('several unindexed .safetensors, adapters and chat_template.jinja', async () => {
    const got = await recognizeDrop([
      { path: 'two/config.json', file: text('{}') },
      { path: 'two/a.safetensors', file: text('') },
      { path: 'two/b.safetensors', file: text('') },
      { path: 'lora/adapter_config.json', file: text('{}') },
      { path: 'lora/adapter_model.safetensors', file: text('') },
      { path: 'm/config.json', file: text('{}') },
      { path: 'm/model.safetensors', file: text('') },
      { path: 'm/chat_template.jinja', file: text('{{ messages }}') },
    ]);
    expect(got.models.map((m) => [m.files.name, m.hasChatTemplate])).toEqual([['m', true]]);
    const reasons = Object.fromEntries(got.ignored.map((i) => [i.path, i.reason]));
    expect(reasons['two/a.safetensors']).toBe('not a model folder: several .safetensors files (a.safetensors, b.safetensors) and no model.safetensors.index.json');
    expect(reasons['lora/adapter_model.safetensors']).toBe('not a model folder: no config.json in this folder');
  });
});

const fakeModel = (name: string, hasChatTemplate: boolean): RecognizedModel => ({ files: { name, files: new Map() }, folder: name, hasTokenizer: true, hasChatTemplate });

describe('Base / Instruct assignment', () => {
  it.each([
    ['stories260K-base', 'base'], ['stories260K-instruct', 'instruct'], ['Qwen3-0.6B-Base', 'base'], ['Qwen3-0.6B', null],
    ['gemma-3-270m-it', 'instruct'], ['gemma-3-270m', null], ['Llama-2-7b-chat-hf', 'instruct'], ['SmolLM2-135M-Instruct', 'instruct'],
    ['database-model', null], ['base-instruct-mix', null], ['italic', null],
  ])('roleFromName(%s) = %s', (name, role) => {
    expect(roleFromName(name)).toBe(role);
  });

  it('folder names decide first, in either drop order, even with one side silent', () => {
    const b = fakeModel('stories260K-base', true);
    const i = fakeModel('stories260K-instruct', true);
    expect(assignRoles(i, b)).toEqual({ base: b, instruct: i, decidedBy: 'folder names' });
    expect(assignRoles(b, i)).toEqual({ base: b, instruct: i, decidedBy: 'folder names' });
    const q = fakeModel('Qwen3-0.6B', true);
    const qb = fakeModel('Qwen3-0.6B-Base', true);
    expect(assignRoles(q, qb)).toEqual({ base: qb, instruct: q, decidedBy: 'folder names' });
  });

  it('then the chat template present in only one, else ambiguous (drop order)', () => {
    const x = fakeModel('model-a', false);
    const y = fakeModel('model-b', true);
    expect(assignRoles(y, x)).toEqual({ base: x, instruct: y, decidedBy: 'chat template' });
    const z = fakeModel('model-c', false);
    expect(assignRoles(x, z)).toEqual({ base: x, instruct: z, decidedBy: 'ambiguous' });
  });
});

async function side(dir: string, name?: string): Promise<PairSide> {
  const files = await modelFilesFromDir(dir, name);
  const config = await readModelConfig(files.files.get('config.json') as Blob, `${files.name}/config.json`);
  return { config, checkpoint: await openCheckpoint(files) };
}

/** A checkpoint with the given tensor shapes (no data; checkPairCompatible reads headers only). */
function fakeCkpt(modelName: string, shapes: Record<string, number[]>): Checkpoint {
  const tensors = new Map(Object.entries(shapes).map(([name, shape]) => [name, { file: new Blob([]), fileName: 'model.safetensors', info: { name, dtype: 'BF16' as const, shape, begin: 0, end: 0 } }]));
  return { modelName, tensors, fileNames: ['model.safetensors'], totalBytes: 0 };
}

describe('checkPairCompatible', () => {
  it('accepts the real pairs (stories260K, fixtures llama-tiny) without warnings', async () => {
    expect(checkPairCompatible(await side(`${SHARED}/models/stories260K-base`), await side(`${SHARED}/models/stories260K-instruct`))).toEqual([]);
    expect(checkPairCompatible(await side(`${SHARED}/fixtures/llama-tiny`), await side(`${SHARED}/fixtures/llama-tiny/model-instruct`, 'llama-tiny-instruct'))).toEqual([]);
  });

  it('names model_type first when the architectures differ', async () => {
    const llama = await side(`${SHARED}/fixtures/llama-tiny`);
    const qwen = await side(`${SHARED}/fixtures/qwen2-tiny`);
    expect(() => checkPairCompatible(llama, qwen)).toThrow(new PairMismatchError('model_type differs: Base "llama-tiny" has "llama", Instruct "qwen2-tiny" has "qwen2"; Shadow-FT needs two models of the same architecture'));
  });

  const cfg: ModelConfig = normalizeConfig({ model_type: 'llama', vocab_size: 8, hidden_size: 4, intermediate_size: 6, num_hidden_layers: 1, num_attention_heads: 2 }, 't');
  const shapes = { 'model.embed_tokens.weight': [8, 4], 'model.layers.0.self_attn.q_proj.weight': [4, 4], 'model.norm.weight': [4], 'lm_head.weight': [8, 4] };
  const B = (s: Record<string, number[]> = shapes, c: ModelConfig = cfg): PairSide => ({ config: c, checkpoint: fakeCkpt('b', s) });
  const I = (s: Record<string, number[]> = shapes, c: ModelConfig = cfg): PairSide => ({ config: c, checkpoint: fakeCkpt('i', s) });

  it('names a differing config dimension with both values', () => {
    expect(() => checkPairCompatible(B(), I(shapes, { ...cfg, numKvHeads: 1 }))).toThrow('num_key_value_heads differs: Base "b" has 2, Instruct "i" has 1');
  });

  it('names a tensor missing in either model', () => {
    const { 'model.norm.weight': _n, ...noNorm } = shapes;
    expect(() => checkPairCompatible(B(), I(noNorm))).toThrow('tensor model.norm.weight is in Base "b" but missing in Instruct "i"');
    expect(() => checkPairCompatible(B(noNorm), I())).toThrow('tensor model.norm.weight is in Instruct "i" but missing in Base "b"');
  });

  it('names a shape difference with both shapes', () => {
    expect(() => checkPairCompatible(B(), I({ ...shapes, 'model.layers.0.self_attn.q_proj.weight': [4, 2] }))).toThrow(
      'tensor model.layers.0.self_attn.q_proj.weight has shape [4, 4] in Base "b" but [4, 2] in Instruct "i"',
    );
    // Column counts of the vocab tensors must still match.
    expect(() => checkPairCompatible(B(), I({ ...shapes, 'lm_head.weight': [8, 5] }))).toThrow('tensor lm_head.weight has shape [8, 4] in Base "b" but [8, 5] in Instruct "i"');
  });

  it('allows a vocab-size difference in embed_tokens / lm_head rows with warnings', () => {
    const bigger = { ...shapes, 'model.embed_tokens.weight': [10, 4], 'lm_head.weight': [10, 4] };
    const w = checkPairCompatible(B(), I(bigger, { ...cfg, vocabSize: 10 }));
    expect(w).toEqual([
      'vocab_size differs (Base "b": 8, Instruct "i": 10); token ids must stay below 8',
      'model.embed_tokens.weight has 8 rows in Base "b" but 10 in Instruct "i" (different vocab sizes); only the shared rows are comparable',
      'lm_head.weight has 8 rows in Base "b" but 10 in Instruct "i" (different vocab sizes); only the shared rows are comparable',
    ]);
  });

  it('warns on a rope_theta difference', () => {
    expect(checkPairCompatible(B(), I(shapes, { ...cfg, ropeTheta: 5e5 }))).toEqual(['rope_theta differs: Base "b" has 10000, Instruct "i" has 500000']);
  });
});
