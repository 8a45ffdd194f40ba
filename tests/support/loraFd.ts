/**
 * Finite-difference check of LoRA gradients on the GPU (tests/gpu): for each (layer, module, A|B), the element with
 * the largest |gradient| is moved by ±eps in the LoRA parameter buffer and the central difference of `loss()` is
 * compared with the backward's gradient: |fd − g| < 2e-2·|g| + 2e-4 (f32 losses, eps 1e-2).
 */
import { expect } from 'vitest';
import { writeBytes } from '../../src/engine/gpu/buffers';
import type { GpuContext } from '../../src/engine/gpu/context';
import { findSlot, readLoraTensors, type LoraParams } from '../../src/engine/model/lora';
import type { LoraModuleWeights, TargetModule } from '../../src/engine/model/loraTypes';

/** Checks `grads` (read after one backward) against central differences of `loss` at the listed elements. */
export async function expectLoraGradsMatchFd(
  ctx: GpuContext,
  lora: LoraParams,
  grads: ReadonlyMap<string, LoraModuleWeights>,
  at: readonly (readonly [number, TargetModule, 'a' | 'b'])[],
  loss: () => Promise<number>,
  eps = 1e-2,
): Promise<void> {
  for (const [layer, m, which] of at) {
    const slot = findSlot(lora, layer, m)!;
    const g = grads.get(slot.path)!;
    const arr = which === 'a' ? g.a : g.b;
    let idx = 0;
    for (let i = 0; i < arr.length; i++) if (Math.abs(arr[i]!) > Math.abs(arr[idx]!)) idx = i;
    const params = await readLoraTensors(ctx, lora, 'params');
    const base = (which === 'a' ? params.get(slot.path)!.a : params.get(slot.path)!.b)[idx]!;
    const off = ((which === 'a' ? slot.aOffset : slot.bOffset) + idx) * 4;
    const buf = lora.parts[slot.part]!.params;
    writeBytes(ctx, buf, off, new Float32Array([base + eps]));
    const lp = await loss();
    writeBytes(ctx, buf, off, new Float32Array([base - eps]));
    const lm = await loss();
    writeBytes(ctx, buf, off, new Float32Array([base]));
    const fd = (lp - lm) / (2 * eps);
    expect(Math.abs(fd - arr[idx]!), `${slot.path}.lora_${which.toUpperCase()}[${idx}]: backward ${arr[idx]} vs finite difference ${fd}`).toBeLessThan(2e-2 * Math.abs(arr[idx]!) + 2e-4);
  }
}
