/**
 * Training defaults that follow the data and the models: when the session changes (a drop, a tick, a Swap), the
 * engine's defaults are recomputed (engine/train/defaults.ts defaultTrainSettings; the batch size depends on the
 * number of training examples) and every field the user has not edited takes the new default. A field counts as
 * edited when it differs from the defaults the form was last given, so the order of drops (models first or data
 * first) never changes the result, and "Reset to defaults" gives exactly the values a fresh load would.
 */
import type { TrainSettings } from '../worker/client';

/** What the form holds: the settings, the defaults they were derived from, and the "base|instruct" they are for. */
export interface SettingsState {
  readonly settings: TrainSettings | null;
  readonly defaults: TrainSettings | null;
  readonly settingsFor: string | null;
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Every key of `next` takes next's value unless `current` differs from `previous` there (a user edit). */
function rebase<T extends object>(previous: T, next: T, current: Partial<T>): T {
  const out = { ...next } as Record<string, unknown>;
  for (const k of Object.keys(next) as (keyof T & string)[]) {
    if (!(k in current)) continue;
    if (!same(current[k], previous[k])) out[k] = current[k];
  }
  return out as T;
}

/**
 * The settings after new defaults arrive for the pair `key`.
 * - another pair (or nothing yet): the new defaults;
 * - the same pair with known previous defaults: the new defaults with the user's edits kept (field by field, LoRA
 *   fields one by one);
 * - the same pair without previous defaults (saved before they were stored): the saved values, fields added since
 *   taking the defaults.
 */
export function nextSettings(prev: SettingsState, defaults: TrainSettings, key: string): SettingsState {
  const s = prev.settings;
  if (s === null || prev.settingsFor !== key) return { settings: defaults, defaults, settingsFor: key };
  if (prev.defaults === null) return { settings: { ...defaults, ...s, lora: { ...defaults.lora, ...s.lora } }, defaults, settingsFor: key };
  const top = rebase(prev.defaults, defaults, s);
  return { settings: { ...top, lora: rebase(prev.defaults.lora, defaults.lora, s.lora) }, defaults, settingsFor: key };
}
