/**
 * Tied and separate output heads with transformers `tie_weights` semantics (file over config.json), on variants of
 * the demo model: a real lm_head that differs from the embedding is used (warning when config.json says tied); one
 * bit-identical to the embedding is one tensor; an untied config without lm_head ties with a warning. σ leaves
 * lm_head out unless it is a distinct tensor in both models. Plus the drop's errors that say the real reason.
 */
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../src/app/loadModel';
import { computeSimilarity } from '../../src/engine/analysis/similarity';
import { recognizeDrop, type DroppedFile } from '../../src/io/folder';
import { Session } from '../../src/app/session';
import { demoEmbedding, demoVariant } from '../support/demoVariant';

async function load(files: DroppedFile[]) {
  const drop = await recognizeDrop(files);
  expect(drop.models).toHaveLength(1);
  return loadModel(drop.models[0] as never);
}

describe('lm_head layout', () => {
  it('config says tied, file ships a different lm_head: the real head is used, with a warning', async () => {
    const e = await demoEmbedding('stories260K-instruct');
    const m = await load(await demoVariant('stories260K-instruct', 'i', { add: [{ name: 'lm_head.weight', shape: e.shape, data: e.changed }] }));
    expect(m.lmHead).toBe('separate');
    expect(m.config.tieWordEmbeddings).toBe(false);
    expect(m.warnings).toHaveLength(1);
    expect(m.warnings[0]).toMatch(/config\.json says tie_word_embeddings: true but the checkpoint ships its own lm_head\.weight.*the real lm_head\.weight is used/);
  });

  it('an lm_head bit-identical to the embedding is one tensor (tied), even when config.json says untied', async () => {
    const e = await demoEmbedding('stories260K-instruct');
    const m = await load(await demoVariant('stories260K-instruct', 'i', { config: { tie_word_embeddings: false }, add: [{ name: 'lm_head.weight', shape: e.shape, data: e.same }] }));
    expect([m.lmHead, m.config.tieWordEmbeddings, m.warnings]).toEqual(['tied', true, []]);
  });

  it('config says untied but there is no lm_head: tied to the embedding, with a warning', async () => {
    const m = await load(await demoVariant('stories260K-instruct', 'i', { config: { tie_word_embeddings: false } }));
    expect([m.lmHead, m.config.tieWordEmbeddings]).toEqual(['tied', true]);
    expect(m.warnings[0]).toMatch(/says tie_word_embeddings: false but the checkpoint has no lm_head\.weight; the head is tied/);
  });

  it('tied config without lm_head: tied, no warning', async () => {
    const m = await load(await demoVariant('stories260K-base', 'b'));
    expect([m.lmHead, m.warnings]).toEqual(['tied', []]);
  });

  it('a tied Base pairs with a separate-head Instruct; the warning reaches the model card; σ shows lm_head only when separate in both', async () => {
    const e = await demoEmbedding('stories260K-instruct');
    const s = new Session();
    const sum = await s.add([...(await demoVariant('stories260K-base', 'stories260K-base')), ...(await demoVariant('stories260K-instruct', 'stories260K-instruct', { add: [{ name: 'lm_head.weight', shape: e.shape, data: e.changed }] }))]);
    expect(sum.errors).toEqual([]);
    expect(sum.pairReady).toBe(true);
    expect(sum.instruct?.lmHead).toBe('separate');
    expect(sum.base?.lmHead).toBe('tied');
    expect(sum.instruct?.warnings.join('\n')).toMatch(/says tie_word_embeddings: true/);
    expect(sum.warnings.join('\n')).toMatch(/lm_head differs in layout/);
    const { base, instruct } = s.requirePair();
    const rep = await computeSimilarity(base.checkpoint, instruct.checkpoint, { tiedHead: base.lmHead === 'tied' || instruct.lmHead === 'tied' });
    expect(rep.rows.some((r) => r.tensor === 'lm_head.weight')).toBe(false);
    expect(rep.onlyInInstruct).toEqual([]);
    // Both separate: lm_head is compared.
    const eb = await demoEmbedding('stories260K-base');
    const bothSep = new Session();
    await bothSep.add([...(await demoVariant('stories260K-base', 'stories260K-base', { add: [{ name: 'lm_head.weight', shape: eb.shape, data: eb.changed }] })), ...(await demoVariant('stories260K-instruct', 'stories260K-instruct', { add: [{ name: 'lm_head.weight', shape: e.shape, data: e.changed }] }))]);
    const p2 = bothSep.requirePair();
    expect([p2.base.lmHead, p2.instruct.lmHead]).toEqual(['separate', 'separate']);
    const rep2 = await computeSimilarity(p2.base.checkpoint, p2.instruct.checkpoint, { tiedHead: false });
    expect(rep2.rows.filter((r) => r.tensor === 'lm_head.weight')).toHaveLength(1);
  });
});

describe('errors that say the real reason', () => {
  it('a missing shard is the headline, not "only one model folder"', async () => {
    const inst = await demoVariant('stories260K-instruct', 'stories260K-instruct');
    const sharded = inst.filter((f) => !f.path.endsWith('model.safetensors'));
    sharded.push({ path: 'stories260K-instruct/model.safetensors.index.json', file: new Blob([JSON.stringify({ metadata: {}, weight_map: { 'model.embed_tokens.weight': 'model-00001-of-00002.safetensors', 'model.norm.weight': 'model-00002-of-00002.safetensors' } })]) });
    sharded.push({ path: 'stories260K-instruct/model-00001-of-00002.safetensors', file: (inst.find((f) => f.path.endsWith('model.safetensors')) as DroppedFile).file });
    const s = new Session();
    const sum = await s.add([...(await demoVariant('stories260K-base', 'stories260K-base')), ...sharded]);
    expect(sum.errors[0]).toMatch(/^stories260K-instruct: shard model-00002-of-00002\.safetensors named in model\.safetensors\.index\.json missing/);
    expect(sum.errors.join('\n')).not.toMatch(/Only one model folder/);
  });

  it('an unsupported model_type dropped alone is reported by its type', async () => {
    const s = new Session();
    const sum = await s.add(await demoVariant('stories260K-instruct', 'mixtral', { config: { model_type: 'mixtral' } }));
    expect(sum.errors[0]).toMatch(/model_type "mixtral" is not supported/);
    expect(sum.errors.join('\n')).not.toMatch(/Only one model folder/);
  });

  it('a tensor shape mismatch names both models and both shapes', async () => {
    const s = new Session();
    const sum = await s.add([
      ...(await demoVariant('stories260K-base', 'stories260K-base', { add: [{ name: 'model.extra.weight', shape: [2, 3], data: new Uint8Array(12) }] })),
      ...(await demoVariant('stories260K-instruct', 'stories260K-instruct', { add: [{ name: 'model.extra.weight', shape: [3, 2], data: new Uint8Array(12) }] })),
    ]);
    expect(sum.errors[0]).toMatch(/model\.extra\.weight has shape \[2, 3\] in Base "stories260K-base" but \[3, 2\] in Instruct "stories260K-instruct"/);
  });
});
