/**
 * Preference objectives on the CPU, from per-sequence log-probabilities (pure f64 maths, no GPU): the loss of a batch
 * of P pairs, d loss / d logp for every sequence (the per-row scale the cross-entropy backward needs), and the
 * implicit-reward metrics. Follows LLaMA-Factory's CustomDPOTrainer (src/llamafactory/train/dpo/trainer.py) with TRL's
 * DPOTrainer.dpo_loss for the reference-based losses:
 *
 *   logp = Σ over labelled positions of log_softmax(logits[t])[labels[t+1]]   (sum; L = labelled positions after the
 *          shift, LLaMA-Factory get_batch_logps `valid_length`)
 *   ipo, orpo, simpo use the per-token mean a = logp / L for policy AND reference (concatenated_forward);
 *   sigmoid, hinge use the sums.
 *   h = (π_c − ref_c) − (π_r − ref_r)                              (TRL: logits = pi_logratios − ref_logratios)
 *   sigmoid  ℓ = −(1−ε)·log σ(β h) − ε·log σ(−β h)                  (DPO, Rafailov et al. 2023 eq. 7; ε = label
 *                                                                     smoothing, cDPO; LLaMA-Factory dpo_label_smoothing)
 *   hinge    ℓ = max(0, 1 − β h)                                    (RSO, Liu et al. 2023)
 *   ipo      ℓ = (h − 1/(2β))²                                      (Azar et al. 2023 eq. 17)
 *   simpo    ℓ = −log σ(β (a_c − a_r) − γ)                          (Meng et al. 2024; LLaMA-Factory simpo_loss:
 *                                                                     β·(a_c − a_r − γ/β), γ = simpo_gamma)
 *   orpo     ℓ = −a_c − β log σ(log_odds), log_odds = (a_c − a_r) − (log(1−e^{a_c}) − log(1−e^{a_r}))
 *                                                                    (Hong et al. 2024; odds_ratio_loss)
 *   pref_ftx: when ftx > 1e-6, ℓ += ftx · (−π_c / L_c): the per-token mean NLL of the chosen answer (LLaMA-Factory
 *             `sft_loss = -policy_chosen_logps_avg`; for ipo/orpo/simpo that is the same −a_c).
 *   loss = mean over the P pairs of ℓ.
 *   rewards: reference-based r = β·(π − ref) (on the means for ipo); simpo/orpo r = β·a (no reference).
 *   accuracy = mean(r_c > r_r), margin = mean(r_c − r_r) (LLaMA-Factory rewards/accuracies, rewards/margins).
 *
 * The gradients are with respect to the SUMMED log-probs the engine computes (a mean contributes 1/L), of the mean
 * over the P pairs given. A hinge at exactly 1 − βh = 0 has gradient 0 (torch's relu).
 */

/** LLaMA-Factory `pref_loss` values implemented here. */
export type PrefLossType = 'sigmoid' | 'hinge' | 'ipo' | 'orpo' | 'simpo';

/** Every {@link PrefLossType}, in LLaMA-Factory's order. */
export const PREF_LOSS_TYPES: readonly PrefLossType[] = ['sigmoid', 'hinge', 'ipo', 'orpo', 'simpo'];

/** The objective's settings (LLaMA-Factory FinetuningArguments names in brackets). */
export interface PrefLossOptions {
  /** [pref_loss], default 'sigmoid' (DPO). */
  readonly lossType: PrefLossType;
  /** β [pref_beta] > 0, default 0.1. */
  readonly beta: number;
  /** Weight of the SFT term on chosen [pref_ftx] ≥ 0, default 0. */
  readonly ftx: number;
  /** γ of SimPO [simpo_gamma], default 0.5. */
  readonly simpoGamma: number;
  /** ε of the sigmoid loss [dpo_label_smoothing] in [0, 0.5], default 0. */
  readonly labelSmoothing: number;
}

/** LLaMA-Factory's defaults (hparams/finetuning_args.py RLHFArguments). */
export const PREF_DEFAULTS: PrefLossOptions = { lossType: 'sigmoid', beta: 0.1, ftx: 0, simpoGamma: 0.5, labelSmoothing: 0 };

/** Whether a loss needs the reference model's log-probs (LLaMA-Factory use_ref_model: not orpo/simpo). */
export function usesReference(lossType: PrefLossType): boolean {
  return lossType !== 'orpo' && lossType !== 'simpo';
}

/** Whether a loss works on per-token mean log-probs (LLaMA-Factory concatenated_forward: ipo, orpo, simpo). */
export function lengthNormalised(lossType: PrefLossType): boolean {
  return lossType === 'ipo' || lossType === 'orpo' || lossType === 'simpo';
}

/** Per-sequence inputs for P pairs; every array has length P, values in nats (f64). */
export interface PrefLogps {
  /** Σ log p of the chosen answer's labelled tokens under the policy (model + adapter). */
  readonly policyChosen: ArrayLike<number>;
  readonly policyRejected: ArrayLike<number>;
  /** The same under the reference (adapter off); required for sigmoid/hinge/ipo, ignored for orpo/simpo. */
  readonly referenceChosen?: ArrayLike<number> | null;
  readonly referenceRejected?: ArrayLike<number> | null;
  /** L: labelled positions after the shift (PreferenceBatch.labelCounts), integers ≥ 1. */
  readonly chosenLengths: ArrayLike<number>;
  readonly rejectedLengths: ArrayLike<number>;
}

/** Metrics as LLaMA-Factory logs them (means over the P pairs). */
export interface PrefMetrics {
  readonly rewardsChosen: number;
  readonly rewardsRejected: number;
  /** Fraction of pairs with r_c > r_r. */
  readonly accuracy: number;
  /** mean(r_c − r_r). */
  readonly margin: number;
  /** mean policy log-probs as the loss uses them (sums, or per-token means for ipo/orpo/simpo). */
  readonly logpsChosen: number;
  readonly logpsRejected: number;
  /** mean of −π_c / L_c (the pref_ftx SFT term before weighting). */
  readonly sftLoss: number;
}

/** The loss, its gradient per sequence and the rewards. Float64Array [P] each. */
export interface PrefLossResult {
  /** mean over pairs of ℓ. */
  readonly loss: number;
  readonly losses: Float64Array;
  /** d loss / d policyChosen[i] and d loss / d policyRejected[i] (w.r.t. the sums; includes the 1/P of the mean). */
  readonly dPolicyChosen: Float64Array;
  readonly dPolicyRejected: Float64Array;
  readonly chosenRewards: Float64Array;
  readonly rejectedRewards: Float64Array;
  readonly metrics: PrefMetrics;
}

/** log σ(x), stable for any finite x. */
export function logSigmoid(x: number): number {
  return x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x));
}

/** σ(x), stable for any finite x. */
export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

function check(name: string, v: ArrayLike<number> | null | undefined, p: number, lengths = false): ArrayLike<number> {
  if (v === null || v === undefined) throw new Error(`preference loss: ${name} is required`);
  if (v.length !== p) throw new Error(`preference loss: ${name} has ${v.length} values, expected one per pair (P = ${p})`);
  for (let i = 0; i < p; i++) {
    const x = v[i] as number;
    if (lengths ? !(Number.isInteger(x) && x >= 1) : !Number.isFinite(x)) throw new Error(`preference loss: ${name}[${i}] is ${x}; expected ${lengths ? 'an integer ≥ 1 (labelled tokens)' : 'a finite log-probability'}`);
  }
  return v;
}

/** Checks the options. @throws Error naming the setting and the allowed range */
export function checkPrefOptions(o: PrefLossOptions): void {
  if (!['sigmoid', 'hinge', 'ipo', 'orpo', 'simpo'].includes(o.lossType)) throw new Error(`pref_loss ${JSON.stringify(o.lossType)} is not supported; expected sigmoid, hinge, ipo, orpo or simpo`);
  if (!(Number.isFinite(o.beta) && o.beta > 0)) throw new Error(`pref_beta must be a positive number, got ${o.beta}`);
  if (!(Number.isFinite(o.ftx) && o.ftx >= 0)) throw new Error(`pref_ftx must be ≥ 0, got ${o.ftx}`);
  if (!Number.isFinite(o.simpoGamma)) throw new Error(`simpo_gamma must be a number, got ${o.simpoGamma}`);
  if (!(o.labelSmoothing >= 0 && o.labelSmoothing <= 0.5)) throw new Error(`dpo_label_smoothing must be in [0, 0.5], got ${o.labelSmoothing}`);
}

/**
 * The preference loss of P pairs (see the file comment for every formula and its source).
 * @throws Error for bad options, arrays of the wrong length, non-finite log-probs, lengths < 1, a missing reference
 *   for sigmoid/hinge/ipo, or (orpo) a per-token mean log-prob ≥ 0 where log(1 − e^a) is undefined
 */
export function preferenceLoss(logps: PrefLogps, options: PrefLossOptions = PREF_DEFAULTS): PrefLossResult {
  checkPrefOptions(options);
  const { lossType: type, beta, ftx, simpoGamma: gamma, labelSmoothing: eps } = options;
  const P = logps.policyChosen.length;
  if (P < 1) throw new Error('preference loss: no pairs');
  const pc = check('policyChosen', logps.policyChosen, P);
  const pr = check('policyRejected', logps.policyRejected, P);
  const lc = check('chosenLengths', logps.chosenLengths, P, true);
  const lr = check('rejectedLengths', logps.rejectedLengths, P, true);
  const ref = usesReference(type);
  const rc = ref ? check('referenceChosen', logps.referenceChosen, P) : null;
  const rr = ref ? check('referenceRejected', logps.referenceRejected, P) : null;
  const norm = lengthNormalised(type);
  const out = { losses: new Float64Array(P), dc: new Float64Array(P), dr: new Float64Array(P), cr: new Float64Array(P), rj: new Float64Array(P) };
  let sft = 0;
  let seenC = 0;
  let seenR = 0;
  for (let i = 0; i < P; i++) {
    const sc = norm ? 1 / (lc[i] as number) : 1; // d (value used) / d (sum)
    const sr = norm ? 1 / (lr[i] as number) : 1;
    const c = (pc[i] as number) * sc;
    const r = (pr[i] as number) * sr;
    seenC += c;
    seenR += r;
    let l: number;
    let dc: number; // dℓ/dc
    let dr: number; // dℓ/dr
    if (rc && rr) {
      const refC = (rc[i] as number) * sc;
      const refR = (rr[i] as number) * sr;
      const h = c - refC - (r - refR);
      let dh: number;
      if (type === 'sigmoid') {
        l = -(1 - eps) * logSigmoid(beta * h) - eps * logSigmoid(-beta * h);
        dh = beta * (-(1 - eps) * sigmoid(-beta * h) + eps * sigmoid(beta * h));
      } else if (type === 'hinge') {
        l = Math.max(0, 1 - beta * h);
        dh = 1 - beta * h > 0 ? -beta : 0;
      } else {
        const d = h - 1 / (2 * beta);
        l = d * d;
        dh = 2 * d;
      }
      [dc, dr] = [dh, -dh];
      out.cr[i] = beta * (c - refC);
      out.rj[i] = beta * (r - refR);
    } else if (type === 'simpo') {
      const z = beta * (c - r) - gamma;
      l = -logSigmoid(z);
      const dz = -sigmoid(-z);
      [dc, dr] = [beta * dz, -beta * dz];
      out.cr[i] = beta * c;
      out.rj[i] = beta * r;
    } else {
      if (c >= 0 || r >= 0) throw new Error(`preference loss (orpo): pair ${i}: a per-token mean log-prob is ${Math.max(c, r)} ≥ 0, where log(1 − e^a) is undefined`);
      const odds = c - r - (Math.log(-Math.expm1(c)) - Math.log(-Math.expm1(r)));
      l = -c - beta * logSigmoid(odds);
      const dOdds = -beta * sigmoid(-odds);
      dc = -1 + dOdds / -Math.expm1(c); // d log_odds / dc = 1 + e^c/(1 − e^c) = 1/(1 − e^c)
      dr = -dOdds / -Math.expm1(r);
      out.cr[i] = beta * c;
      out.rj[i] = beta * r;
    }
    const nll = -(pc[i] as number) / (lc[i] as number);
    sft += nll;
    if (ftx > 1e-6) {
      l += ftx * nll;
      dc += (-ftx / (lc[i] as number)) / sc; // the sft term is −sum/L; dc is w.r.t. the value used (sum·sc)
    }
    out.losses[i] = l;
    out.dc[i] = (dc * sc) / P;
    out.dr[i] = (dr * sr) / P;
  }
  const mean = (a: Float64Array): number => a.reduce((s, x) => s + x, 0) / P;
  let wins = 0;
  let margin = 0;
  for (let i = 0; i < P; i++) {
    if ((out.cr[i] as number) > (out.rj[i] as number)) wins++;
    margin += (out.cr[i] as number) - (out.rj[i] as number);
  }
  return {
    loss: mean(out.losses), losses: out.losses, dPolicyChosen: out.dc, dPolicyRejected: out.dr,
    chosenRewards: out.cr, rejectedRewards: out.rj,
    metrics: { rewardsChosen: mean(out.cr), rewardsRejected: mean(out.rj), accuracy: wins / P, margin: margin / P, logpsChosen: seenC / P, logpsRejected: seenR / P, sftLoss: sft / P },
  };
}
