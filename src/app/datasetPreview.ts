/**
 * The dataset preview of the studio: the first rows rendered with the Instruct chat template exactly as training
 * renders them (io/tokenizer/prepare), the labelled spans, token counts, how many rows Max length truncates, and the
 * kept/skipped counts with reasons; for preference files the first pairs, each with its chosen and its rejected
 * render and their labelled answers (io/tokenizer/pairs). Also the Instruct tokenizer, loaded once per Instruct model.
 */
import type { DatasetKind, SkippedRow } from '../io/dataset/types';
import { loadChatTokenizer, type ChatTokenizer } from '../io/tokenizer/load';
import type { LabelledExample } from '../io/tokenizer/labels';
import { preparePairSplit } from '../io/tokenizer/pairs';
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

/** One previewed preference pair: the chosen and the rejected render, each with its labelled answer. */
export interface PreviewPair {
  readonly file: string;
  readonly row: number;
  readonly chosen: PreviewRow;
  readonly rejected: PreviewRow;
}

/** What the Data panel shows for the current settings. */
export interface DatasetPreview {
  /** Kind of the ticked data: 'mixed' when SFT and preference files are both ticked; null when nothing is. */
  readonly kind: DatasetKind | 'mixed' | null;
  readonly rows: readonly PreviewRow[];
  /** The first preference pairs (empty for SFT data). */
  readonly pairs: readonly PreviewPair[];
  /** Conversations plus pairs kept (both splits). */
  readonly kept: number;
  /** Of `kept`, the rows (pairs for preference data) of the held-out split. */
  readonly keptHeldout: number;
  readonly skipped: number;
  /** The first skipped rows with their reasons (parser and labelling). */
  readonly skippedRows: readonly SkippedRow[];
  /** Kept rows longer than Max length (cut in training); a pair counts each cut sequence. */
  readonly truncatedRows: number;
  readonly maxLength: number;
  /** Template options the Instruct template reads (e.g. ["enable_thinking"]). */
  readonly templateOptions: readonly string[];
  /** Why a run would refuse (nothing left / too many skipped), or null. */
  readonly refusal: string | null;
  readonly maxSkippedFraction: number;
}

/** The render of `ex` cut into plain and labelled pieces, with its counts. */
function previewRow(tok: ChatTokenizer, maxLength: number, ex: LabelledExample): PreviewRow {
  // Characters from `cutAt` on are past Max length: never seen in training, so never shown as labelled.
  const cutAt = ex.truncated ? cutCharOf(tok, ex.text, maxLength) : ex.text.length;
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
}

/** Why ticking both kinds refuses (a run trains one stage: SFT conversations or DPO pairs). */
export const MIXED_KINDS_REFUSAL = 'Both SFT and preference (chosen/rejected) files are ticked; a run trains one kind: untick the files of the other kind.';

/**
 * Renders and labels the ticked datasets (both splits) as a run with `settings` would, and returns the first
 * `count` training rows (SFT) and the first `count` training pairs (preference).
 * @throws Error when no pair is loaded; TokenizerError when the tokenizer or template is unusable
 */
export async function previewFor(session: Session, settings: TrainSettings, count = 3): Promise<DatasetPreview> {
  const pair = session.requirePair();
  const tok = await instructTokenizer(session);
  const vocab = Math.min(pair.base.config.vocabSize, pair.instruct.config.vocabSize);
  const kwargs = settings.chatTemplateKwargs ?? {};
  // Parser skips of preference files are counted with the pairs, the others with the SFT rows.
  const prefFiles = new Set(session.current().datasets.filter((d) => d.kind === 'preference').map((d) => d.path));
  const skips = (split: 'train' | 'heldout', pref: boolean): SkippedRow[] => session.skippedRows(split).filter((s) => prefFiles.has(s.file) === pref);
  const sft = (split: 'train' | 'heldout') => prepareSplit(tok, session.conversations(split), skips(split, false), settings.maxLength, vocab, kwargs);
  const prefs = (split: 'train' | 'heldout') => preparePairSplit(tok, session.pairs(split), skips(split, true), settings.maxLength, vocab, kwargs);
  const [train, heldout, trainPairs, heldoutPairs] = [sft('train'), sft('heldout'), prefs('train'), prefs('heldout')];
  const hasSft = train.rows + heldout.rows > 0;
  const hasPairs = trainPairs.rows + heldoutPairs.rows > 0;
  const kind = hasSft && hasPairs ? 'mixed' : hasPairs ? 'preference' : hasSft ? 'sft' : null;
  const pairRows = [...trainPairs.examples, ...heldoutPairs.examples];
  const sequences = [...train.examples, ...heldout.examples, ...pairRows.flatMap((p) => [p.chosen, p.rejected])];
  const skipped = [...train.skipped, ...heldout.skipped, ...trainPairs.skipped, ...heldoutPairs.skipped];
  const [tr, he] = kind === 'preference' ? [trainPairs, heldoutPairs] : [train, heldout];
  return {
    kind,
    rows: train.examples.slice(0, count).map((ex) => previewRow(tok, settings.maxLength, ex)),
    pairs: trainPairs.examples.slice(0, count).map((p): PreviewPair => ({ file: p.file, row: p.row, chosen: previewRow(tok, settings.maxLength, p.chosen), rejected: previewRow(tok, settings.maxLength, p.rejected) })),
    kept: train.examples.length + heldout.examples.length + pairRows.length,
    keptHeldout: heldout.examples.length + heldoutPairs.examples.length,
    skipped: skipped.length,
    skippedRows: skipped.slice(0, 20),
    truncatedRows: sequences.filter((e) => e.truncated).length,
    maxLength: settings.maxLength,
    templateOptions: templateOptionsOf(chatTemplateOf(tok)),
    refusal: kind === 'mixed' ? MIXED_KINDS_REFUSAL : (refusalOf(tr, 'training') ?? (he.rows > 0 ? refusalOf(he, 'held-out') : null)),
    maxSkippedFraction: MAX_SKIPPED_FRACTION,
  };
}
