/**
 * src/engine/train/prefLoss.ts: the DPO step losses of every ../shared/fixtures/<model>/dpo_step.json recomputed from
 * the logged policy and reference log-probs (beta 0.1, sigmoid), the label counts read from the fixture's own
 * chosen_/rejected_labels, every loss type and pref_ftx against formulas written out here from LLaMA-Factory's
 * trainer.py / TRL dpo_loss (naive, no stabilisation), and every gradient by central finite differences.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PREF_DEFAULTS, preferenceLoss, type PrefLogps, type PrefLossOptions, type PrefLossType } from '../../src/engine/train/prefLoss';
import { labelCountsOf } from '../../src/io/dataset/prefBatches';
import { readSafetensorsHeader, readTensorBytes } from '../../src/io/safetensors';
import { gradcheck } from './gradcheck';

const FIXTURES = '/work/shared/fixtures';
const models = readdirSync(FIXTURES).filter((m) => existsSync(join(FIXTURES, m, 'dpo_step.json')));

interface DpoFixture {
  beta: number;
  pairs: number;
  reference_chosen_logps: number[];
  reference_rejected_logps: number[];
  policy_chosen_logps: number[][];
  policy_rejected_logps: number[][];
  z: number[][];
  loss_before_step: number[];
  prompt_tokens: number[];
  chosen_lengths: number[];
  rejected_lengths: number[];
}

async function labelCounts(model: string, key: 'chosen_labels' | 'rejected_labels'): Promise<Int32Array> {
  const path = join(FIXTURES, model, 'dpo_step.safetensors');
  const blob = await openAsBlob(path);
  const header = await readSafetensorsHeader(blob, path);
  const info = header.tensors.get(key);
  if (!info || info.dtype !== 'I32' || info.shape.length !== 2) throw new Error(`${path}: ${key} is not I32 [P, T]`);
  const bytes = await readTensorBytes(blob, info);
  const labels = new Int32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  return labelCountsOf(labels, info.shape[0] as number, info.shape[1] as number);
}

describe('DPO fixtures (sigmoid, pref_beta 0.1)', () => {
  it('there are dpo_step fixtures to check', () => expect(models.length).toBeGreaterThan(0));
  for (const model of models) {
    it(`${model}: per-step loss and z from the logged log-probs; finite differences`, async () => {
      const f = JSON.parse(readFileSync(join(FIXTURES, model, 'dpo_step.json'), 'utf8')) as DpoFixture;
      const chosenLengths = await labelCounts(model, 'chosen_labels');
      const rejectedLengths = await labelCounts(model, 'rejected_labels');
      // labels cover the answer tokens: sequence length − prompt tokens, none at position 0
      expect([...chosenLengths]).toEqual(f.chosen_lengths.map((n, i) => n - (f.prompt_tokens[i] as number)));
      expect([...rejectedLengths]).toEqual(f.rejected_lengths.map((n, i) => n - (f.prompt_tokens[i] as number)));
      f.loss_before_step.forEach((want, step) => {
        const logps: PrefLogps = {
          policyChosen: f.policy_chosen_logps[step] as number[], policyRejected: f.policy_rejected_logps[step] as number[],
          referenceChosen: f.reference_chosen_logps, referenceRejected: f.reference_rejected_logps, chosenLengths, rejectedLengths,
        };
        const r = preferenceLoss(logps, { ...PREF_DEFAULTS, beta: f.beta });
        expect(Math.abs(r.loss - want)).toBeLessThan(1e-12);
        // z = beta·h = the reward margin of each pair
        (f.z[step] as number[]).forEach((z, i) => expect(Math.abs((r.chosenRewards[i] as number) - (r.rejectedRewards[i] as number) - z)).toBeLessThan(1e-12));
        const x = Float64Array.from([...logps.policyChosen as number[], ...logps.policyRejected as number[]]);
        const loss = (): number => preferenceLoss({ ...logps, policyChosen: x.subarray(0, f.pairs), policyRejected: x.subarray(f.pairs) }, { ...PREF_DEFAULTS, beta: f.beta }).loss;
        gradcheck(`${model} step ${step + 1}`, x, loss, [...r.dPolicyChosen, ...r.dPolicyRejected]);
      });
    });
  }
});

// Naive per-pair losses written from LLaMA-Factory trainer.py (simpo_loss, odds_ratio_loss, get_batch_loss_metrics)
// and TRL dpo_loss (sigmoid with label smoothing, hinge, ipo).
const logsig = (x: number): number => Math.log(1 / (1 + Math.exp(-x)));
function naive(type: PrefLossType, o: PrefLossOptions, pc: number, pr: number, rc: number, rr: number, lc: number, lr: number): number {
  const norm = type === 'ipo' || type === 'orpo' || type === 'simpo';
  const [c, r, refc, refr] = norm ? [pc / lc, pr / lr, rc / lc, rr / lr] : [pc, pr, rc, rr];
  const logits = c - r - (refc - refr);
  let l: number;
  if (type === 'sigmoid') l = -logsig(o.beta * logits) * (1 - o.labelSmoothing) - logsig(-o.beta * logits) * o.labelSmoothing;
  else if (type === 'hinge') l = Math.max(0, 1 - o.beta * logits);
  else if (type === 'ipo') l = (logits - 1 / (2 * o.beta)) ** 2;
  else if (type === 'simpo') l = -logsig(o.beta * (c - r - o.simpoGamma / o.beta));
  else l = -c + o.beta * -logsig(c - r - (Math.log1p(-Math.exp(c)) - Math.log1p(-Math.exp(r))));
  const chosenAvg = norm ? c : c / lc;
  return o.ftx > 1e-6 ? l + o.ftx * -chosenAvg : l;
}

describe('every pref_loss, with pref_ftx', () => {
  const logps = {
    policyChosen: Float64Array.from([-12.5, -30.25, -7.75]), policyRejected: Float64Array.from([-14, -26.5, -9.5]),
    referenceChosen: [-13, -29, -8.5], referenceRejected: [-13.5, -27.75, -9], chosenLengths: [5, 12, 3], rejectedLengths: [6, 10, 4],
  };
  const types: PrefLossType[] = ['sigmoid', 'hinge', 'ipo', 'orpo', 'simpo'];
  for (const type of types) {
    for (const ftx of [0, 0.7]) {
      it(`${type}, pref_ftx ${ftx}: loss as LLaMA-Factory/TRL, gradients by finite differences`, () => {
        const o: PrefLossOptions = { ...PREF_DEFAULTS, lossType: type, ftx, beta: type === 'hinge' ? 0.5 : 0.1, labelSmoothing: type === 'sigmoid' ? 0.1 : 0 };
        const r = preferenceLoss(logps, o);
        const want = [0, 1, 2].map((i) => naive(type, o, logps.policyChosen[i] as number, logps.policyRejected[i] as number, logps.referenceChosen[i] as number, logps.referenceRejected[i] as number, logps.chosenLengths[i] as number, logps.rejectedLengths[i] as number));
        want.forEach((w, i) => expect(Math.abs((r.losses[i] as number) - w)).toBeLessThan(1e-12 * Math.max(1, Math.abs(w))));
        expect(r.loss).toBeCloseTo(want.reduce((a, b) => a + b) / 3, 12);
        const x = Float64Array.from([...logps.policyChosen, ...logps.policyRejected]);
        gradcheck(`${type} ftx ${ftx}`, x, () => preferenceLoss({ ...logps, policyChosen: x.subarray(0, 3), policyRejected: x.subarray(3) }, o).loss, [...r.dPolicyChosen, ...r.dPolicyRejected]);
      });
    }
  }

  it('rewards, accuracy and margin: β·(π − ref) for DPO, β·mean logp for SimPO', () => {
    const dpo = preferenceLoss(logps);
    expect([...dpo.chosenRewards].map((v) => +v.toFixed(10))).toEqual([0.05, -0.125, 0.075]);
    expect([...dpo.rejectedRewards].map((v) => +v.toFixed(10))).toEqual([-0.05, 0.125, -0.05]);
    expect(dpo.metrics.accuracy).toBeCloseTo(2 / 3, 15);
    expect(dpo.metrics.margin).toBeCloseTo((0.1 - 0.25 + 0.125) / 3, 12);
    expect(dpo.metrics.sftLoss).toBeCloseTo((12.5 / 5 + 30.25 / 12 + 7.75 / 3) / 3, 12);
    const simpo = preferenceLoss({ ...logps, referenceChosen: null, referenceRejected: null }, { ...PREF_DEFAULTS, lossType: 'simpo' });
    expect(simpo.chosenRewards[0]).toBeCloseTo(0.1 * (-12.5 / 5), 14);
    expect(simpo.metrics.logpsChosen).toBeCloseTo((-12.5 / 5 - 30.25 / 12 - 7.75 / 3) / 3, 12);
  });

  it('refuses bad input with the field and what was expected', () => {
    expect(() => preferenceLoss({ ...logps, referenceChosen: null })).toThrow('preference loss: referenceChosen is required');
    expect(() => preferenceLoss({ ...logps, chosenLengths: [5, 0, 3] })).toThrow('chosenLengths[1] is 0; expected an integer ≥ 1');
    expect(() => preferenceLoss({ ...logps, policyRejected: [1, 2] })).toThrow('policyRejected has 2 values, expected one per pair (P = 3)');
    expect(() => preferenceLoss({ ...logps, policyChosen: [NaN, 1, 2] })).toThrow('policyChosen[0] is NaN');
    expect(() => preferenceLoss(logps, { ...PREF_DEFAULTS, beta: 0 })).toThrow('pref_beta must be a positive number, got 0');
    expect(() => preferenceLoss(logps, { ...PREF_DEFAULTS, lossType: 'kto_pair' as PrefLossType })).toThrow('pref_loss "kto_pair" is not supported');
    expect(() => preferenceLoss({ ...logps, policyChosen: [0, -1, -2] }, { ...PREF_DEFAULTS, lossType: 'orpo' })).toThrow('(orpo): pair 0');
  });
});
