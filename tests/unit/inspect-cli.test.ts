/**
 * `shadowft inspect DIR [--json]` (src/cli/inspect.ts) on folders written to disk: the demo model, variants with a
 * real lm_head / a chat_template.jinja, and invalid folders (exit 1, the reason on stderr). Expected values come from
 * the files themselves (tensor count of the header, which template file exists) and the rules of io/head.ts.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import type { DroppedFile } from '../../src/io/folder';
import { demoEmbedding, demoVariant } from '../support/demoVariant';
import { captureCli, type CapturedRun } from '../support/captureCli';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Writes dropped files under a fresh temp folder; returns the folder of the first file's top directory. */
async function writeDrop(files: DroppedFile[]): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), 'shadowft-inspect-'));
  dirs.push(tmp);
  for (const f of files) {
    await mkdir(dirname(join(tmp, f.path)), { recursive: true });
    await writeFile(join(tmp, f.path), new Uint8Array(await f.file.arrayBuffer()));
  }
  return join(tmp, (files[0] as DroppedFile).path.split('/')[0] as string);
}

/** Runs the CLI, capturing stdout and stderr. */
function run(args: string[]): Promise<CapturedRun> {
  return captureCli(() => main(args));
}

/** Tensor count straight from the header JSON (no src/io code). */
function headerTensorCount(path: string): number {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  return Object.keys(JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as object).filter((k) => k !== '__metadata__').length;
}

describe('shadowft inspect', () => {
  it('--json on the demo Instruct: llama, every tensor, tied, template from tokenizer_config.json', async () => {
    const r = await run(['inspect', 'public/demo/stories260K-instruct', '--json']);
    expect(r.code).toBe(0);
    const cfg = JSON.parse(readFileSync('public/demo/stories260K-instruct/tokenizer_config.json', 'utf8')) as { chat_template?: unknown };
    expect(typeof cfg.chat_template).toBe('string');
    expect(JSON.parse(r.out)).toEqual({ model_type: 'llama', tensors: headerTensorCount('public/demo/stories260K-instruct/model.safetensors'), lm_head: 'tied', chat_template_source: 'tokenizer_config.json', warnings: [] });
  });

  it('--json: a real lm_head under a tied config is "separate" with the warning; chat_template.jinja is the source', async () => {
    const e = await demoEmbedding('stories260K-instruct');
    const files = await demoVariant('stories260K-instruct', 'with-head', { add: [{ name: 'lm_head.weight', shape: e.shape, data: e.changed }] });
    files.push({ path: 'with-head/chat_template.jinja', file: new Blob(["{% for m in messages %}{{ m['content'] }}{% endfor %}"]) });
    const dir = await writeDrop(files);
    const r = await run(['inspect', dir, '--json']);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.out) as { lm_head: string; chat_template_source: string; warnings: string[]; tensors: number };
    expect([got.lm_head, got.chat_template_source, got.tensors]).toEqual(['separate', 'chat_template.jinja', headerTensorCount(join(dir, 'model.safetensors'))]);
    expect(got.warnings).toHaveLength(1);
    expect(got.warnings[0]).toMatch(/tie_word_embeddings: true.*own lm_head\.weight/);
    const text = await run(['inspect', dir]);
    expect(text.out).toMatch(/lm_head: separate tensor/);
    expect(text.out).toMatch(/warning: .*tie_word_embeddings: true/);
  });

  it('invalid folders exit 1 with the reason on stderr: trailing bytes, missing shard, unsupported model_type, not a model', async () => {
    const broken = await demoVariant('stories260K-instruct', 'broken');
    const st = broken.find((f) => f.path.endsWith('model.safetensors')) as DroppedFile;
    const withTail = broken.map((f) => (f === st ? { path: f.path, file: new Blob([f.file, new Uint8Array(3)]) } : f));
    let r = await run(['inspect', await writeDrop(withTail), '--json']);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toMatch(/model\.safetensors: data section is \d+ bytes: 3 trailing bytes.*incomplete-buffer/);

    const sharded = broken.filter((f) => f !== st);
    sharded.push({ path: 'broken/model.safetensors.index.json', file: new Blob([JSON.stringify({ weight_map: { 'model.norm.weight': 'model-00001-of-00002.safetensors', 'lm_head.weight': 'model-00002-of-00002.safetensors' } })]) });
    sharded.push({ path: 'broken/model-00001-of-00002.safetensors', file: st.file });
    r = await run(['inspect', await writeDrop(sharded)]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/broken: not a model folder: shard model-00002-of-00002\.safetensors named in model\.safetensors\.index\.json missing/);

    r = await run(['inspect', await writeDrop(await demoVariant('stories260K-instruct', 'mixtral', { config: { model_type: 'mixtral' } }))]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/model_type "mixtral" is not supported/);

    r = await run(['inspect', 'public/demo/datasets']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/datasets: not a model folder: no config\.json/);
  });
});
