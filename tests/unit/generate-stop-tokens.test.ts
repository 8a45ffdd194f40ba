/** Stop ids (engine/generate/stopTokens.ts): generation_config int or list, config eos, tokenizer eos, end-of-turn specials. */
import { describe, expect, it } from 'vitest';
import { generationConfigEosIds, modelStopTokenIds, stopTokenIds } from '../../src/engine/generate/stopTokens';
import { loadChatTokenizer } from '../../src/io/tokenizer/load';
import { modelFilesFromDir } from '../../src/node/files';

describe('stop ids', () => {
  it('reads eos_token_id as an int or a list', () => {
    expect(generationConfigEosIds({ eos_token_id: 7 })).toEqual([7]);
    expect(generationConfigEosIds({ eos_token_id: [151645, 151643] })).toEqual([151645, 151643]);
    expect(generationConfigEosIds({})).toEqual([]);
    expect(generationConfigEosIds(null)).toEqual([]);
  });

  it('unites every source and keeps only ids inside the vocabulary', () => {
    const vocab = new Map([['<|im_end|>', 10], ['<|endoftext|>', 11], ['hello', 3], ['<|eot_id|>', 99]]);
    const ids = stopTokenIds({ vocabSize: 20, generationConfig: { eos_token_id: [11, 500] }, configEosIds: [12], tokenizerEosId: 13, vocab });
    expect([...ids].sort((a, b) => a - b)).toEqual([10, 11, 12, 13]);
  });

  it('the demo Instruct model stops on </s> only; a broken generation_config.json is reported, not fatal', async () => {
    const files = await modelFilesFromDir('public/demo/stories260K-instruct');
    const tok = await loadChatTokenizer(files);
    const cfg = { vocabSize: 512, eosTokenIds: [2] };
    expect([...(await modelStopTokenIds(files, cfg, tok)).ids]).toEqual([2]);
    const broken = new Map(files.files);
    broken.set('generation_config.json', new Blob(['{not json']));
    const r = await modelStopTokenIds({ name: files.name, files: broken }, { vocabSize: 512, eosTokenIds: [] }, tok);
    expect([...r.ids]).toEqual([2]);
    expect(r.warnings[0]).toMatch(/generation_config\.json is not valid JSON/);
  });
});
