/**
 * The dataset preview of the studio: the first rows rendered with the Instruct chat template exactly as training
 * renders them (io/tokenizer/prepare), the labelled spans, token counts, how many rows Max length truncates, and the
 * kept/skipped counts with reasons. Also the Instruct tokenizer, loaded once per Instruct model.
 */
import type { SkippedRow } from '../io/dataset/types';
import { loadChatTokenizer, type ChatTokenizer } from '../io/tokenizer/load';
import { MAX_SKIPPED_FRACTION, prepareSplit, refusalOf } from '../io/tokenizer/prepare';
import { chatTemplateOf, templateOptionsOf } from '../io/tokenizer/render';
import type { TrainSettings } from '../engine/train/types';
import type { Session } from './session';

/** Tokenizers by the dropped tokenizer_config.json Blob (stable across re-recognitions), with the other files' Blobs. */
const tokenizers = new WeakMap<Blob, { readonly deps: readonly (Blob | undefined)[]; readonly tok: Promise<ChatTokenizer> }>();
const DEPS = ['tokenizer.json', 'chat_template.jinja', 'chat_template.json'];

/**
 * The Instruct model's tokenizer, built once per dropped set of tokenizer files.
 * @throws as loadChatTokenizer, or when no pair is loaded
 */
export function instructTokenizer(session: Session): Promise<ChatTokenizer> {
  const files = session.requirePair().instruct.model.files;
  const key = files.files.get('tokenizer_config.json');
  if (!key) return loadChatTokenizer(files);
  const deps = DEPS.map((f) => files.files.get(f));
  const hit = tokenizers.get(key);
  if (hit && hit.deps.every((d, i) => d === deps[i])) return hit.tok;
  const tok = loadChatTokenizer(files);
  tokenizers.set(key, { deps, tok });
  tok.catch(() => tokenizers.delete(key));
  return tok;
}

/** A piece of a previewed render: labelled (trained on) or not, or cut (past Max length: not trained, never labelled). */
export interface PreviewPiece {
  readonly text: string;
  readonly labelled: boolean;
  readonly cut: boolean;
}

/**
 * The first character of `text` whose token falls past `maxLength` tokens (binary search over prefixes: the largest
 * prefix that encodes to at most maxLength tokens). Approximate by at most one token where a token spans the cut.
 */
function cutCharOf(tok: ChatTokenizer, text: string, maxLength: number): number {
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (tok.encode(text.slice(0, mid), false).length <= maxLength) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** One previewed row: the render cut into plain, labelled and cut (past Max length) pieces. */
export interface PreviewRow {
  readonly file: string;
  readonly row: number;
  readonly pieces: readonly PreviewPiece[];
  /** Tokens of the render, and how many labelled tokens fall within Max length (the ones trained on). */
  readonly tokens: number;
  readonly labelledTokens: number;
  readonly truncated: boolean;
}

/** What the Data panel shows for the current settings. */
export interface DatasetPreview {
  readonly rows: readonly PreviewRow[];
  readonly kept: number;
  readonly skipped: number;
  /** The first skipped rows with their reasons (parser and labelling). */
  readonly skippedRows: readonly SkippedRow[];
  /** Kept rows longer than Max length (cut in training). */
  readonly truncatedRows: number;
  readonly maxLength: number;
  /** Template options the Instruct template reads (e.g. ["enable_thinking"]). */
  readonly templateOptions: readonly string[];
  /** Why a run would refuse (nothing left / too many skipped), or null. */
  readonly refusal: string | null;
  readonly maxSkippedFraction: number;
}

/**
 * Renders and labels the ticked datasets (both splits) as a run with `settings` would, and returns the first
 * `count` training rows.
 * @throws Error when no pair is loaded; TokenizerError when the tokenizer or template is unusable
 */
export async function previewFor(session: Session, settings: TrainSettings, count = 3): Promise<DatasetPreview> {
  const pair = session.requirePair();
  const tok = await instructTokenizer(session);
  const vocab = Math.min(pair.base.config.vocabSize, pair.instruct.config.vocabSize);
  const kwargs = settings.chatTemplateKwargs ?? {};
  const train = prepareSplit(tok, session.conversations('train'), session.skippedRows('train'), settings.maxLength, vocab, kwargs);
  const heldout = prepareSplit(tok, session.conversations('heldout'), session.skippedRows('heldout'), settings.maxLength, vocab, kwargs);
  const rows = train.examples.slice(0, count).map((ex): PreviewRow => {
    // Characters from `cutAt` on are past Max length: never seen in training, so never shown as labelled.
    const cutAt = ex.truncated ? cutCharOf(tok, ex.text, settings.maxLength) : ex.text.length;
    const pieces: PreviewPiece[] = [];
    const push = (a: number, b: number, labelled: boolean): void => {
      if (a < Math.min(b, cutAt)) pieces.push({ text: ex.text.slice(a, Math.min(b, cutAt)), labelled, cut: false });
      if (Math.max(a, cutAt) < b) pieces.push({ text: ex.text.slice(Math.max(a, cutAt), b), labelled: false, cut: true });
    };
    let at = 0;
    for (const s of ex.charSpans) {
      push(at, s.start, false);
      push(s.start, s.end, true);
      at = s.end;
    }
    push(at, ex.text.length, false);
    const len = ex.inputIds.length;
    const labelledTokens = ex.tokenSpans.reduce((n, [a, b]) => n + Math.max(0, Math.min(b, len) - a), 0);
    const [file, row] = /^(.*) (?:row|line|item) (\d+)$/.exec(ex.source)?.slice(1) ?? [ex.source, '0'];
    return { file: file as string, row: Number(row), pieces, tokens: ex.fullLength, labelledTokens, truncated: ex.truncated };
  });
  const all = [...train.examples, ...heldout.examples];
  const skipped = [...train.skipped, ...heldout.skipped];
  return {
    rows,
    kept: all.length,
    skipped: skipped.length,
    skippedRows: skipped.slice(0, 20),
    truncatedRows: all.filter((e) => e.truncated).length,
    maxLength: settings.maxLength,
    templateOptions: templateOptionsOf(chatTemplateOf(tok)),
    refusal: refusalOf(train, 'training') ?? (heldout.rows > 0 ? refusalOf(heldout, 'held-out') : null),
    maxSkippedFraction: MAX_SKIPPED_FRACTION,
  };
}
