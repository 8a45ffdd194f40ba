/**
 * A durable comparison (app/durableCompare.ts) on the stories260K demo pair with small settings: interrupted after a
 * checkpoint of the second training (conventional LoRA on Instruct, step 2 of 4), resumed — the first run's adapter
 * restored from its stored PEFT files, the second continued from its checkpoint — interrupted again once Instruct is
 * measured, and resumed again (the measured models reused, the others measured). Every number of the result, every
 * answer and both adapters' tensors equal an uninterrupted comparison's (compareOnSession without hooks, the
 * independent path). A comparison whose GPU device is destroyed in the second training recovers once by itself,
 * on a new device, from that run's last checkpoint, and equals it too.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Session } from '../../src/app/session';
import { defaultSettingsFor } from '../../src/app/training';
import { compareOnSession } from '../../src/app/compareSession';
import { compareDurably, resumableCompareOf, resumeCompareDurably } from '../../src/app/durableCompare';
import { memoryCompareStore, type CompareStateStore } from '../../src/app/compareStateStore';
import type { CompareOutcome } from '../../src/app/compare/runCompare';
import type { CompareEvent, CompareOptions } from '../../src/app/compare/types';
import type { TrainSettings } from '../../src/engine/train/types';
import type { LoraAdapter } from '../../src/engine/model/loraTypes';
import { testGpu } from './device';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] }; dataset: { train: string; heldout: string } };
const paths = [...manifest.base.files.map((f) => `${manifest.base.name}/${f}`), ...manifest.instruct.files.map((f) => `${manifest.instruct.name}/${f}`), manifest.dataset.train, manifest.dataset.heldout];

let session: Session;
let settings: TrainSettings;
let full: CompareOutcome;
const options: CompareOptions = { checkRegex: '^Title: ', evalPrompts: 2, maxNewTokens: 12 };

beforeAll(async () => {
  session = new Session();
  await session.add(await Promise.all(paths.map(async (path) => ({ path, file: await openAsBlob(`${DEMO}/${path}`) }))));
  settings = { ...defaultSettingsFor(session), maxSteps: 4, batchSize: 4, gradAccum: 1, maxLength: 64, warmupRatio: 0.25, learningRate: 3e-3, lora: { ...defaultSettingsFor(session).lora, dropout: 0.1 } };
  full = await compareOnSession(session, await testGpu(), settings, options, () => {}, new AbortController().signal);
}, 120_000);

function sameOutcome(done: CompareOutcome): void {
  expect(done.result).toEqual(full.result);
  expect(done.answers).toEqual(full.answers);
  expect(done.prompts).toEqual(full.prompts);
  if (!done.adapters || !full.adapters) throw new Error('a LoRA comparison returns both adapters');
  sameAdapter(done.adapters.shadow, full.adapters.shadow, 'shadow');
  sameAdapter(done.adapters.conventional, full.adapters.conventional, 'conventional');
}

const gpu = () => testGpu();

function sameAdapter(a: LoraAdapter, b: LoraAdapter, what: string): void {
  expect(a.settings, what).toEqual(b.settings);
  // The restored adapter lists its modules in file order (sorted names): compare as sets.
  expect([...a.modules.keys()].sort(), what).toEqual([...b.modules.keys()].sort());
  for (const [k, w] of a.modules) {
    const v = b.modules.get(k);
    expect(Array.from(w.a), `${what} ${k} lora_A`).toEqual(Array.from(v?.a ?? []));
    expect(Array.from(w.b), `${what} ${k} lora_B`).toEqual(Array.from(v?.b ?? []));
  }
}

/** A store that aborts `ctl` right after the write `when` accepts has been stored. */
function stopping(store: CompareStateStore, ctl: AbortController, when: (kind: 'state' | 'checkpoint', s: Parameters<CompareStateStore['save']>[0]) => boolean): CompareStateStore {
  return {
    ...store,
    save: async (s) => {
      await store.save(s);
      if (when('state', s)) ctl.abort(new DOMException('interrupted by the test', 'AbortError'));
    },
    saveCheckpoint: async (c, s) => {
      await store.saveCheckpoint(c, s);
      if (when('checkpoint', s)) ctl.abort(new DOMException('interrupted by the test', 'AbortError'));
    },
  };
}

describe('durable Compare', () => {
  it('interrupted in the second training and in the evaluations, resumed twice: equals an uninterrupted comparison', async () => {
    const mem = memoryCompareStore();
    // 1. Interrupted right after the checkpoint of conventional step 2.
    const c1 = new AbortController();
    const s1 = stopping(mem, c1, (k, s) => k === 'checkpoint' && s.checkpoint?.run === 'conventional' && s.checkpoint.step === 2);
    await expect(compareDurably(session, gpu, settings, options, () => {}, c1.signal, { store: s1, checkpointEvery: 2, id: 'compare-test', startedAt: '2026-01-01T00:00:00.000Z' })).rejects.toThrow(/interrupted by the test|stopped/);
    const after1 = await mem.load();
    expect(after1 && resumableCompareOf(after1)).toMatchObject({ id: 'compare-test', trained: [{ run: 'shadow', steps: 4 }], measured: [], checkpoint: { run: 'conventional' } });
    expect(after1?.checkpoint?.step).toBeGreaterThanOrEqual(2);
    expect(after1?.checkpoint?.step).toBeLessThan(4);

    // 2. Resumed: Shadow-FT skipped, conventional continued from its checkpoint; interrupted once Instruct is measured.
    const c2 = new AbortController();
    const seen2: CompareEvent[] = [];
    const s2 = stopping(mem, c2, (k, s) => k === 'state' && s.measured.instruct !== undefined);
    await expect(resumeCompareDurably(session, gpu, (e) => seen2.push(e), c2.signal, { store: s2, checkpointEvery: 2 })).rejects.toThrow(/interrupted by the test/);
    const resumed = seen2.find((e) => e.status === 'compare-resumed');
    expect(resumed).toMatchObject({ trained: [{ run: 'shadow', steps: 4 }], measured: [], checkpoint: { run: 'conventional' } });
    expect(seen2.some((e) => e.status === 'compare-train' && e.run === 'shadow')).toBe(false);
    const firstConv = seen2.find((e) => e.status === 'compare-train' && e.run === 'conventional' && e.event.status === 'step');
    expect(firstConv?.status === 'compare-train' && firstConv.event.status === 'step' ? firstConv.event.step : 0).toBe((after1?.checkpoint?.step ?? 0) + 1);
    const after2 = await mem.load();
    expect(Object.keys(after2?.measured ?? {}).sort()).toEqual(['base', 'base_lora', 'instruct']);

    // 3. Resumed again: only the two tuned Instructs are measured.
    const seen3: CompareEvent[] = [];
    const done = await resumeCompareDurably(session, gpu, (e) => seen3.push(e), new AbortController().signal, { store: mem });
    expect(seen3.some((e) => e.status === 'compare-train')).toBe(false);
    expect([...new Set(seen3.flatMap((e) => (e.status === 'compare-loss' ? [e.model] : [])))]).toEqual(['instruct_conventional', 'instruct_shadow']);
    expect(await mem.load()).toBeNull(); // a completed comparison leaves nothing to resume

    sameOutcome(done);
  });

  it('recovers once from a lost device in the second training and equals an uninterrupted comparison', async () => {
    const ctx0 = await testGpu();
    const seen: CompareEvent[] = [];
    let destroyed = false;
    const done = await compareDurably(session, gpu, settings, options, (e) => {
      seen.push(e);
      if (!destroyed && e.status === 'compare-train' && e.run === 'conventional' && e.event.status === 'step' && e.event.step === 3) {
        destroyed = true;
        ctx0.device.destroy();
      }
    }, new AbortController().signal, { store: memoryCompareStore(), checkpointEvery: 2 });
    expect(destroyed).toBe(true);
    expect(seen.some((e) => e.status === 'compare-message' && /recovering once on a new GPU device from the checkpoint after step 2/.test(e.message))).toBe(true);
    expect(seen.find((e) => e.status === 'compare-resumed')).toMatchObject({ trained: [{ run: 'shadow', steps: 4 }], checkpoint: { run: 'conventional', step: 2 } });
    expect(await testGpu()).not.toBe(ctx0);
    sameOutcome(done);
  });
});
