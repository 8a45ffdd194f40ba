/**
 * The stories260K demo pair and its story-titles rows as the GPU tests open them (shared/models, shared/datasets):
 * one place for the loading lines many tests repeated.
 */
import { openAsBlob } from 'node:fs';
import { openCheckpoint, type Checkpoint, type ModelFiles } from '../../src/io/checkpoint';
import { readModelConfig } from '../../src/io/config';
import type { ModelConfig } from '../../src/io/config/types';
import type { Conversation, PreferencePair, TokenizedExample } from '../../src/io/dataset/types';
import { readDatasetFile } from '../../src/io/dataset/parse';
import { loadChatTokenizer, type ChatTokenizer } from '../../src/io/tokenizer/load';
import { tokenizeDataset } from '../../src/io/tokenizer/labels';
import { preparePairSplit, type TokenizedPair } from '../../src/io/tokenizer/pairs';
import { modelFilesFromDir } from '../../src/node/files';

/** Folder of the demo pair. */
export const DEMO_MODELS = '../shared/models';
/** Folder of the demo datasets. */
export const DEMO_DATASETS = '../shared/datasets';

/** The opened demo pair: config (Base's; the Instruct's is the same), both checkpoints, the Instruct tokenizer. */
export interface DemoPair {
  readonly cfg: ModelConfig;
  readonly baseFiles: ModelFiles;
  readonly instructFiles: ModelFiles;
  readonly base: Checkpoint;
  readonly instruct: Checkpoint;
  readonly tok: ChatTokenizer;
}

/** Opens stories260K-base and stories260K-instruct. @throws when shared/models is missing */
export async function openDemoPair(): Promise<DemoPair> {
  const baseFiles = await modelFilesFromDir(`${DEMO_MODELS}/stories260K-base`);
  const instructFiles = await modelFilesFromDir(`${DEMO_MODELS}/stories260K-instruct`);
  const configFile = baseFiles.files.get('config.json');
  if (!configFile) throw new Error('stories260K-base has no config.json');
  const cfg = await readModelConfig(configFile, 'stories260K-base/config.json');
  return { cfg, baseFiles, instructFiles, base: await openCheckpoint(baseFiles), instruct: await openCheckpoint(instructFiles), tok: await loadChatTokenizer(instructFiles) };
}

/** The first `n` conversations of a demo dataset file (e.g. "story-titles.train.alpaca.json"). */
export async function demoConversations(file: string, n: number): Promise<Conversation[]> {
  return (await readDatasetFile(await openAsBlob(`${DEMO_DATASETS}/${file}`), file)).conversations.slice(0, n);
}

/** The first `n` preference pairs of a demo dataset file (e.g. "story-titles-pref.train.trl.jsonl"). */
export async function demoPairs(file: string, n: number): Promise<PreferencePair[]> {
  return (await readDatasetFile(await openAsBlob(`${DEMO_DATASETS}/${file}`), file)).pairs.slice(0, n);
}

/** The first `n` rows of a demo SFT file, tokenised with the pair's Instruct template and cut at `maxLength`. */
export async function demoExamples(pair: DemoPair, file: string, n: number, maxLength: number): Promise<TokenizedExample[]> {
  return tokenizeDataset(pair.tok, await demoConversations(file, n), maxLength, pair.cfg.vocabSize).examples;
}

/** The first `n` preference pairs of a demo file, tokenised with the pair's Instruct template (chosen and rejected). */
export async function demoPrefExamples(pair: DemoPair, file: string, n: number, maxLength: number): Promise<TokenizedPair[]> {
  return preparePairSplit(pair.tok, await demoPairs(file, n), [], maxLength, pair.cfg.vocabSize).examples;
}
