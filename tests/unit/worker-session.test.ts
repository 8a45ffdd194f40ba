/**
 * The worker's Session (src/app/session.ts) on the bundled demo files: recognition of the pair and datasets,
 * accumulation over several drops, Swap, and errors that name the file and row.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DroppedFile } from '../../src/io/folder';
import { Session } from '../../src/app/session';

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

  it('skips a bad dataset row (file, row, reason), keeps the rest, and clears', async () => {
    const s = new Session();
    const bad = new Blob([JSON.stringify([{ instruction: 'a', output: 'b' }, { instruction: 'x' }])]);
    const sum = await s.add([{ path: 'data/my-train.json', file: bad }]);
    expect(sum.datasets[0]).toMatchObject({ examples: 1, skippedCount: 1, schema: 'alpaca', enabled: true, duplicateOf: null });
    expect(sum.datasets[0]?.skipped).toEqual([{ file: 'data/my-train.json', row: 2, reason: "field 'output' is missing" }]);
    expect(sum.errors).toEqual([]);
    expect(sum.trainExamples).toBe(1);
    expect(s.skippedRows('train')).toHaveLength(1);
    expect(() => s.requirePair()).toThrow();
    expect(s.clear()).toMatchObject({ fileCount: 0, datasets: [], pairReady: false });
  });

  it('a file that cannot be read is an error naming it', async () => {
    const sum = await new Session().add([{ path: 'd/train.json', file: new Blob(['{nope']) }]);
    expect(sum.datasets[0]?.examples).toBeNull();
    expect(sum.errors[0]).toMatch(/^d\/train\.json: not valid JSON/);
  });

  it('tick / untick / remove a file; a duplicate of a loaded split is flagged and starts unticked', async () => {
    const s = new Session();
    const alpaca = readFileSync('/work/shared/datasets/story-titles.train.alpaca.json', 'utf8');
    const csv = readFileSync('/work/shared/datasets/story-titles.train.csv', 'utf8');
    let sum = await s.add([{ path: 'a/story-titles.train.alpaca.json', file: new Blob([alpaca]) }, { path: 'a/story-titles.train.csv', file: new Blob([csv]) }]);
    expect(sum.datasets.map((d) => [d.schema, d.enabled, d.duplicateOf])).toEqual([['alpaca', true, null], ['csv', false, 'a/story-titles.train.alpaca.json']]);
    expect(sum.warnings.join('\n')).toMatch(/a\/story-titles\.train\.csv holds the same examples as a\/story-titles\.train\.alpaca\.json/);
    expect(sum.trainExamples).toBe(300);
    sum = await s.setDatasetEnabled('a/story-titles.train.csv', true);
    expect(sum.trainExamples).toBe(600);
    sum = await s.setDatasetEnabled('a/story-titles.train.alpaca.json', false);
    expect(sum.trainExamples).toBe(300);
    sum = await s.removeDataset('a/story-titles.train.alpaca.json');
    expect(sum.datasets.map((d) => [d.path, d.enabled, d.duplicateOf])).toEqual([['a/story-titles.train.csv', true, null]]);
  });

  it('a dropped LLaMA-Factory data folder: dataset_info.json maps file, formatting, columns and tags', async () => {
    const info = {
      qa: { file_name: 'qa.json', columns: { prompt: 'q', response: 'a' } },
      chat: { file_name: 'chat.jsonl', formatting: 'sharegpt', columns: { messages: 'turns' }, tags: { role_tag: 'r', content_tag: 'c', user_tag: 'u', assistant_tag: 'm' } },
      hub: { hf_hub_url: 'someone/data' },
    };
    const qa = [{ q: 'Q1', input: 'ignored: no query column', a: 'A1' }];
    const chat = [{ turns: [{ r: 'u', c: 'hi' }, { r: 'm', c: 'hello' }] }, { turns: [{ r: 'system', c: 'S' }, { r: 'u', c: 'hi' }, { r: 'm', c: 'x' }] }];
    const sum = await new Session().add([
      { path: 'data/dataset_info.json', file: new Blob([JSON.stringify(info)]) },
      { path: 'data/qa.json', file: new Blob([JSON.stringify(qa)]) },
      { path: 'data/chat.jsonl', file: new Blob([chat.map((c) => JSON.stringify(c)).join('\n')]) },
    ]);
    expect(sum.datasets.map((d) => [d.path, d.datasetInfoName, d.schema, d.examples, d.skippedCount])).toEqual([['data/qa.json', 'qa', 'alpaca', 1, 0], ['data/chat.jsonl', 'chat', 'sharegpt', 1, 1]]);
    // tags replaced as a whole: system_tag is None, so a leading "system" turn is an invalid role (LLaMA-Factory).
    expect(sum.datasets[1]?.skipped[0]).toMatchObject({ row: 2, reason: expect.stringMatching(/^turns\[0\]: "r" is "system"; expected u/) as unknown as string });
    expect(sum.warnings.join('\n')).toMatch(/"hub" loads from a hub or a script/);
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
