/**
 * Test helpers for the graft tests: the trained LoRA of ../shared/fixtures case 2 (`final/` tensors of
 * lora_step.safetensors, r 4, α 8, scaling 2.0) as a {@link LoraAdapter}, tensor readers, and an independent
 * float64 reference of W + s·B·A.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { adapterFromPeftTensors, type PeftTensor } from '../../src/engine/graft/adapterFiles';
import type { LoraAdapter, LoraSettings } from '../../src/engine/model/loraTypes';
import { openCheckpoint, type Checkpoint } from '../../src/io/checkpoint';
import { decodeToF32 } from '../../src/io/dtype';
import { readSafetensorsHeader, readTensorBytes, type SafetensorsHeader } from '../../src/io/safetensors';
import { modelFilesFromDir } from '../../src/node/files';

export const FIX = '/work/shared/fixtures';
export const MODELS = ['llama-tiny', 'qwen2-tiny', 'qwen3-tiny'] as const;

/** A safetensors file on disk: Blob + header. */
export interface StFile {
  readonly blob: Blob;
  readonly header: SafetensorsHeader;
}

/** Opens a safetensors file on disk (whole file read; fixtures are small). */
export async function openSt(path: string): Promise<StFile> {
  const blob = new Blob([await readFile(path)]);
  return { blob, header: await readSafetensorsHeader(blob, path) };
}

/** Raw bytes of one tensor. @throws Error when absent. */
export async function rawOf(f: StFile, name: string): Promise<Uint8Array> {
  const info = f.header.tensors.get(name);
  if (!info) throw new Error(`${f.header.fileName}: no tensor ${name}`);
  return readTensorBytes(f.blob, info);
}

/** f32 values of one tensor (exact upcast). */
export async function f32Of(f: StFile, name: string): Promise<Float32Array> {
  const info = f.header.tensors.get(name);
  if (!info) throw new Error(`${f.header.fileName}: no tensor ${name}`);
  return decodeToF32(await readTensorBytes(f.blob, info), info.dtype);
}

/** The PEFT settings of case 2. */
export const FIXTURE_SETTINGS: LoraSettings = { r: 4, alpha: 8, dropout: 0, useRslora: false, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] };

/** The `final/` PEFT tensors of a model's lora_step.safetensors (prefix removed). */
export async function fixturePeftTensors(model: string): Promise<Map<string, PeftTensor>> {
  const f = await openSt(join(FIX, model, 'lora_step.safetensors'));
  const out = new Map<string, PeftTensor>();
  for (const [name, info] of f.header.tensors) {
    if (!name.startsWith('final/')) continue;
    out.set(name.slice('final/'.length), { shape: info.shape, values: await f32Of(f, name) });
  }
  return out;
}

/** The trained LoRA of case 2 as a LoraAdapter. */
export async function fixtureAdapter(model: string, settings: LoraSettings = FIXTURE_SETTINGS): Promise<LoraAdapter> {
  return adapterFromPeftTensors(settings, await fixturePeftTensors(model), `${model}/lora_step.safetensors final/`);
}

/** The Instruct checkpoint of a fixture model. */
export async function instructCheckpoint(model: string): Promise<Checkpoint> {
  return openCheckpoint(await modelFilesFromDir(join(FIX, model, 'model-instruct')));
}

/** Independent reference: W + s·(B·A) with every product and sum in f64 (straight triple loop), rounded to f32. */
export function referenceMerge(w: Float32Array, a: Float32Array, b: Float32Array, out: number, inF: number, r: number, s: number): Float32Array {
  const res = new Float32Array(out * inF);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let d = 0;
      for (let k = 0; k < r; k++) d += (b[o * r + k] as number) * (a[k * inF + i] as number);
      res[o * inF + i] = (w[o * inF + i] as number) + s * d;
    }
  }
  return res;
}

/** Asserts |got − want| ≤ 2e-6·max(1, |want|) element-wise (fixture README, case 4 F32 tolerance). */
export function expectMergeClose(got: Float32Array, want: Float32Array, what: string): void {
  if (got.length !== want.length) throw new Error(`${what}: ${got.length} values, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i] as number;
    const w = want[i] as number;
    if (!(Math.abs(g - w) <= 2e-6 * Math.max(1, Math.abs(w)))) throw new Error(`${what}: element ${i} is ${g}, expected ${w}`);
  }
}
