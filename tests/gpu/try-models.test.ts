/**
 * The Try it use case (app/tryModels.ts) on the demo pair: the Instruct answer (the PyTorch greedy sample), streamed
 * tokens, the adapter variants against a direct engine run, cancellation between tokens, and the refusal without an
 * adapter.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../src/app/loadModel';
import type { LoadedPair } from '../../src/app/session';
import { GenerationModels, type TokenEvent } from '../../src/app/tryModels';
import { replyPromptIds } from '../../src/app/generate';
import type { GpuContext } from '../../src/engine/gpu/context';
import { createGenerator } from '../../src/engine/generate/generate';
import { loraParamsFromAdapter } from '../../src/engine/model/loraFromAdapter';
import { destroyGpuModel, makeGpuModel } from '../../src/engine/model/model';
import { loadModelWeights } from '../../src/engine/model/weights';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { modelIdentity, pairIdentity } from '../../src/io/identity';
import { modelFilesFromDir } from '../../src/node/files';
import { randomAdapter } from '../support/genModels';
import { testGpu } from './device';

const MAX = "Once upon a time, there was a dog named Max. Max loved to play with his toys and run around. One day, Max's mom told him to be careful and not find anything. Max was very excited to play with his toys.\nMax was very excited to play with his toys. He went to the toy car and saw a big box.";
let ctx: GpuContext;
let pair: LoadedPair;
const tm = new GenerationModels();
const greedy = { maxNewTokens: 160, temperature: 0, topP: 1, seed: 0 };

beforeAll(async () => {
  ctx = await testGpu();
  const [baseFiles, instructFiles] = [await modelFilesFromDir('public/demo/stories260K-base'), await modelFilesFromDir('public/demo/stories260K-instruct')];
  const [baseId, instructId] = [await modelIdentity(baseFiles), await modelIdentity(instructFiles)];
  pair = { base: await loadModelFolder(baseFiles), instruct: await loadModelFolder(instructFiles), baseId, instructId, id: pairIdentity(baseId, instructId) };
});
afterAll(() => tm.release());

describe('Try it (GenerationModels)', () => {
  it('Instruct answers with the PyTorch greedy sample, streaming the text as it grows', async () => {
    const events: TokenEvent[] = [];
    const r = await tm.reply(ctx, pair, null, { model: 'instruct', prompt: 'Write a story about a dog named Max.', settings: greedy }, (e) => events.push(e));
    expect(r.stopped).toBe(true);
    expect(r.text.trim()).toBe(MAX);
    expect(events.map((e) => e.index)).toEqual(r.newIds.map((_, i) => i));
    expect(events.map((e) => e.id)).toEqual(r.newIds);
    expect(events.at(-1)!.text).toBe(r.text);
    await expect(tm.reply(ctx, pair, null, { model: 'base_lora', prompt: 'hi', settings: greedy })).rejects.toThrow(/needs a LoRA adapter/);
  });

  it('Base + LoRA and Instruct + graft equal a direct engine run with that adapter; the merge answers; cancel stops', async () => {
    const a = randomAdapter(pair.instruct.config, 4, 8, 17, 0.1);
    const prompt = 'Tell me a story about a big red ball.';
    const s = { ...greedy, maxNewTokens: 30 };
    const tok = await loadChatTokenizer(pair.instruct.model.files);
    const ids = replyPromptIds(tok, prompt);
    const lora = loraParamsFromAdapter(ctx, pair.base.config, a);
    for (const [kind, m] of [['base_lora', pair.base], ['instruct_graft', pair.instruct]] as const) {
      const model = makeGpuModel(m.config, await loadModelWeights(ctx, m.config, m.checkpoint));
      const gen = createGenerator(ctx, model, 128);
      const direct = await gen.generate(ids, s, { lora, stopIds: new Set([2]) });
      gen.destroy();
      destroyGpuModel(model);
      const r = await tm.reply(ctx, pair, a, { model: kind, prompt, settings: s });
      expect(r.promptIds).toEqual(ids);
      expect(r.newIds).toEqual(direct.newIds);
    }
    lora.destroy();
    const merged = await tm.reply(ctx, pair, a, { model: 'instruct_merged', prompt, settings: s });
    expect(merged.newIds.length).toBeGreaterThan(0);
    const c = new AbortController();
    const cut = await tm.reply(ctx, pair, a, { model: 'instruct', prompt, settings: s }, (e) => e.index === 2 && c.abort(), c.signal);
    expect(cut.aborted).toBe(true);
    expect(cut.newIds.length).toBe(3);
  });
});
