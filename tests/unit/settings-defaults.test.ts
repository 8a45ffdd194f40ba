/**
 * Defaults that follow the data whatever the order of drops (store/settingsDefaults.ts), with the engine's own
 * defaultTrainSettings on the demo config: the batch size is min(8, examples) on a toy model, so dropping the models
 * first (0 examples → batch 1) and the dataset after must end with batch 8, as dropping the dataset first does.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { normalizeConfig } from '../../src/io/config';
import { nextSettings, type SettingsState } from '../../src/store/settingsDefaults';

const cfg = normalizeConfig(JSON.parse(readFileSync('public/demo/stories260K-base/config.json', 'utf8')), 'config.json');
const KEY = 'stories260K-base|stories260K-instruct';
const EMPTY: SettingsState = { settings: null, defaults: null, settingsFor: null };
/** What the worker answers for n training examples (app/training.ts defaultSettingsFor: at least 1). */
const defaultsFor = (n: number) => defaultTrainSettings(cfg, Math.max(1, n));

describe('training defaults follow the data, whatever the order of drops', () => {
  it('models then dataset ends with the same settings as dataset then models', () => {
    const modelsFirst = nextSettings(nextSettings(EMPTY, defaultsFor(0), KEY), defaultsFor(300), KEY);
    const dataFirst = nextSettings(EMPTY, defaultsFor(300), KEY);
    expect(dataFirst.settings?.batchSize).toBe(8);
    expect(modelsFirst.settings).toEqual(dataFirst.settings);
    // "Reset to defaults" sets the latest defaults: the same values
    expect(modelsFirst.defaults).toEqual(modelsFirst.settings);
  });

  it('keeps the fields the user edited, LoRA fields one by one, and takes new defaults for the rest', () => {
    const first = nextSettings(EMPTY, defaultsFor(0), KEY);
    const d = first.settings!;
    const edited: SettingsState = { ...first, settings: { ...d, learningRate: 5e-4, lora: { ...d.lora, r: 4 } } };
    const after = nextSettings(edited, defaultsFor(300), KEY);
    expect(after.settings).toEqual({ ...defaultsFor(300), learningRate: 5e-4, lora: { ...defaultsFor(300).lora, r: 4 } });
    // a value the user typed that equals the old default is indistinguishable from untouched: it follows the data
    expect(after.settings?.batchSize).toBe(8);
  });

  it('another pair starts from its defaults; settings saved without defaults keep their values', () => {
    const first = nextSettings(EMPTY, defaultsFor(300), KEY);
    const edited = { ...first, settings: { ...first.settings!, epochs: 1 } };
    expect(nextSettings(edited, defaultsFor(300), 'other|pair').settings).toEqual(defaultsFor(300));
    const saved: SettingsState = { settings: { ...defaultsFor(3), epochs: 1 }, defaults: null, settingsFor: KEY };
    expect(nextSettings(saved, defaultsFor(300), KEY).settings).toEqual({ ...defaultsFor(3), epochs: 1 });
  });
});
