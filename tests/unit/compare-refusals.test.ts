/**
 * runCompare refuses before any GPU work (the context and checkpoints here are empty stand-ins it must not touch):
 * an invalid check regex, no held-out split, and a prompt whose answer would not fit max_position_embeddings.
 */
import { openAsBlob } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runCompare, type CompareJob } from '../../src/app/compare/runCompare';
import { CompareError } from '../../src/app/compare/metrics';
import { readModelConfig } from '../../src/io/config';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { tokenizeDataset } from '../../src/io/tokenizer/labels';
import { defaultTrainSettings } from '../../src/engine/train/defaults';
import type { GpuContext } from '../../src/engine/gpu/context';
import type { Checkpoint } from '../../src/io/checkpoint';
import { modelFilesFromDir } from '../../src/node/files';

const M = '../shared/models/stories260K-instruct';
const D = '../shared/datasets';

async function job(maxPositionEmbeddings: number): Promise<CompareJob> {
  const files = await modelFilesFromDir(M);
  const cfg = { ...(await readModelConfig(files.files.get('config.json') as Blob, 'config.json')), maxPositionEmbeddings };
  const tok = await loadChatTokenizer(files);
  const heldoutConversations = (await readDatasetFile(await openAsBlob(`${D}/story-titles.heldout.alpaca.json`), 'h.json')).conversations.slice(0, 4);
  const heldout = tokenizeDataset(tok, heldoutConversations, 32, cfg.vocabSize).examples;
  const side = { name: 'm', config: cfg, checkpoint: {} as Checkpoint };
  return {
    ctx: {} as GpuContext, base: side, instruct: side, tok, train: heldout, heldout, heldoutConversations,
    settings: { ...defaultTrainSettings(cfg, 4), maxLength: 32 }, options: { checkRegex: '^Title: ', evalPrompts: 2, maxNewTokens: 30 },
    stopIds: new Set([2]), onEvent: () => {},
  };
}

describe('runCompare refusals', () => {
  it('refuses a bad regex, no held-out rows and answers beyond max_position_embeddings', async () => {
    const j = await job(40);
    await expect(runCompare({ ...j, options: { ...j.options, checkRegex: '(' } })).rejects.toThrow(/^Check regex/);
    await expect(runCompare({ ...j, heldout: [] })).rejects.toThrow(/needs a held-out split/);
    const err = await runCompare(j).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CompareError);
    expect((err as Error).message).toMatch(/^Answer tokens: the prompt of h\.json item 1 has \d+ tokens; with 30 new tokens it exceeds max_position_embeddings 40/);
  });
});
