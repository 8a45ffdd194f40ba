/**
 * Where the assistant's tokens are in ONE full render of a conversation, as character ranges of the rendered text.
 *
 * 1. Templates with `{% generation %}…{% endgeneration %}` blocks: the spans are exactly the text those blocks render
 *    (transformers `apply_chat_template(return_assistant_tokens_mask=True)`, which records the character offsets of
 *    each block with a Jinja extension). We get the same offsets by rendering a copy of the template whose tags emit
 *    private-use marker characters, and check that removing the markers gives the ordinary render.
 * 2. Other templates: for assistant message i, everything the template renders after its generation prompt through
 *    the end-of-turn token, i.e. the text the model must generate (what LLaMA-Factory trains). With
 *      F   = render(messages),  Q_i = render(messages[:i]),  P_i = render(messages[:i], add_generation_prompt=true)
 *    Q_i must be a prefix of F (earlier turns render the same once later turns exist), and the span starts at the
 *    longest common prefix of P_i and F: the generation prompt as far as this turn renders it (for Qwen3 with
 *    enable_thinking=false an earlier turn has no empty think block, so only "<|im_start|>assistant\n" of the
 *    prompt "<|im_start|>assistant\n<think>\n\n</think>\n\n" is matched). A probe render (the answer replaced by a
 *    marker) keeps that prefix from running into an answer that happens to start like the rest of the prompt.
 *    The span ends after the end-of-turn token: the first special token the template emits after the answer
 *    (found in the probe render, e.g. <|im_end|>, <|eot_id|>, <end_of_turn>, </s>), which must come before the next
 *    message. The newline some templates write after it ("<|im_end|>\n", "<end_of_turn>\n") is NOT labelled
 *    (LLaMA-Factory's templates do label it; the model never needs to generate it, generation stops at the token).
 *    A last turn whose template emits no special token after the answer is labelled through the end of the render.
 * A conversation whose spans cannot be located this way is refused with a {@link RowSkip} naming why.
 */
import type { ChatMessage } from '../dataset/types';
import type { ChatTokenizer } from './load';
import { chatTemplateOf, renderChat, type TemplateKwargs } from './render';

/** A conversation cannot be labelled; `reason` says why (the row is skipped and reported, never silently). */
export class RowSkip extends Error {
  override name = 'RowSkip';
}

/** A half-open character range [start, end) of the rendered text. */
export interface CharSpan {
  readonly start: number;
  readonly end: number;
}

/** The full render and its assistant spans (sorted, disjoint). */
export interface RenderedSpans {
  readonly text: string;
  readonly spans: readonly CharSpan[];
  /** 'generation' when the template's {% generation %} blocks gave the spans, else 'turns'. */
  readonly method: 'generation' | 'turns';
}

const GEN_START = '\uE000';
const GEN_END = '\uE001';
const PROBE_ANSWER = '\uE002';
const PROBE_NEXT = '\uE003';
const MARKERS = /[\uE000-\uE003]/;

/** `{%- generation -%}` / `{% endgeneration %}` tags (whitespace control kept). */
const GEN_TAG = /{%(-?)\s*(end)?generation\s*(-?)%}/g;

/** True when the template marks assistant text with {% generation %} blocks. */
export function hasGenerationBlocks(template: string): boolean {
  return new RegExp(GEN_TAG.source).test(template);
}

/**
 * The template with each generation tag replaced by a block that prints a marker character. The replacement is a
 * block tag pair ({% if true %}…{% endif %}), so trim_blocks / lstrip_blocks and `-` trim exactly as the tag did.
 */
function markedTemplate(template: string): string {
  return template.replace(GEN_TAG, (_all, l: string, end: string | undefined, r: string) => `{%${l} if true %}{{ '${end ? GEN_END : GEN_START}' }}{% endif ${r}%}`);
}

function lcp(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}

function generationSpans(tok: ChatTokenizer, messages: readonly ChatMessage[], kwargs: TemplateKwargs, template: string): RenderedSpans {
  const plain = renderChat(tok, messages, false, kwargs, template);
  const marked = renderChat(tok, messages, false, kwargs, markedTemplate(template));
  const spans: CharSpan[] = [];
  let text = '';
  let open = -1;
  for (const ch of marked) {
    if (ch === GEN_START) {
      if (open >= 0) throw new RowSkip('the chat template opens a {% generation %} block inside another one');
      open = text.length;
    } else if (ch === GEN_END) {
      if (open < 0) throw new RowSkip('the chat template closes a {% generation %} block that is not open');
      if (text.length > open) spans.push({ start: open, end: text.length });
      open = -1;
    } else text += ch;
  }
  if (open >= 0) throw new RowSkip('the chat template leaves a {% generation %} block open');
  if (text !== plain) throw new RowSkip('the chat template renders differently when its {% generation %} blocks are tracked');
  return { text, spans, method: 'generation' };
}

function turnSpan(tok: ChatTokenizer, messages: readonly ChatMessage[], i: number, full: string, kwargs: TemplateKwargs, template: string): CharSpan {
  const turn = `assistant message ${i + 1}`;
  const history = renderChat(tok, messages.slice(0, i), false, kwargs, template);
  if (!full.startsWith(history)) throw new RowSkip(`the chat template renders the turns before ${turn} differently once later turns exist, so its span cannot be located`);
  const prompt = renderChat(tok, messages.slice(0, i), true, kwargs, template);
  const next = messages[i + 1];
  const probeMessages = messages.map((m, k) => (k === i ? { ...m, content: PROBE_ANSWER } : k === i + 1 ? { ...m, content: PROBE_NEXT } : m));
  const probe = renderChat(tok, probeMessages, false, kwargs, template);
  const start = Math.min(lcp(prompt, full), lcp(prompt, probe));
  if (start < history.length) throw new RowSkip(`the generation prompt of ${turn} does not follow the turns before it in the render`);
  if (prompt.length > history.length && start === history.length) {
    throw new RowSkip(`the generation prompt ${JSON.stringify(prompt.slice(history.length))} is not how the chat template renders ${turn}, so the answer's start cannot be located`);
  }
  const at = probe.indexOf(PROBE_ANSWER);
  if (at < 0) throw new RowSkip(`the chat template does not render the text of ${turn}`);
  const stop = next ? probe.indexOf(PROBE_NEXT) : probe.length;
  let eot: string | null = null;
  let eotAt = Infinity;
  for (const s of tok.hf.all_special_tokens as string[]) {
    const k = s === '' ? -1 : probe.indexOf(s, at);
    if (k >= 0 && k < eotAt && (stop < 0 || k + s.length <= stop)) [eot, eotAt] = [s, k];
  }
  if (eot === null) {
    if (next) throw new RowSkip(`the chat template emits no special end-of-turn token after ${turn} before the next message`);
    return { start, end: full.length };
  }
  const content = messages[i]?.content ?? '';
  if (content.includes(eot)) throw new RowSkip(`${turn} contains the end-of-turn token ${eot} in its text`);
  const k = full.indexOf(eot, start);
  if (k < 0) throw new RowSkip(`the end-of-turn token ${eot} of ${turn} is missing from the render`);
  return { start, end: k + eot.length };
}

/**
 * Renders `messages` once and locates the assistant spans (see the file comment for the rules).
 * @param kwargs template options (e.g. {enable_thinking: false}); dates are fixed by renderChat
 * @throws TokenizerError when the template itself fails; RowSkip when the spans cannot be located (with the reason)
 */
export function assistantSpans(tok: ChatTokenizer, messages: readonly ChatMessage[], kwargs: TemplateKwargs = {}): RenderedSpans {
  const template = chatTemplateOf(tok);
  if (messages.some((m) => MARKERS.test(m.content))) throw new RowSkip('the text holds private-use characters U+E000..U+E003, which the studio reserves for locating assistant spans');
  if (hasGenerationBlocks(template)) return generationSpans(tok, messages, kwargs, template);
  const text = renderChat(tok, messages, false, kwargs, template);
  const spans: CharSpan[] = [];
  messages.forEach((m, i) => {
    if (m.role !== 'assistant') return;
    const s = turnSpan(tok, messages, i, text, kwargs, template);
    const prev = spans[spans.length - 1];
    if (prev && s.start < prev.end) throw new RowSkip(`the span of assistant message ${i + 1} overlaps the previous one`);
    spans.push(s);
  });
  return { text, spans, method: 'turns' };
}
