/**
 * What blocks σ, Try it, training and Compare, from a real Session on the demo files (store/readiness.ts,
 * app/dropTriage.ts; issue 20 faults 4 and 8): no tokenizer files → Start is blocked with the files to add; a model
 * mismatch says so instead of "Load a Base and an Instruct model first"; a weights folder without config.json is
 * "not a model folder" and its .json files are not training rows.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Session } from '../../src/app/session';
import type { DroppedFile } from '../../src/io/folder';
import { pairBlocker, templateBlocker, trainBlocker } from '../../src/store/readiness';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] }; dataset: { train: string; heldout: string } };
const file = async (path: string): Promise<DroppedFile> => ({ path, file: await openAsBlob(`${DEMO}/${path}`) });
const model = (m: { name: string; files: string[] }, skip: readonly string[] = []): Promise<DroppedFile[]> => Promise.all(m.files.filter((f) => !skip.includes(f)).map((f) => file(`${m.name}/${f}`)));

describe('readiness', () => {
  it('blocks training and Try it without tokenizer files, naming them; σ can still run', async () => {
    const s = new Session();
    const sum = await s.add([...(await model(manifest.base)), ...(await model(manifest.instruct, ['tokenizer.json', 'tokenizer_config.json'])), await file(manifest.dataset.train)]);
    expect(sum.pairReady).toBe(true);
    expect(pairBlocker(sum)).toBeNull();
    expect(trainBlocker(sum)).toBe('Instruct stories260K-instruct has no tokenizer files: add tokenizer.json and tokenizer_config.json to its folder.');
    expect(templateBlocker(sum)).toBe(trainBlocker(sum));
  });

  it('says the models do not match (not "load them first") when both are loaded', async () => {
    const s = new Session();
    const cfg = JSON.parse(readFileSync(`${DEMO}/${manifest.instruct.name}/config.json`, 'utf8')) as Record<string, unknown>;
    const other = { path: `${manifest.instruct.name}/config.json`, file: new Blob([JSON.stringify({ ...cfg, num_hidden_layers: 4 })]) };
    const sum = await s.add([...(await model(manifest.base)), ...(await model(manifest.instruct, ['config.json'])), other]);
    expect(sum.pairReady).toBe(false);
    expect(sum.base && sum.instruct).toBeTruthy();
    expect(pairBlocker(sum)).toMatch(/^Base and Instruct do not match: .*num_hidden_layers|^Base and Instruct do not match: .*layers/);
    expect(trainBlocker(sum)).toBe(pairBlocker(sum));
  });

  it('reports a weights folder without config.json as not a model folder; its settings.json is no training row', async () => {
    const s = new Session();
    const settings = { path: `${manifest.instruct.name}/settings.json`, file: new Blob(['{"theme":"dark"}']) };
    const sum = await s.add([...(await model(manifest.base)), ...(await model(manifest.instruct, ['config.json'])), settings, await file(manifest.dataset.train)]);
    expect(sum.datasets.map((d) => d.name)).toEqual(['story-titles.train.alpaca.json']);
    expect(sum.ignored.find((f) => f.path.endsWith('settings.json'))?.reason).toBe('not a model folder: no config.json in this folder');
    expect(sum.errors).toContain('stories260K-instruct: not a model folder: no config.json in this folder');
    expect(trainBlocker(sum)).toBe('No model pair: stories260K-instruct: not a model folder: no config.json in this folder');
  });
});
