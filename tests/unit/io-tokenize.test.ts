import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { chatTokenizerFromJson, loadChatTokenizer, TokenizerError, type ChatTokenizer } from '../../src/io/tokenizer/load';
import { IGNORE_INDEX, tokenizeConversation, tokenizeDataset } from '../../src/io/tokenizer/labels';
import { parseDataset } from '../../src/io/dataset/parse';
import type { ChatMessage, Conversation } from '../../src/io/dataset/types';
import { modelFilesFromDir } from '../../src/node/files';

const MODELS = '/work/shared/models';
const DATASETS = '/work/shared/datasets';
interface Cases {
  cases: { text: string; ids: number[] }[];
  chat_cases: { messages: ChatMessage[]; add_generation_prompt: boolean; text: string; ids: number[] }[];
}
const CASES = JSON.parse(readFileSync(`${MODELS}/tokenizer_cases.json`, 'utf8')) as Cases;
const json = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
const dataset = (f: string): Conversation[] => parseDataset(readFileSync(`${DATASETS}/${f}`, 'utf8'), f).conversations;

let tok: ChatTokenizer;
beforeAll(async () => {
  tok = await loadChatTokenizer(await modelFilesFromDir(`${MODELS}/stories260K-instruct`));
});

describe('stories260K tokenizer built offline from the folder', () => {
  it(`encodes all ${CASES.cases.length} reference strings to the reference ids (with BOS)`, () => {
    const bad = CASES.cases.filter((c) => JSON.stringify(tok.encode(c.text, true)) !== JSON.stringify(c.ids)).map((c) => c.text);
    expect(bad).toEqual([]);
  });

  it(`renders and tokenizes all ${CASES.chat_cases.length} chat cases exactly`, () => {
    for (const c of CASES.chat_cases) {
      const text = tok.render(c.messages, c.add_generation_prompt);
      expect(text).toBe(c.text);
      expect(tok.encode(text, false)).toEqual(c.ids);
    }
  });

  it('pads with eos (no pad_token) and knows eos', () => {
    expect([tok.padTokenId, tok.eosTokenId]).toEqual([2, 2]);
  });
});

/** Text the labelled span decodes to: decode(ids[:end]) minus decode(ids[:start]) (the decoder strips a leading space). */
function labelledText(ex: { inputIds: Int32Array; labels: Int32Array }): { start: number; text: string } {
  const on = [...ex.labels].map((l, t) => (l === IGNORE_INDEX ? -1 : t)).filter((t) => t >= 0);
  const start = on[0] as number;
  const end = (on[on.length - 1] as number) + 1;
  expect(on).toEqual(Array.from({ length: end - start }, (_, k) => start + k)); // one contiguous span
  const before = tok.decode(ex.inputIds.subarray(0, start));
  const upto = tok.decode(ex.inputIds.subarray(0, end));
  expect(upto.startsWith(before)).toBe(true);
  return { start, text: upto.slice(before.length) };
}

describe('SFT labels with the Instruct chat template', () => {
  const examples = [...dataset('story-titles.train.messages.jsonl').slice(0, 4), ...dataset('instruct-sft.messages.jsonl').filter((c) => c.messages[0]?.role === 'system').slice(0, 3)];

  it.each(examples.map((c) => [c.source, c] as const))('%s: only " <answer></s>" is unmasked', (_s, conv) => {
    const ex = tokenizeConversation(tok, conv, 512, 512);
    expect(ex.truncated).toBe(false);
    const answer = conv.messages[conv.messages.length - 1]?.content as string;
    const { start, text } = labelledText(ex);
    expect(text).toBe(` ${answer}</s>`);
    expect([...ex.inputIds.subarray(0, start)]).toEqual(tok.encode(tok.render(conv.messages.slice(0, -1), true), false));
    expect(tok.decode(ex.inputIds.subarray(0, start)).endsWith('\nAssistant:')).toBe(true);
    ex.labels.forEach((l, t) => expect(l === IGNORE_INDEX || l === ex.inputIds[t]).toBe(true));
    expect(ex.labels[ex.labels.length - 1]).toBe(2);
  });

  it('labels every assistant turn of a multi-turn conversation and masks the user turn between them', () => {
    const conv: Conversation = {
      source: 'multi',
      messages: [
        { role: 'user', content: 'Tell me a story.' },
        { role: 'assistant', content: 'Once upon a time.' },
        { role: 'user', content: 'More.' },
        { role: 'assistant', content: 'The end.' },
      ],
    };
    const ex = tokenizeConversation(tok, conv, 512, 512);
    const spans: string[] = [];
    let t = 0;
    while (t < ex.labels.length) {
      if (ex.labels[t] === IGNORE_INDEX) { t++; continue; }
      const s = t;
      while (t < ex.labels.length && ex.labels[t] !== IGNORE_INDEX) t++;
      const before = tok.decode(ex.inputIds.subarray(0, s));
      spans.push(tok.decode(ex.inputIds.subarray(0, t)).slice(before.length));
    }
    expect(spans).toEqual([' Once upon a time.</s>', ' The end.</s>']);
    // The legacy decoder keeps the dummy-prefix space after a special token ("<s> User:").
    expect(tok.decode(ex.inputIds)).toBe('<s> User: Tell me a story.\nAssistant: Once upon a time.</s> User: More.\nAssistant: The end.</s>');
  });

  it('matches the reference ids of tokenizer_cases.json: prompt (add_generation_prompt) = masked part, full = input_ids', () => {
    const prompts = CASES.chat_cases.filter((c) => c.add_generation_prompt);
    const pairs = CASES.chat_cases.flatMap((full) => {
      const p = prompts.find((q) => !full.add_generation_prompt && JSON.stringify(q.messages) === JSON.stringify(full.messages.slice(0, -1)));
      return p ? [{ prompt: p, full }] : [];
    });
    expect(pairs.length).toBeGreaterThan(0);
    for (const { prompt, full } of pairs) {
      const ex = tokenizeConversation(tok, { messages: full.messages, source: 'case' }, 512, 512);
      expect([...ex.inputIds]).toEqual(full.ids);
      expect([...ex.labels]).toEqual(full.ids.map((id, t) => (t < prompt.ids.length ? IGNORE_INDEX : id)));
    }
  });

  it('truncates to maxLength and flags it', () => {
    const conv = examples[0] as Conversation;
    const full = tokenizeConversation(tok, conv, 512, 512);
    const cut = tokenizeConversation(tok, conv, 20, 512);
    expect(cut.truncated).toBe(true);
    expect(cut.inputIds).toEqual(full.inputIds.slice(0, 20));
    expect(cut.labels).toEqual(full.labels.slice(0, 20));
  });

  it('refuses ids outside the model vocabulary, naming the example', () => {
    expect(() => tokenizeConversation(tok, examples[0] as Conversation, 512, 300)).toThrow(/^story-titles\.train\.messages\.jsonl line 1: token id \d+ at position \d+ is outside the model's vocabulary \(vocab_size 300\)$/);
  });

  it('tokenizes a whole dataset (story-titles train: 300 examples, none cut at 512)', () => {
    const { examples: all, skipped } = tokenizeDataset(tok, dataset('story-titles.train.csv'), 512, 512);
    expect(all).toHaveLength(300);
    expect(skipped).toEqual([]);
    expect(all.filter((e) => e.truncated)).toEqual([]);
    expect(all.every((e) => e.labels[e.labels.length - 1] === 2 && e.labels[0] === IGNORE_INDEX)).toBe(true);
    expect(() => tokenizeDataset(tok, [], 1, 512)).toThrow('max length must be an integer ≥ 2, got 1');
  });
});

describe('templates that cannot be used', () => {
  const tj = json(`${MODELS}/stories260K-instruct/tokenizer.json`);
  const tc = json(`${MODELS}/stories260K-instruct/tokenizer_config.json`);
  const conv = dataset('story-titles.heldout.messages.jsonl')[0] as Conversation;

  it('a template whose generation prompt is not how it renders the answer is refused, naming the example', () => {
    const t = chatTokenizerFromJson(tj, { ...tc, chat_template: "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'Bot:' }}{% endif %}" }, 'odd');
    expect(() => tokenizeConversation(t, conv, 512, 512)).toThrow(
      'story-titles.heldout.messages.jsonl line 1: the generation prompt "Bot:" is not how the chat template renders assistant message 2, so the answer\'s start cannot be located',
    );
  });

  it("Qwen3's real template with a vocabulary where <|im_end|> is not special: single turn labels through the end; multi-turn is refused", () => {
    const qwen3 = readFileSync('/work/shared/configs/Qwen__Qwen3-0.6B/chat_template.jinja', 'utf8');
    const t = chatTokenizerFromJson(tj, { ...tc, chat_template: qwen3 }, 'qwen3');
    const one: ChatMessage[] = [{ role: 'user', content: 'Hi there' }, { role: 'assistant', content: 'Hello.' }];
    expect(t.render(one.slice(0, 1), true)).toBe('<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n');
    const ex = tokenizeConversation(t, { messages: one, source: 'q1' }, 512, 512);
    const start = [...ex.labels].findIndex((l) => l !== IGNORE_INDEX);
    expect([...ex.labels.subarray(start)]).toEqual([...ex.inputIds.subarray(start)]);
    expect(t.decode(ex.inputIds.subarray(start))).toBe('<think>\n\n</think>\n\nHello.<|im_end|>\n');
    const two: ChatMessage[] = [...one, { role: 'user', content: 'More' }, { role: 'assistant', content: 'Bye.' }];
    expect(() => tokenizeConversation(t, { messages: two, source: 'q2' }, 512, 512)).toThrow(
      'q2: the chat template emits no special end-of-turn token after assistant message 2 before the next message',
    );
  });

  it('a template that raises is reported with the example source', () => {
    const t = chatTokenizerFromJson(tj, { ...tc, chat_template: "{{ raise_exception('no chats here') }}" }, 'raiser');
    expect(() => tokenizeConversation(t, conv, 512, 512)).toThrow(/^story-titles\.heldout\.messages\.jsonl line 1: raiser: the chat template failed: .*no chats here/);
  });

  it('no chat template → a clear error; chat_template.jinja is used when the config has none', async () => {
    const { chat_template: template, ...noTemplate } = tc;
    const t = chatTokenizerFromJson(tj, noTemplate, 'bare');
    expect(() => t.render(conv.messages, false)).toThrow(TokenizerError);
    const files = new Map<string, Blob>([
      ['tokenizer.json', new Blob([JSON.stringify(tj)])],
      ['tokenizer_config.json', new Blob([JSON.stringify(noTemplate)])],
      ['chat_template.jinja', new Blob([template as string])],
    ]);
    const withJinja = await loadChatTokenizer({ name: 'jinja', files });
    expect(withJinja.render(conv.messages, false)).toBe(tok.render(conv.messages, false));
  });

  it('missing or malformed tokenizer files name the folder and the file', async () => {
    await expect(loadChatTokenizer({ name: 'm', files: new Map([['tokenizer.json', new Blob(['{}'])]]) })).rejects.toThrow('m: tokenizer_config.json is missing; the tokenizer needs tokenizer.json and tokenizer_config.json');
    await expect(loadChatTokenizer({ name: 'm', files: new Map([['tokenizer.json', new Blob(['{'])], ['tokenizer_config.json', new Blob(['{}'])]]) })).rejects.toThrow(/^m\/tokenizer\.json: not valid JSON/);
    expect(() => chatTokenizerFromJson({}, tc, 'm')).toThrow('m/tokenizer.json: no "model" member (is this a Hugging Face tokenizers file?)');
  });

  it('special tokens given as plain {content} objects are accepted', () => {
    const t = chatTokenizerFromJson(tj, { ...tc, eos_token: { content: '</s>', lstrip: false } }, 'obj');
    expect(t.eosTokenId).toBe(2);
  });
});
