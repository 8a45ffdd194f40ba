/**
 * Try it on the stories260K pair (app/tryit.ts): greedy answers of Base and Instruct equal the PyTorch reference's
 * (shared/models/REFERENCE_RESULTS.md, held-out prompt 1); with an adapter whose lora_B is zero (no update), the
 * on-the-fly graft and the exported BF16 merge answer exactly as the Instruct model does (W + 0 rounds back to W);
 * a second call reuses what the first uploaded (no 'loading' event); a chat renders the system prompt and each
 * model's own earlier turns before the new message.
 */
import { describe, expect, it } from 'vitest';
import { loadModelFolder } from '../../src/app/loadModel';
import { TryIt, trySources, type TryEvent } from '../../src/app/tryit';
import { modelStopTokenIds } from '../../src/engine/generate/stopTokens';
import { TARGET_MODULES, type LoraAdapter, type LoraModuleWeights } from '../../src/engine/model/loraTypes';
import { linearShape, modulePath } from '../../src/engine/model/weights';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { renderChat } from '../../src/io/tokenizer/render';
import { chatMessages, replyPromptIds } from '../../src/app/generate';
import { modelFilesFromDir } from '../../src/node/files';
import { testGpu } from './device';

const M = '../shared/models';
const PROMPT = 'Write a short story with a title about a boat called Fluffy.';

describe('Try it', () => {
  it('answers as the reference, grafts a zero update exactly, and keeps models uploaded', async () => {
    const ctx = await testGpu();
    const baseFiles = await modelFilesFromDir(`${M}/stories260K-base`);
    const instFiles = await modelFilesFromDir(`${M}/stories260K-instruct`);
    const pair = { base: await loadModelFolder(baseFiles), instruct: await loadModelFolder(instFiles) };
    const tok = await loadChatTokenizer(instFiles);
    const cfg = pair.instruct.config;
    const modules = new Map<string, LoraModuleWeights>();
    for (let l = 0; l < cfg.numLayers; l++) {
      for (const m of TARGET_MODULES) {
        const [out, inF] = linearShape(cfg, m);
        modules.set(modulePath(l, m), { a: Float32Array.from({ length: 8 * inF }, (_, i) => Math.sin(i + l)), b: new Float32Array(out * 8), inFeatures: inF, outFeatures: out });
      }
    }
    const zero: LoraAdapter = { settings: { r: 8, alpha: 16, dropout: 0, useRslora: false, targetModules: [...TARGET_MODULES] }, modules };
    const sources = trySources(pair, { shadow: zero, conventional: null });
    const stop = (await modelStopTokenIds(instFiles, cfg, tok)).ids;
    const tryIt = new TryIt();
    const events: TryEvent[] = [];
    const request = { message: PROMPT, models: ['base', 'instruct', 'instruct_shadow', 'instruct_shadow_merged'] as const, settings: { maxNewTokens: 48, temperature: 0, topP: 1, seed: 0 } };
    try {
      const r = await tryIt.generate(ctx, tok, request, sources, stop, (e) => events.push(e), new AbortController().signal);
      expect(r.get('instruct')?.text.startsWith('Once upon a time, there was a little boat named Fluffy. Fluffy loved to play with his friends. One day, Fluffy saw')).toBe(true);
      expect(r.get('base')?.text.startsWith('Whiskers is a shiny boat. What is that?')).toBe(true);
      expect(r.get('instruct_shadow')?.text).toBe(r.get('instruct')?.text);
      expect(r.get('instruct_shadow_merged')?.text).toBe(r.get('instruct')?.text);
      expect(r.get('instruct')?.newTokens).toBe(48);
      expect(events.filter((e) => e.status === 'try-loading').map((e) => e.model)).toEqual(['base', 'instruct', 'instruct_shadow_merged']);
      expect(events.filter((e) => e.status === 'try-reply').length).toBe(4);
      events.length = 0;
      await tryIt.generate(ctx, tok, { ...request, models: ['instruct', 'instruct_shadow_merged'] }, sources, stop, (e) => events.push(e), new AbortController().signal);
      expect(events.some((e) => e.status === 'try-loading')).toBe(false);
      // A chat (issue 20 (g)): one system prompt, each model after its own earlier turns, with the chat template.
      const system = 'You write titled stories.';
      const first = r.get('instruct')?.text as string;
      const turns = { instruct: [{ user: PROMPT, assistant: first }], instruct_shadow: [{ user: PROMPT, assistant: first }] };
      const next = 'Now one about a cat.';
      const chat = await tryIt.generate(ctx, tok, { ...request, message: next, models: ['base', 'instruct', 'instruct_shadow'], system, turns }, sources, stop, () => {}, new AbortController().signal);
      const rendered = renderChat(tok, chatMessages(next, { system, turns: turns.instruct }), true);
      // The template of stories260K-instruct (tokenizer_config.json), bos <s> and eos </s>:
      expect(rendered).toBe(`<s>System: ${system}\nUser: ${PROMPT}\nAssistant: ${first}</s>User: ${next}\nAssistant:`);
      expect(chat.get('instruct')?.promptTokens).toBe(replyPromptIds(tok, next, {}, { system, turns: turns.instruct }).length);
      // Base had no earlier turn: its prompt is the system prompt and the new message only.
      expect(chat.get('base')?.promptTokens).toBe(replyPromptIds(tok, next, {}, { system }).length);
      expect(chat.get('base')!.promptTokens).toBeLessThan(chat.get('instruct')!.promptTokens);
      // The same conversation and a zero update: the graft answers exactly as Instruct.
      expect(chat.get('instruct_shadow')?.text).toBe(chat.get('instruct')?.text);
    } finally {
      tryIt.release();
    }
  }, 300_000);
});
