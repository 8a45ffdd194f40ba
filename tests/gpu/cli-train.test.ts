/**
 * `shadowft train` as a user runs it (child processes of bin/shadowft.mjs on the demo pair): a run stopped with SIGINT
 * after its first checkpoint exits 130 with a checkpoint and no adapter; `--resume` of that folder finishes it, and
 * its adapter_model.safetensors is byte-identical to an uninterrupted run's. run.log lines carry ISO timestamps.
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnTrain } from '../support/spawnTrain';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const M = '../shared/models';
const ARGS = [`${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', '../shared/datasets/story-titles.train.alpaca.json', '--max-steps', '12', '--batch-size', '4', '--max-length', '64', '--warmup-steps', '2', '--checkpoint-every', '1'];

const cli = spawnTrain;

describe('shadowft train (CLI)', () => {
  it('SIGINT saves a checkpoint and exits 130; --resume gives the same adapter bytes as an uninterrupted run', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'shadowft-train-'));
    dirs.push(tmp);
    const full = join(tmp, 'full');
    const a = join(tmp, 'a');
    const r0 = await cli([...ARGS, '--out', full]);
    expect(r0.code, r0.err).toBe(0);

    const ckdir = join(a, 'checkpoints');
    const r1 = await cli([...ARGS, '--out', a], () => existsSync(ckdir) && readdirSync(ckdir).some((f) => f.endsWith('.safetensors')));
    expect(r1.code, r1.err).toBe(130);
    expect(r1.err).toContain('SIGINT');
    expect(existsSync(join(a, 'adapter'))).toBe(false);
    const saved = (await readdir(ckdir)).filter((f) => f.endsWith('.safetensors'));
    expect(saved.length).toBe(1);
    const step = Number(/^step-(\d+)-of-12/.exec(saved[0]!)![1]);
    expect(step).toBeGreaterThanOrEqual(1);
    expect(step).toBeLessThan(12);

    const r2 = await cli([...ARGS, '--out', a, '--resume', a]);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.err).toContain(`resuming at step ${step} of 12`);
    const want = await readFile(join(full, 'adapter', 'adapter_model.safetensors'));
    const got = await readFile(join(a, 'adapter', 'adapter_model.safetensors'));
    expect(got.equals(want)).toBe(true);
    expect(await readFile(join(a, 'adapter', 'adapter_config.json'), 'utf8')).toBe(await readFile(join(full, 'adapter', 'adapter_config.json'), 'utf8'));
    const log = (await readFile(join(a, 'run.log'), 'utf8')).trim().split('\n');
    for (const l of log) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    expect(log.some((l) => l.endsWith('exit 130'))).toBe(true);
    expect(log.at(-1)).toMatch(/exit 0$/);

    // A resumed run with other settings is refused by name, and nothing in the folder is touched.
    const r3 = await cli([...ARGS.map((x) => (x === '64' ? '48' : x)), '--out', join(tmp, 'b'), '--resume', a]);
    expect(r3.code).toBe(1);
    expect(r3.err).toMatch(/settings\.maxLength differs \(checkpoint: 64; this run: 48\)/);
  });
});
