/**
 * `shadowft graft BASE TUNED INSTRUCT OUT` on the demo pair (../shared/models), against references computed here:
 * - full tune (tests/support/tunedBase.ts: a known perturbation of three tensors): every element equals
 *   RNE_bf16(f64(W_I) + f64(W_B′) − f64(W_B)) rounded directly from the exact value, except where the f32 value
 *   sits exactly on a BF16 rounding boundary (double rounding); untouched tensors byte for byte; config and
 *   tokenizer files copied; sharded output re-reads the same; no temporary folder left;
 * - a PEFT LoRA adapter as TUNED: W_I + (α/r)·B·A in f64 here, rounded to BF16;
 * - bad inputs: the Instruct passed as TUNED (closer to the Instruct), an unrelated model (σ to the Base like
 *   independent weights), another family, another dtype, a missing shard, an extra
 *   tensor, a resized vocabulary (refused with counts; --shared-rows-only grafts the shared rows), a non-empty OUT.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Papa from 'papaparse';
import { afterAll, describe, expect, it } from 'vitest';
import { graftCommand } from '../../src/cli/graft';
import { buildAdapterFiles } from '../../src/engine/graft/adapterFiles';
import type { LoraModuleWeights } from '../../src/engine/model/loraTypes';
import { bf16Bits, bf16ToNumber, f64ToBf16, parseSt, PERTURBED, writeSt, writeTunedBase, type RawTensor } from '../support/tunedBase';

const MODELS = join(__dirname, '../../../shared/models');
const BASE = join(MODELS, 'stories260K-base');
const INSTRUCT = join(MODELS, 'stories260K-instruct');
const tmp = mkdtempSync(join(tmpdir(), 'shadowft-graft-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const readModel = (dir: string): Map<string, RawTensor> => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.safetensors')).sort();
  const all = new Map<string, RawTensor>();
  for (const f of files) for (const [k, v] of parseSt(new Uint8Array(readFileSync(join(dir, f))))) all.set(k, v);
  return all;
};
const base = readModel(BASE);
const inst = readModel(INSTRUCT);
let n = 0;
const fresh = (): string => join(tmp, `case-${n++}`);
const silent = async (p: Promise<number>): Promise<number> => p;

/** A fixed pseudo-random permutation of the values (Fisher–Yates with an LCG). */
function shuffled(bits: Uint16Array): Uint16Array {
  const out = Uint16Array.from(bits);
  let s = 987654321;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as number, out[i] as number];
  }
  return out;
}

/** Checks a grafted tensor against the direct reference; returns the count of boundary ties allowed. */
function expectGraft(name: string, got: RawTensor, tuned: RawTensor): number {
  const g = bf16Bits(got.bytes);
  const wi = bf16Bits((inst.get(name) as RawTensor).bytes);
  const wb = bf16Bits((base.get(name) as RawTensor).bytes);
  const wt = bf16Bits(tuned.bytes);
  let ties = 0;
  for (let i = 0; i < g.length; i++) {
    const exact = bf16ToNumber(wi[i] as number) + (bf16ToNumber(wt[i] as number) - bf16ToNumber(wb[i] as number));
    const want = wt[i] === wb[i] ? (wi[i] as number) : f64ToBf16(exact);
    if (g[i] === want) continue;
    const f32bits = new Uint32Array(new Float32Array([exact]).buffer)[0] as number;
    expect((f32bits & 0xffff) === 0x8000 && Math.fround(exact) !== exact, `${name}[${i}]: got ${g[i]?.toString(16)}, want ${want.toString(16)} (exact ${exact})`).toBe(true);
    ties++;
  }
  return ties;
}

describe('shadowft graft (full tune)', () => {
  const tunedDir = fresh();
  const tuned = writeTunedBase(BASE, tunedDir);

  it('writes W_I + (W_B′ − W_B) rounded once; untouched tensors and files byte for byte', async () => {
    const out = fresh();
    const csv = join(tmp, 'tuning.csv');
    expect(await silent(graftCommand.run([BASE, tunedDir, INSTRUCT, out, '--csv', csv]))).toBe(0);
    expect(readdirSync(tmp).filter((f) => f.includes('.partial'))).toEqual([]);
    const got = readModel(out);
    expect([...got.keys()]).toEqual([...inst.keys()]);
    let ties = 0;
    for (const [name, t] of got) {
      const i = inst.get(name) as RawTensor;
      expect(t.dtype).toBe(i.dtype);
      expect(t.shape).toEqual(i.shape);
      if ((PERTURBED as readonly string[]).includes(name)) {
        expect(Buffer.from(t.bytes).equals(Buffer.from(i.bytes)), name).toBe(false);
        ties += expectGraft(name, t, tuned.get(name) as RawTensor);
      } else expect(Buffer.from(t.bytes).equals(Buffer.from(i.bytes)), name).toBe(true);
    }
    expect(ties).toBeLessThan(5);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'generation_config.json']) {
      expect(readFileSync(join(out, f)).equals(readFileSync(join(INSTRUCT, f))), f).toBe(true);
    }
    const rows = Papa.parse<Record<string, string>>(readFileSync(csv, 'utf8').trimEnd(), { header: true }).data;
    const changed = rows.filter((r) => Number(r.sigma) > 0).map((r) => r.tensor).sort();
    expect(changed).toEqual([...PERTURBED].sort());
    // σ of the q_proj perturbation, computed here.
    const q = PERTURBED[0];
    const b = bf16Bits((base.get(q) as RawTensor).bytes);
    const t = bf16Bits((tuned.get(q) as RawTensor).bytes);
    let d = 0;
    let s = 0;
    for (let i = 0; i < b.length; i++) {
      d += Math.abs(bf16ToNumber(t[i] as number) - bf16ToNumber(b[i] as number));
      s += Math.abs(bf16ToNumber(t[i] as number)) + Math.abs(bf16ToNumber(b[i] as number));
    }
    const row = rows.find((r) => r.tensor === q);
    expect(Math.abs(Number(row?.sigma) - d / s)).toBeLessThanOrEqual(1e-9 * (d / s));
  });

  it('a TUNED saved in F32 (LLaMA-Factory full fine-tuning upcasts) grafts to the same bytes', async () => {
    const f32 = fresh();
    writeTunedBase(BASE, f32, {
      edit: (m) => {
        for (const t of m.values()) {
          t.bytes = new Uint8Array(Float32Array.from(bf16Bits(t.bytes), (x) => bf16ToNumber(x)).buffer);
          t.dtype = 'F32';
        }
      },
    });
    const a = fresh();
    const b = fresh();
    expect(await graftCommand.run([BASE, tunedDir, INSTRUCT, a])).toBe(0);
    expect(await graftCommand.run([BASE, f32, INSTRUCT, b])).toBe(0);
    expect(readFileSync(join(b, 'model.safetensors')).equals(readFileSync(join(a, 'model.safetensors')))).toBe(true);
  });

  it('sharded output holds the same tensors', async () => {
    const one = fresh();
    const many = fresh();
    expect(await graftCommand.run([BASE, tunedDir, INSTRUCT, one])).toBe(0);
    expect(await graftCommand.run([BASE, tunedDir, INSTRUCT, many, '--max-shard-size', '200kB'])).toBe(0);
    const names = readdirSync(many).sort();
    expect(names).toContain('model.safetensors.index.json');
    expect(names.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)).length).toBeGreaterThan(1);
    const a = readModel(one);
    const b = readModel(many);
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [k, v] of a) expect(Buffer.from((b.get(k) as RawTensor).bytes).equals(Buffer.from(v.bytes)), k).toBe(true);
    const index = JSON.parse(readFileSync(join(many, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    expect(Object.keys(index.weight_map).sort()).toEqual([...a.keys()].sort());
  });

  it('refuses bad inputs with clear errors and writes nothing', async () => {
    const run = (t: string, out = fresh(), extra: string[] = []) => ({ out, p: graftCommand.run([BASE, t, INSTRUCT, out, ...extra]) });
    let c = run(INSTRUCT);
    await expect(c.p).rejects.toThrow(/stories260K-instruct is closer to the Instruct \(stories260K-instruct\) than to the Base \(stories260K-base\) on 45 of the 45 tensors it changed \(mean σ\(TUNED, Base\) = 0\.016\d*, σ\(TUNED, Instruct\) = 0\.00\).*add the Instruct's own update twice/);
    expect(existsSync(c.out)).toBe(false);
    // An unrelated model of the same shapes: the Base's values, each tensor shuffled (independent weights drawn
    // from the same distribution) — about as close to the Instruct as to the Base, and far from both.
    const unrelated = fresh();
    writeTunedBase(BASE, unrelated, { edit: (m) => { for (const t of m.values()) t.bytes = new Uint8Array(shuffled(bf16Bits(t.bytes)).buffer); } });
    await expect(run(unrelated).p).rejects.toThrow(/is not stories260K-base after tuning: σ\(TUNED, Base\) ≥ 0\.25 on \d+ of the 45 tensors it changed.*Is TUNED another model\?/);
    expect(await run(unrelated, fresh(), ['--skip-derivation-check']).p).toBe(0);
    const family = fresh();
    writeTunedBase(BASE, family, { editConfig: (cfg) => (cfg.model_type = 'qwen2') });
    await expect(run(family).p).rejects.toThrow(/model_type "qwen2" but stories260K-base \(Base\) has "llama": TUNED is another model family/);
    const f16 = fresh();
    writeTunedBase(BASE, f16, {
      edit: (m) => {
        const t = m.get(PERTURBED[0]) as RawTensor;
        t.bytes = new Uint8Array(t.bytes.byteLength); // F16 zeros: only the dtype matters here
        t.dtype = 'F16';
      },
    });
    await expect(run(f16).p).rejects.toThrow(/tensor model\.layers\.0\.self_attn\.q_proj\.weight is F16 but stories260K-base \(Base\) stores it as BF16/);
    const extraT = fresh();
    writeTunedBase(BASE, extraT, { edit: (m) => m.set('model.layers.0.self_attn.q_proj.lora_magnitude', { dtype: 'BF16', shape: [2], bytes: new Uint8Array(4) }) });
    await expect(run(extraT).p).rejects.toThrow(/has tensors stories260K-base \(Base\) lacks: model\.layers\.0\.self_attn\.q_proj\.lora_magnitude/);
    const missing = fresh();
    writeTunedBase(BASE, missing);
    const all = parseSt(new Uint8Array(readFileSync(join(missing, 'model.safetensors'))));
    const keys = [...all.keys()];
    const first = new Map(keys.slice(0, 10).map((k) => [k, all.get(k) as RawTensor]));
    rmSync(join(missing, 'model.safetensors'));
    writeFileSync(join(missing, 'model-00001-of-00002.safetensors'), writeSt(first));
    writeFileSync(join(missing, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: Object.fromEntries(keys.map((k, i) => [k, i < 10 ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors'])) }));
    await expect(run(missing).p).rejects.toThrow(/shard model-00002-of-00002\.safetensors named in model\.safetensors\.index\.json is missing/);
    const vocab = fresh();
    writeTunedBase(BASE, vocab, {
      edit: (m) => {
        const e = m.get('model.embed_tokens.weight') as RawTensor;
        const grown = new Uint8Array(e.bytes.byteLength + 8 * 64 * 2);
        grown.set(e.bytes);
        e.bytes = grown;
        e.shape = [520, 64];
      },
      // A real resized tune (added tokens) says so in its config.json too.
      editConfig: (cfg) => (cfg.vocab_size = 520),
    });
    await expect(run(vocab).p).rejects.toThrow(/model\.embed_tokens\.weight: Base 512 rows, TUNED 520, Instruct 512.*--shared-rows-only/);
    const ok = run(vocab, fresh(), ['--shared-rows-only']);
    expect(await ok.p).toBe(0);
    expect(readModel(ok.out).get('model.embed_tokens.weight')?.shape).toEqual([512, 64]);
    const busy = fresh();
    await mkdir(busy);
    await writeFile(join(busy, 'keep.txt'), 'mine');
    await expect(run(tunedDir, busy).p).rejects.toThrow(/is not empty \(keep\.txt\)/);
    expect(readFileSync(join(busy, 'keep.txt'), 'utf8')).toBe('mine');
    await expect(graftCommand.run([BASE, tunedDir])).rejects.toThrow(/expected BASE_DIR TUNED_DIR INSTRUCT_DIR OUT_DIR/);
  });
});

describe('shadowft graft (LoRA adapter as TUNED)', () => {
  it('writes W_I + (α/r)·B·A for the adapter modules', async () => {
    const r = 4;
    const alpha = 8;
    const u = (k: number): number => Math.sin(k * 12.9898) * 0.05;
    const modules = new Map<string, LoraModuleWeights>();
    const paths = ['model.layers.1.self_attn.v_proj', 'model.layers.3.mlp.up_proj'];
    for (const path of paths) {
      const [out, inF] = (base.get(`${path}.weight`) as RawTensor).shape as [number, number];
      modules.set(path, { a: Float32Array.from({ length: r * inF }, (_, k) => u(k + 1)), b: Float32Array.from({ length: out * r }, (_, k) => u(k + 7)), inFeatures: inF, outFeatures: out });
    }
    const files = buildAdapterFiles({ settings: { r, alpha, dropout: 0, useRslora: false, targetModules: ['v_proj', 'up_proj'] }, modules }, { baseModelNameOrPath: 'stories260K-instruct' });
    const dir = fresh();
    await mkdir(dir);
    await writeFile(join(dir, 'adapter_config.json'), files['adapter_config.json']);
    await writeFile(join(dir, 'adapter_model.safetensors'), new Uint8Array(await files['adapter_model.safetensors'].arrayBuffer()));
    const out = fresh();
    const csv = join(tmp, 'lora-tuning.csv');
    expect(await graftCommand.run([BASE, dir, INSTRUCT, out, '--csv', csv])).toBe(0);
    // σ(W_B + s·B·A, W_B) per tensor, here in f64: targeted weights > 0, everything else 0.
    const rows = Papa.parse<Record<string, string>>(readFileSync(csv, 'utf8').trimEnd(), { header: true }).data;
    for (const row of rows) {
      const m = modules.get((row.tensor as string).replace(/\.weight$/, ''));
      if (!m) {
        expect(Number(row.sigma), row.tensor).toBe(0);
        continue;
      }
      const w = bf16Bits((base.get(row.tensor as string) as RawTensor).bytes);
      let d = 0;
      let s = 0;
      for (let o = 0; o < m.outFeatures; o++) {
        for (let k = 0; k < m.inFeatures; k++) {
          let ba = 0;
          for (let q = 0; q < r; q++) ba += (m.b[o * r + q] as number) * (m.a[q * m.inFeatures + k] as number);
          const x = bf16ToNumber(w[o * m.inFeatures + k] as number);
          d += Math.abs((alpha / r) * ba);
          s += Math.abs(x + (alpha / r) * ba) + Math.abs(x);
        }
      }
      expect(Math.abs(Number(row.sigma) - d / s), row.tensor).toBeLessThanOrEqual(1e-5 * (d / s));
    }
    const got = readModel(out);
    for (const [name, t] of got) {
      const path = name.replace(/\.weight$/, '');
      const m = modules.get(path);
      const i = inst.get(name) as RawTensor;
      if (!m) {
        if (name !== 'lm_head.weight') expect(Buffer.from(t.bytes).equals(Buffer.from(i.bytes)), name).toBe(true);
        continue;
      }
      const g = bf16Bits(t.bytes);
      const w = bf16Bits(i.bytes);
      let ties = 0;
      for (let o = 0; o < m.outFeatures; o++) {
        for (let k = 0; k < m.inFeatures; k++) {
          let ba = 0;
          for (let q = 0; q < r; q++) ba += (m.b[o * r + q] as number) * (m.a[q * m.inFeatures + k] as number);
          const exact = bf16ToNumber(w[o * m.inFeatures + k] as number) + (alpha / r) * ba;
          const got1 = g[o * m.inFeatures + k] as number;
          if (got1 !== f64ToBf16(exact)) {
            // Only an f32 value exactly on a BF16 boundary may round the other way.
            const bits = new Uint32Array(new Float32Array([exact]).buffer)[0] as number;
            expect(bits & 0xffff, `${name}[${o},${k}]`).toBe(0x8000);
            ties++;
          }
        }
      }
      expect(ties).toBeLessThan(3);
    }

    // The folder LLaMA-Factory writes (output_dir of a LoRA run): same adapter keys, a newer PEFT's extra config
    // fields, checkpoints, trainer state and tokenizer files next to it — grafts to the same bytes.
    const lf = fresh();
    await mkdir(join(lf, 'checkpoint-2'), { recursive: true });
    const cfg = JSON.parse(files['adapter_config.json']) as Record<string, unknown>;
    Object.assign(cfg, { base_model_name_or_path: '/models/stories260K-base', target_modules: ['up_proj', 'v_proj'], corda_config: null, eva_config: null, exclude_modules: null, lora_bias: false, qalora_group_size: 16, target_parameters: null, trainable_token_indices: null, use_qalora: false, peft_version: '0.17.1' });
    const st = new Uint8Array(await files['adapter_model.safetensors'].arrayBuffer());
    await writeFile(join(lf, 'adapter_config.json'), JSON.stringify(cfg, null, 2));
    await writeFile(join(lf, 'adapter_model.safetensors'), st);
    await writeFile(join(lf, 'checkpoint-2', 'adapter_model.safetensors'), st);
    await writeFile(join(lf, 'trainer_state.json'), '{"global_step": 2}');
    await writeFile(join(lf, 'README.md'), '---\nlibrary_name: peft\n---\n');
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json']) await writeFile(join(lf, f), readFileSync(join(BASE, f)));
    const out2 = fresh();
    expect(await graftCommand.run([BASE, lf, INSTRUCT, out2])).toBe(0);
    expect(readFileSync(join(out2, 'model.safetensors')).equals(readFileSync(join(out, 'model.safetensors')))).toBe(true);
  });
});
