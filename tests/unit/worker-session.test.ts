/**
 * The worker's Session (src/worker/session.ts) on the bundled demo files: recognition of the pair and datasets,
 * accumulation over several drops, Swap, and errors that name the file and row.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DroppedFile } from '../../src/io/folder';
import { Session } from '../../src/worker/session';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as {
  base: { name: string; files: string[] };
  instruct: { name: string; files: string[] };
  dataset: { train: string; heldout: string };
};

async function drop(paths: readonly string[]): Promise<DroppedFile[]> {
  return Promise.all(paths.map(async (path) => ({ path, file: await openAsBlob(`${DEMO}/${path}`) })));
}
const modelPaths = (m: { name: string; files: string[] }): string[] => m.files.map((f) => `${m.name}/${f}`);

describe('worker Session', () => {
  it('recognises the demo pair and datasets, accumulating over drops', async () => {
    const s = new Session();
    let sum = await s.add(await drop(modelPaths(manifest.base)));
    expect(sum.pairReady).toBe(false);
    expect(sum.errors.join('\n')).toContain('Only one model folder found (stories260K-base)');
    sum = await s.add(await drop(modelPaths(manifest.instruct)));
    expect(sum.pairReady).toBe(true);
    expect(sum.errors).toEqual([]);
    expect(sum.base?.name).toBe('stories260K-base');
    expect(sum.instruct?.name).toBe('stories260K-instruct');
    expect(sum.decidedBy).toBe('folder names');
    expect(sum.base).toMatchObject({ modelType: 'llama', numLayers: 5, hiddenSize: 64, vocabSize: 512, numTensors: 47, dtypes: ['BF16'], hasTokenizer: true });
    sum = await s.add(await drop([manifest.dataset.train, manifest.dataset.heldout]));
    expect(sum.trainExamples).toBe(300);
    expect(sum.heldoutExamples).toBe(60);
    expect(sum.datasets.map((d) => [d.name, d.split, d.examples])).toEqual([
      ['story-titles.train.alpaca.json', 'train', 300],
      ['story-titles.heldout.alpaca.json', 'heldout', 60],
    ]);
    expect(s.conversations('train')).toHaveLength(300);
    expect(s.requirePair().base.config.numKvHeads).toBe(4);
  });

  it('swaps roles and keeps the swap when a dataset is added', async () => {
    const s = new Session();
    await s.add(await drop([...modelPaths(manifest.base), ...modelPaths(manifest.instruct)]));
    let sum = await s.swap();
    expect([sum.base?.name, sum.instruct?.name, sum.decidedBy]).toEqual(['stories260K-instruct', 'stories260K-base', 'swapped']);
    sum = await s.add(await drop([manifest.dataset.train]));
    expect(sum.base?.name).toBe('stories260K-instruct');
    sum = await s.swap();
    expect(sum.base?.name).toBe('stories260K-base');
  });

  it('reports a bad dataset row by file and row, and clears', async () => {
    const s = new Session();
    const bad = new Blob([JSON.stringify([{ instruction: 'a', output: 'b' }, { instruction: 'x' }])]);
    const sum = await s.add([{ path: 'data/my-train.json', file: bad }]);
    expect(sum.datasets[0]?.examples).toBeNull();
    expect(sum.errors).toHaveLength(1);
    expect(sum.errors[0]).toMatch(/my-train\.json.*item 2/);
    expect(() => s.requirePair()).toThrow();
    expect(s.clear()).toMatchObject({ fileCount: 0, datasets: [], pairReady: false });
  });

  it('names the tensor when the two models do not match', async () => {
    const s = new Session();
    const files = await drop([...modelPaths(manifest.base), ...modelPaths(manifest.instruct)]);
    const cfg = JSON.parse(readFileSync(`${DEMO}/stories260K-instruct/config.json`, 'utf8')) as Record<string, unknown>;
    const changed = files.map((f) => (f.path === 'stories260K-instruct/config.json' ? { path: f.path, file: new Blob([JSON.stringify({ ...cfg, num_hidden_layers: 4 })]) } : f));
    const sum = await s.add(changed);
    expect(sum.pairReady).toBe(false);
    expect(sum.errors.join('\n')).toMatch(/num_hidden_layers differs.*5.*4/);
  });
});
