/**
 * `shadowft train --finetuning-type full` as a user runs it on the demo pair (a child process of bin/shadowft.mjs):
 * it writes DIR/tuned-base (F32) and DIR/merged (the Instruct's BF16 layout), and — checked with the independent
 * safetensors reader of e2e/reference.ts, not the app's graft code — every merged element equals
 * W_I + (W_B′ − W_B) of the exported tuned Base within one BF16 rounding; the tuned Base differs from the Base.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bf16BitsToNumber, f32ToBf16Bits, readSafetensorsFile, tensorValues } from '../../e2e/reference';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const M = '../shared/models';

function cli(args: string[]): Promise<{ code: number | null; err: string; out: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['bin/shadowft.mjs', 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', rej);
    p.on('close', (code) => res({ code, err, out }));
  });
}

describe('shadowft train --finetuning-type full (CLI, demo pair)', () => {
  it('ends with a merged Instruct = W_I + (W_B′ − W_B) of the exported tuned Base within one BF16 rounding', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-full-'));
    dirs.push(tmp);
    const r = await cli([`${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', '../shared/datasets/story-titles.train.alpaca.json', '--max-steps', '4', '--batch-size', '4', '--max-length', '64', '--lr', '1e-4', '--finetuning-type', 'full', '--out', tmp]);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n')).toEqual([join(tmp, 'tuned-base'), join(tmp, 'merged')]);
    expect((await readdir(join(tmp, 'merged'))).sort()).toContain('config.json');
    const base = readSafetensorsFile(`${M}/stories260K-base/model.safetensors`);
    const inst = readSafetensorsFile(`${M}/stories260K-instruct/model.safetensors`);
    const tuned = readSafetensorsFile(join(tmp, 'tuned-base', 'model.safetensors'));
    const merged = readSafetensorsFile(join(tmp, 'merged', 'model.safetensors'));
    expect([...merged.tensors.keys()].sort()).toEqual([...inst.tensors.keys()].sort());
    let changed = 0;
    let off = 0;
    let n = 0;
    for (const [name, t] of inst.tensors) {
      const m = merged.tensors.get(name);
      const tb = tuned.tensors.get(name);
      const b = base.tensors.get(name);
      if (!m || !tb || !b) throw new Error(`${name} missing`);
      expect(m.dtype, name).toBe(t.dtype);
      expect(tb.dtype, name).toBe('F32');
      const wi = tensorValues(t);
      const wb = tensorValues(b);
      const wt = tensorValues(tb);
      const wm = tensorValues(m);
      for (let i = 0; i < wi.length; i++) {
        const want = (wi[i] as number) + ((wt[i] as number) - (wb[i] as number));
        if (wt[i] !== wb[i]) changed++;
        // one BF16 rounding: the stored value is one of the two BF16 neighbours of the exact sum (RNE picks the nearer)
        const lo = bf16BitsToNumber(f32ToBf16Bits(want));
        const ulp = Math.abs(bf16BitsToNumber(f32ToBf16Bits(want) + 1) - lo) || 1e-30;
        if (Math.abs((wm[i] as number) - want) > ulp) off++;
        n++;
      }
    }
    expect(changed).toBeGreaterThan(n / 2);
    expect(off).toBe(0);
  });
});
