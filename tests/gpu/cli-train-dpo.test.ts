/**
 * `shadowft train --stage dpo` as a user runs it (bin/shadowft.mjs on the demo pair with story-titles-pref):
 * trainer_state.json's log_history carries TRL / LLaMA-Factory DPOTrainer's metric names on every training step
 * (rewards/chosen, rewards/rejected, rewards/accuracies, rewards/margins, logps/chosen, logps/rejected) and their
 * eval_ versions with eval_loss on every evaluation (--eval-steps and after training); run.log has the held-out
 * preference line every N steps; the reference pass covers only the pairs the 4 steps use; a run stopped with SIGINT
 * and resumed reuses the held-out log-probs of the untrained Base from its checkpoint and ends with the same adapter
 * bytes and the same log_history as an uninterrupted run.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnTrain } from '../support/spawnTrain';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const M = '../shared/models';
const D = '../shared/datasets';
const ARGS = [`${M}/stories260K-base`, `${M}/stories260K-instruct`, '--stage', 'dpo', '--train', `${D}/story-titles-pref.train.trl.jsonl`, '--heldout', `${D}/story-titles-pref.heldout.trl.jsonl`, '--max-steps', '4', '--batch-size', '2', '--max-length', '96', '--eval-steps', '2', '--checkpoint-every', '1', '--lr', '0.003'];
const TRAIN_KEYS = ['rewards/chosen', 'rewards/rejected', 'rewards/accuracies', 'rewards/margins', 'logps/chosen', 'logps/rejected'];

const cli = spawnTrain;

type State = { global_step: number; max_steps: number; eval_steps: number; log_history: Record<string, number>[] };
const stateOf = async (dir: string): Promise<State> => JSON.parse(await readFile(join(dir, 'trainer_state.json'), 'utf8')) as State;

describe('shadowft train --stage dpo (CLI)', () => {
  it('logs TRL’s preference metrics, evaluates every N steps, and a resumed run reuses its before-metrics', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-train-dpo-'));
    dirs.push(tmp);
    const full = join(tmp, 'full');
    const r0 = await cli([...ARGS, '--out', full]);
    expect(r0.code, r0.err).toBe(0);
    const log = await readFile(join(full, 'run.log'), 'utf8');
    expect(log).toContain('reference pass: log-probs of the training pairs with the adapter off (4 batches)');
    expect(log).toMatch(/step 2\/4 held-out preference metrics of base\+lora: accuracy \d+\.\d%, margin -?\d+\.\d{4}, .*loss \d+\.\d{4}/);
    expect(log).not.toMatch(/step 4\/4 held-out preference/);
    const state = await stateOf(full);
    expect([state.global_step, state.max_steps, state.eval_steps]).toEqual([4, 4, 2]);
    const steps = state.log_history.filter((e) => 'loss' in e);
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4]);
    for (const e of steps) expect(Object.keys(e).sort()).toEqual(['epoch', 'grad_norm', 'learning_rate', 'loss', 'step', ...TRAIN_KEYS].sort());
    expect(steps[0]!['rewards/margins']).toBe(0); // B = 0 at init: policy = reference
    const evals = state.log_history.filter((e) => 'eval_loss' in e);
    expect(evals.map((e) => e.step)).toEqual([2, 4]);
    for (const e of evals) expect(Object.keys(e).sort()).toEqual(['epoch', 'eval_loss', 'step', ...TRAIN_KEYS.map((k) => `eval_${k}`)].sort());
    for (const e of [...steps, ...evals]) for (const v of Object.values(e)) expect(Number.isFinite(v)).toBe(true);

    const a = join(tmp, 'a');
    const ckdir = join(a, 'checkpoints');
    const r1 = await cli([...ARGS, '--out', a], () => existsSync(ckdir) && readdirSync(ckdir).some((f) => f.endsWith('.safetensors')));
    expect(r1.code, r1.err).toBe(130);
    const r2 = await cli([...ARGS, '--out', a, '--resume', a]);
    expect(r2.code, r2.err).toBe(0);
    const resumedPart = r2.err.slice(r2.err.indexOf('resuming at step'));
    expect(resumedPart).not.toContain('held-out log-probs of Base before training');
    expect(resumedPart).toMatch(/held-out preference metrics of base before training: .*\(held-out log-probs from the checkpoint\)/);
    const want = await readFile(join(full, 'adapter', 'adapter_model.safetensors'));
    expect((await readFile(join(a, 'adapter', 'adapter_model.safetensors'))).equals(want)).toBe(true);
    expect((await stateOf(a)).log_history).toEqual(state.log_history);
  });
});
