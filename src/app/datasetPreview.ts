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

/** One previewed row: the render cut into plain and labelled pieces. */
export interface PreviewRow {
  readonly file: string;
  readonly row: number;
  readonly pieces: readonly { readonly text: string; readonly labelled: boolean }[];
  /** Tokens of the render, and how many are labelled. */
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
    const pieces: { text: string; labelled: boolean }[] = [];
    let at = 0;
    for (const s of ex.charSpans) {
      if (s.start > at) pieces.push({ text: ex.text.slice(at, s.start), labelled: false });
      pieces.push({ text: ex.text.slice(s.start, s.end), labelled: true });
      at = s.end;
    }
    if (at < ex.text.length) pieces.push({ text: ex.text.slice(at), labelled: false });
    const labelledTokens = ex.tokenSpans.reduce((n, [a, b]) => n + b - a, 0);
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
