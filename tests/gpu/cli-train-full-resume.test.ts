/**
 * `shadowft train --finetuning-type full` with checkpoints (child processes of bin/shadowft.mjs, demo pair):
 * - SIGINT after the first checkpoint exits 130 with a full-parameter checkpoint (12 bytes per trained parameter)
 *   and no tuned Base; `--resume` of that folder ends with the very bytes of an uninterrupted run's tuned Base and
 *   merged Instruct;
 * - the summary's held-out loss of 'instruct+graft' is the loss of the exported merged folder: the folder is loaded
 *   again on its own (the engine's loader, makeGpuModel, evaluateLoss — not the training run) and evaluated on the
 *   same held-out batches.
 */
import { existsSync, openAsBlob, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import { decodeCheckpoint } from '../../src/engine/train/checkpointFile';
import { planSteps } from '../../src/engine/train/run';
import { evalBatches } from '../../src/engine/train/evalBatches';
import { evaluateLoss } from '../../src/engine/train/step';
import { createActivations } from '../../src/engine/model/activations';
import { destroyGpuModel, makeGpuModel } from '../../src/engine/model/model';
import { loadModelWeights } from '../../src/engine/model/weights';
import { tokenizeTrainingData } from '../../src/app/trainingData';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';
import { spawnTrain } from '../support/spawnTrain';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const M = '../shared/models';
const D = '../shared/datasets';
const ARGS = [`${M}/stories260K-base`, `${M}/stories260K-instruct`, '--train', `${D}/story-titles.train.alpaca.json`, '--heldout', `${D}/story-titles.heldout.alpaca.json`, '--max-steps', '6', '--batch-size', '4', '--max-length', '64', '--lr', '1e-3', '--finetuning-type', 'full', '--checkpoint-every', '1'];

const cli = spawnTrain;

describe('shadowft train --finetuning-type full: checkpoints, resume, the merged loss', () => {
  let tmp = '';
  let summaryGraftLoss = NaN;

  it('SIGINT saves a full-parameter checkpoint; --resume ends with the bytes of an uninterrupted run', async () => {
    tmp = await mkdtemp(join(tmpdir(), 'shadowft-full-resume-'));
    dirs.push(tmp);
    const whole = join(tmp, 'whole');
    const a = join(tmp, 'a');
    const r0 = await cli([...ARGS, '--out', whole]);
    expect(r0.code, r0.err).toBe(0);
    const m = /held-out loss of instruct\+graft \(after training\): ([0-9.]+)/.exec(r0.err);
    expect(m, r0.err).not.toBeNull();
    summaryGraftLoss = Number(m![1]);

    const ckdir = join(a, 'checkpoints');
    const r1 = await cli([...ARGS, '--out', a], () => existsSync(ckdir) && readdirSync(ckdir).some((f) => f.endsWith('.safetensors')));
    expect(r1.code, r1.err).toBe(130);
    expect(existsSync(join(a, 'tuned-base'))).toBe(false);
    const saved = (await readdir(ckdir)).filter((f) => f.endsWith('.safetensors'));
    expect(saved.length).toBe(1);
    const step = Number(/^step-(\d+)-of-6/.exec(saved[0]!)![1]);
    expect(step).toBeGreaterThanOrEqual(1);
    expect(step).toBeLessThan(6);
    const blob = await openAsBlob(join(ckdir, saved[0]!));
    const ck = await decodeCheckpoint(blob, saved[0]!);
    const trainable = [...ck.full!.params.values()].reduce((s, t) => s + t.length, 0);
    expect(trainable).toBeGreaterThan(200_000);
    expect(blob.size).toBeGreaterThanOrEqual(12 * trainable);
    expect(blob.size).toBeLessThan(12 * trainable + (1 << 16));

    const r2 = await cli([...ARGS, '--out', a, '--resume', a]);
    expect(r2.code, r2.err).toBe(0);
    expect(r2.err).toContain(`resuming at step ${step} of 6`);
    for (const f of ['tuned-base/model.safetensors', 'merged/model.safetensors']) {
      expect((await readFile(join(a, f))).equals(await readFile(join(whole, f))), f).toBe(true);
    }
  });

  it("the summary's instruct+graft loss is the held-out loss of the exported merged folder", async () => {
    const ctx = await testGpu();
    const instFiles = await modelFilesFromDir(`${M}/stories260K-instruct`);
    const mergedFiles = await modelFilesFromDir(join(tmp, 'whole', 'merged'));
    const cfg = await readModelConfig(mergedFiles.files.get('config.json')!, 'merged/config.json');
    const tok = await loadChatTokenizer(instFiles);
    const settings = { ...defaultTrainSettings(cfg, 1), finetuningType: 'full' as const, maxSteps: 6, batchSize: 4, maxLength: 64 };
    const rows = async (f: string) => {
      const p = await readDatasetFile(await openAsBlob(`${D}/${f}`), f);
      return { conversations: p.conversations, skipped: p.skipped };
    };
    const data = tokenizeTrainingData(tok, await rows('story-titles.train.alpaca.json'), await rows('story-titles.heldout.alpaca.json'), settings, cfg.vocabSize, 'instruct', () => {});
    // The run's batch shape (runFull.ts): the largest training micro-batch, T widened to the held-out rows.
    const steps = planSteps(data.train.filter((e) => e.labels.some((l) => l !== -100)), settings, tok.padTokenId).flat();
    const B = Math.max(...steps.map((b) => b.batchSize));
    const T = Math.max(...steps.map((b) => b.seqLen), ...data.heldout!.map((e) => Math.min(64, e.inputIds.length)));
    const batches = evalBatches(data.heldout!, B * T, 64, tok.padTokenId);
    const model = makeGpuModel(cfg, await loadModelWeights(ctx, cfg, await openCheckpoint(mergedFiles)));
    const acts = createActivations(ctx, cfg, B, T, 0, []);
    try {
      const loss = await evaluateLoss(ctx, model, acts, null, batches);
      // The summary prints 4 decimals.
      expect(Math.abs(loss - summaryGraftLoss)).toBeLessThanOrEqual(5e-5 + 1e-6);
    } finally {
      acts.destroy();
      destroyGpuModel(model);
    }
  });
});
