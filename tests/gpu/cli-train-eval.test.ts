/**
 * `shadowft train --eval-steps` as a user runs it (bin/shadowft.mjs on the demo pair): run.log has an eval_loss line
 * after every N steps, and trainer_state.json (HF Trainer layout) lists the step losses and those evaluations plus
 * the after-training one in log_history; --eval-steps without --heldout is refused before any work.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const M = '../shared/models';
const D = '../shared/datasets';
const ARGS = [`${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', `${D}/story-titles.train.alpaca.json`, '--heldout', `${D}/story-titles.heldout.alpaca.json`, '--max-steps', '7', '--batch-size', '4', '--max-length', '64', '--eval-steps', '3'];

function cli(args: string[]): Promise<{ code: number | null; err: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['bin/shadowft.mjs', 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout.on('data', () => {});
    p.on('error', rej);
    p.on('close', (code) => res({ code, err }));
  });
}

describe('shadowft train --eval-steps', () => {
  it('logs held-out loss every N steps in run.log and trainer_state.json log_history', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-train-eval-'));
    dirs.push(tmp);
    const out = join(tmp, 'out');
    const r = await cli([...ARGS, '--out', out]);
    expect(r.code, r.err).toBe(0);
    const log = await readFile(join(out, 'run.log'), 'utf8');
    expect(log).toMatch(/step 3\/7 eval_loss \d+\.\d{4} \(held-out loss of base\+lora\)/);
    expect(log).toMatch(/step 6\/7 eval_loss \d+\.\d{4}/);
    expect(log).not.toMatch(/step 7\/7 eval_loss/);
    const state = JSON.parse(await readFile(join(out, 'trainer_state.json'), 'utf8')) as { global_step: number; max_steps: number; eval_steps: number; log_history: Record<string, number>[] };
    expect([state.global_step, state.max_steps, state.eval_steps]).toEqual([7, 7, 3]);
    const evals = state.log_history.filter((e) => 'eval_loss' in e).map((e) => e.step);
    expect(evals).toEqual([3, 6, 7]);
    const steps = state.log_history.filter((e) => 'loss' in e);
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    for (const e of steps) expect(Object.keys(e).sort()).toEqual(['epoch', 'grad_norm', 'learning_rate', 'loss', 'step']);
    // Training entry first at a step that also has an evaluation, as the HF Trainer logs them.
    const at3 = state.log_history.filter((e) => e.step === 3);
    expect(at3.map((e) => ('eval_loss' in e ? 'eval' : 'train'))).toEqual(['train', 'eval']);
  });

  it('refuses --eval-steps without --heldout', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-train-eval-'));
    dirs.push(tmp);
    const r = await cli([...ARGS.filter((x, i) => x !== '--heldout' && ARGS[i - 1] !== '--heldout'), '--out', join(tmp, 'o')]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('--eval-steps needs --heldout FILE');
  });
});
