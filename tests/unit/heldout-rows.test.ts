/**
 * Held-out rows (app/heldoutRows.ts): a set number takes the first N rows; 0 chooses as many rows as keep every
 * held-out pass within a quarter of the training FLOPs, never fewer than AUTO_MIN_ROWS (issue 20 (c): 60 held-out
 * rows of a SmolLM2-135M-shaped pair took ~58 minutes before a 2-step run).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readModelConfig } from '../../src/io/config';
import type { ModelConfig } from '../../src/io/config/types';
import { modelFilesFromDir } from '../../src/node/files';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { requiredStepFlops } from '../../src/engine/plan/flops';
import { forwardFlops } from '../../src/app/runEstimate';
import { AUTO_EVAL_SHARE, AUTO_MIN_ROWS, chooseHeldoutRows } from '../../src/app/heldoutRows';
import type { TokenizedExample } from '../../src/io/dataset/types';
import type { TrainSettings } from '../../src/engine/train/types';

let cfg: ModelConfig;
let settings: TrainSettings;
const row = (T: number): TokenizedExample => ({ inputIds: new Int32Array(T), labels: new Int32Array(T).fill(1), truncated: false }) as unknown as TokenizedExample;
const rows = Array.from({ length: 60 }, (_, i) => row(20 + (i % 7) * 5));

beforeAll(async () => {
  const files = await modelFilesFromDir('../shared/models/stories260K-base');
  cfg = await readModelConfig(files.files.get('config.json')!, 'stories260K-base/config.json');
  settings = { ...defaultTrainSettings(cfg, 100), maxLength: 64 };
});

/** FLOPs of `passes` held-out passes over the first n rows, counted as heldoutRows.ts documents. */
function passFlops(n: number, passes: number): number {
  let f = 0;
  for (const e of rows.slice(0, n)) {
    const T = Math.min(e.inputIds.length, settings.maxLength);
    f += passes * (forwardFlops(requiredStepFlops(cfg, settings.lora, 1, T)) + forwardFlops(requiredStepFlops(cfg, { ...settings.lora, targetModules: [] }, 1, T))) / 2;
  }
  return f;
}

describe('held-out rows', () => {
  it('a set number takes the first N rows (all when the split is shorter)', () => {
    expect(chooseHeldoutRows(cfg, { ...settings, heldoutRows: 12 }, rows, 1, 4)).toEqual({ used: 12, available: 60, auto: false });
    expect(chooseHeldoutRows(cfg, { ...settings, heldoutRows: 500 }, rows, 1, 4)).toEqual({ used: 60, available: 60, auto: false });
  });

  it('0 keeps the evaluations within a quarter of the training FLOPs, with at least AUTO_MIN_ROWS rows', () => {
    // A short run: the minimum.
    expect(chooseHeldoutRows(cfg, settings, rows, passFlops(60, 4) / 100, 4)).toEqual({ used: AUTO_MIN_ROWS, available: 60, auto: true });
    // A long run: every row.
    expect(chooseHeldoutRows(cfg, settings, rows, passFlops(60, 4) / AUTO_EVAL_SHARE, 4).used).toBe(60);
    // In between: the largest n whose passes fit the share.
    const train = passFlops(30, 6) / AUTO_EVAL_SHARE + 1;
    const c = chooseHeldoutRows(cfg, settings, rows, train, 6);
    expect(c.used).toBe(30);
    expect(passFlops(c.used, 6)).toBeLessThanOrEqual(AUTO_EVAL_SHARE * train);
    expect(passFlops(c.used + 1, 6)).toBeGreaterThan(AUTO_EVAL_SHARE * train);
    // Fewer rows than the minimum: all of them.
    expect(chooseHeldoutRows(cfg, settings, rows.slice(0, 3), 0, 4)).toEqual({ used: 3, available: 3, auto: true });
  });
});
