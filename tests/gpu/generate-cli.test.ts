/**
 * `shadowft generate` (src/cli/generate.ts) on the demo Instruct model, on the shared test device: --json output
 * (exact keys; the PyTorch greedy sample of REFERENCE_RESULTS.md), streaming text + tokens/s, a PEFT adapter written
 * to disk (tokens checked against the CPU reference), and an adapter whose shapes do not fit (exit 1, tensor named).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main';
import { runGenerate, type GenerateJson } from '../../src/cli/generate';
import { buildAdapterFiles } from '../../src/engine/graft/adapterFiles';
import type { LoraAdapter } from '../../src/engine/model/loraTypes';
import { modulePath } from '../../src/engine/model/weights';
import { loadRefModel, refForwardLogits } from '../../src/engine/reference/model';
import { loadModelFolder } from '../../src/app/loadModel';
import { modelFilesFromDir } from '../../src/node/files';
import { captureCli } from '../support/captureCli';
import { randomAdapter } from '../support/genModels';
import { testGpu } from './device';

const DIR = 'public/demo/stories260K-instruct';
const MAX = "Once upon a time, there was a dog named Max. Max loved to play with his toys and run around. One day, Max's mom told him to be careful and not find anything. Max was very excited to play with his toys.\nMax was very excited to play with his toys. He went to the toy car and saw a big box.";
const deps = { gpu: async () => ({ ctx: await testGpu(), owned: false }) };
let tmp: string;

async function writeAdapter(a: LoraAdapter, name: string): Promise<string> {
  const files = buildAdapterFiles(a, { baseModelNameOrPath: 'stories260K-instruct' });
  const d = join(tmp, name);
  await mkdir(d, { recursive: true });
  await writeFile(join(d, 'adapter_config.json'), files['adapter_config.json']);
  await writeFile(join(d, 'adapter_model.safetensors'), new Uint8Array(await files['adapter_model.safetensors'].arrayBuffer()));
  return d;
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'shadowft-generate-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe('shadowft generate', () => {
  it('--json prints exactly prompt_ids, new_ids, text, stopped (greedy = the PyTorch sample); streaming prints the same text', async () => {
    const prompt = 'Write a story about a dog named Max.';
    const j = await captureCli(() => runGenerate([DIR, '--prompt', prompt, '--max-new-tokens', '160', '--json'], deps));
    expect(j.code).toBe(0);
    const out = JSON.parse(j.out) as GenerateJson;
    expect(Object.keys(out)).toEqual(['prompt_ids', 'new_ids', 'text', 'stopped']);
    expect(out.stopped).toBe(true);
    expect(out.new_ids).not.toContain(2);
    expect(out.text.trim()).toBe(MAX);
    expect(out.prompt_ids[0]).toBe(1);
    const s = await captureCli(() => runGenerate([DIR, '--prompt', prompt, '--max-new-tokens', '160'], deps));
    expect(s.out.trim()).toBe(MAX);
    expect(s.err).toMatch(/\d+ new tokens \(stopped at a stop token\), [\d.]+ tokens\/s decode/);
    // Sampling is reproducible for a seed and honours --max-new-tokens.
    const args = [DIR, '--prompt', prompt, '--max-new-tokens', '12', '--temperature', '0.8', '--top-p', '0.9', '--seed', '5', '--json'];
    const a = JSON.parse((await captureCli(() => runGenerate(args, deps))).out) as GenerateJson;
    const b = JSON.parse((await captureCli(() => runGenerate(args, deps))).out) as GenerateJson;
    expect(a.new_ids).toEqual(b.new_ids);
    expect(a.new_ids.length).toBeLessThanOrEqual(12);
  });

  it('--adapter applies a PEFT adapter (tokens equal the CPU reference with that LoRA)', async () => {
    const m = await loadModelFolder(await modelFilesFromDir(DIR));
    const a = randomAdapter(m.config, 4, 8, 3, 0.2);
    const d = await writeAdapter(a, 'adapter');
    const r = await captureCli(() => runGenerate([DIR, '--adapter', d, '--prompt', 'Tell me a story about a big red ball.', '--max-new-tokens', '24', '--json'], deps));
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as GenerateJson;
    const ref = await loadRefModel(m.config, m.checkpoint);
    const V = m.config.vocabSize;
    const all = refForwardLogits(ref, [...out.prompt_ids, ...out.new_ids.slice(0, -1)], { r: 4, scaling: 2, modules: a.modules }, 'all');
    const cpu = out.new_ids.map((_, i) => {
      const row = out.prompt_ids.length - 1 + i;
      let best = 0;
      for (let v = 1; v < V; v++) if ((all[row * V + v] as number) > (all[row * V + best] as number)) best = v;
      return best;
    });
    expect(cpu).toEqual(out.new_ids);
  });

  it('refuses an adapter whose shapes do not fit the model, naming the tensor, and bad flags', async () => {
    const m = await loadModelFolder(await modelFilesFromDir(DIR));
    const a = randomAdapter(m.config, 4, 8, 3);
    const modules = new Map(a.modules);
    const p = modulePath(1, 'gate_proj');
    const w = modules.get(p)!;
    modules.set(p, { ...w, inFeatures: w.inFeatures + 2, a: new Float32Array(4 * (w.inFeatures + 2)) });
    const d = await writeAdapter({ settings: a.settings, modules }, 'bad-adapter');
    const r = await captureCli(() => main(['generate', DIR, '--adapter', d, '--prompt', 'hi']));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/base_model\.model\.model\.layers\.1\.mlp\.gate_proj\.lora_A\.weight is \[4, 66\] but this model needs \[4, 64\]/);
    const f = await captureCli(() => main(['generate', DIR, '--prompt', 'hi', '--top-p', '0']));
    expect(f.code).toBe(1);
    expect(f.err).toMatch(/--top-p must be in \(0, 1\]/);
    const n = await captureCli(() => main(['generate', DIR]));
    expect(n.err).toMatch(/--prompt TEXT is required/);
  });
});
