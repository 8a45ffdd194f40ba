/**
 * The speed of a first run's estimate (issue 20, fault 6): when no run was measured on this GPU yet, the store asks
 * the worker to time a three-step warm-up of the run with the current settings (app/speedWarmup.ts) and estimates with
 * that speed instead of an assumed one. One warm-up at a time; a sample is kept for this page per device, pair and
 * the settings that shape a step (Batch size, accumulation, Max length, rank, targets, recompute); another GPU job
 * stops a warm-up under way (the worker does), which is then simply not used. Full-parameter runs keep the assumed
 * speed (the warm-up times the LoRA step).
 */
import { engineClient, type SpeedSample, type TrainSettings } from '../worker/client';
import type { Speeds } from './runProgress';

const samples = new Map<string, SpeedSample>();
/** Keys tried in this page (a failed or stopped warm-up is not repeated). */
const tried = new Set<string>();
let pending: string | null = null;

/** The key of a warm-up sample: device name, pair identity and the settings that shape a training step. */
export function warmupKey(device: string | null, pairId: string | null, s: TrainSettings): string {
  return JSON.stringify([device, pairId, s.batchSize, s.gradAccum, s.maxLength, s.lora.r, s.lora.targetModules, s.recompute]);
}

/** The speeds with a warm-up's measured FLOP/s (labelled as measured by the warm-up). */
export function withWarmup(base: Speeds, sample: SpeedSample): Speeds {
  return { ...base, flopsPerSec: sample.flopsPerSec, measured: true, source: 'warm-up', warmup: sample, ...(sample.decode ? { decodeSecPerToken: sample.decode.secPerToken } : {}) };
}

/** The sample kept for `key`, if any. */
export const warmupSample = (key: string): SpeedSample | undefined => samples.get(key);

/** True while a warm-up runs in the worker. */
export const warmupPending = (): boolean => pending !== null;

/**
 * Starts the warm-up for `key` unless one is under way; `onDone` is called when it ends (with or without a sample:
 * a failed or stopped warm-up leaves the assumed speed, and is not retried for the same key in this page).
 */
export function startWarmup(key: string, settings: TrainSettings, onDone: () => void): void {
  if (pending !== null || samples.has(key) || tried.has(key)) return;
  pending = key;
  tried.add(key);
  engineClient
    .measureSpeed(settings)
    .then((s) => {
      if (Number.isFinite(s.flopsPerSec) && s.flopsPerSec > 0) samples.set(key, s);
    })
    .catch(() => {})
    .finally(() => {
      pending = null;
      onDone();
    });
}
