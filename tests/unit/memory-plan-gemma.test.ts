/**
 * The memory plan of Gemma 3 270M and 1B (sizes of ../shared/configs/google__gemma-3-270m/SOURCE.md and the issue),
 * under the WebGPU spec's default limits (128 MiB bindings): the 262144 × C tied embedding is stored in row chunks,
 * the head runs by vocabulary chunks, and the paper's recipe (r 128, T 1024, B 1, recompute) fits 8 GiB. The frozen
 * weights are checked against a parameter count written out here from the shapes (independent of the tensor table).
 */
import { describe, expect, it } from 'vitest';
import { normalizeConfig } from '../../src/io/config';
import { describePlan } from '../../src/engine/plan/advice';
import { formatBytes, planMemory, type PlanLimits } from '../../src/engine/plan/memory';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { GEMMA3_1B, GEMMA3_270M } from '../support/gemmaConfigs';

const SPEC_DEFAULT: PlanLimits = { maxBufferSize: 256 * 2 ** 20, maxStorageBufferBindingSize: 128 * 2 ** 20, minStorageBufferOffsetAlignment: 256 };
const GiB = 2 ** 30;

/** Parameters of a Gemma 3 text model from its sizes: tied embedding, 7 linears, 4 norms of C and 2 of D per layer, final norm. */
function gemmaParams(C: number, I: number, L: number, H: number, KV: number, D: number, V: number): { matrices: number; vectors: number } {
  const perLayer = C * H * D * 2 + C * KV * D * 2 + 3 * C * I;
  return { matrices: V * C + L * perLayer, vectors: L * (4 * C + 2 * D) + C };
}

describe.each([
  ['Gemma 3 270M', GEMMA3_270M, 640, 2048, 18],
  ['Gemma 3 1B', GEMMA3_1B, 1152, 6912, 26],
] as const)('%s memory plan', (name, raw, C, I, L) => {
  const cfg = normalizeConfig(raw, `${name}/config.json`);
  const s = { ...defaultTrainSettings(cfg, 1000), batchSize: 1, maxLength: 1024, recompute: true };
  const plan = planMemory(cfg, s, 2, SPEC_DEFAULT);
  it(`r 128, T 1024, B 1, recompute: ${formatBytes(plan.totalBytes)} fits 8 GiB with the embedding in row chunks`, () => {
    console.log(`${name} r=128 T=1024 B=1 recompute\n${describePlan(plan)}`);
    expect(plan.problems).toEqual([]);
    expect(plan.totalBytes).toBeLessThan(8 * GiB);
    const p = gemmaParams(C, I, L, 4, 1, 256, 262144);
    expect(plan.weightBytes).toBe(2 * p.matrices + 4 * p.vectors);
    expect(plan.embedChunks).toBeGreaterThan(1);
  });
});
