/**
 * Variants of the bundled demo models (public/demo/stories260K-*, tied, BF16) built in memory for tests of model
 * loading: config.json members patched, tensors added or removed, the checkpoint rewritten with safetensorsBlob.
 */
import { openAsBlob, readFileSync } from 'node:fs';
import type { DroppedFile } from '../../src/io/folder';
import { openCheckpoint } from '../../src/io/checkpoint';
import { readTensorBytes, safetensorsBlob } from '../../src/io/safetensors';

const DEMO = 'public/demo';

/** A tensor to add: name, shape and BF16 bytes. */
export interface ExtraTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Uint8Array;
}

/** Options of {@link demoVariant}. */
export interface VariantOptions {
  /** Members merged into config.json. */
  readonly config?: Record<string, unknown>;
  readonly add?: readonly ExtraTensor[];
  readonly drop?: readonly string[];
}

/**
 * The files of public/demo/`model` as dropped under folder `folder` (e.g. "x/stories260K-instruct"), with `opts` applied.
 */
export async function demoVariant(model: 'stories260K-base' | 'stories260K-instruct', folder: string, opts: VariantOptions = {}): Promise<DroppedFile[]> {
  const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as Record<'base' | 'instruct', { name: string; files: string[] }>;
  const names = (model.endsWith('base') ? manifest.base : manifest.instruct).files;
  const files = new Map<string, Blob>();
  for (const f of names) files.set(f, await openAsBlob(`${DEMO}/${model}/${f}`));
  if (opts.config) {
    const cfg = JSON.parse(readFileSync(`${DEMO}/${model}/config.json`, 'utf8')) as Record<string, unknown>;
    files.set('config.json', new Blob([JSON.stringify({ ...cfg, ...opts.config })]));
  }
  if (opts.add || opts.drop) {
    const ck = await openCheckpoint({ name: model, files });
    const list = await Promise.all([...ck.tensors.values()].filter((l) => !opts.drop?.includes(l.info.name)).map(async (l) => ({ name: l.info.name, dtype: l.info.dtype, shape: l.info.shape, byteLength: l.info.end - l.info.begin, data: await readTensorBytes(l.file, l.info) })));
    for (const t of opts.add ?? []) list.push({ name: t.name, dtype: 'BF16', shape: t.shape, byteLength: t.data.byteLength, data: t.data });
    files.set('model.safetensors', safetensorsBlob(list));
  }
  return [...files].map(([f, file]) => ({ path: `${folder}/${f}`, file }));
}

/** The demo's embed_tokens bytes (BF16 [512, 64]) and a copy with one value changed. */
export async function demoEmbedding(model: 'stories260K-base' | 'stories260K-instruct'): Promise<{ same: Uint8Array; changed: Uint8Array; shape: number[] }> {
  const ck = await openCheckpoint({ name: model, files: new Map([['model.safetensors', await openAsBlob(`${DEMO}/${model}/model.safetensors`)]]) });
  const loc = ck.tensors.get('model.embed_tokens.weight');
  if (!loc) throw new Error('demo has no embed_tokens');
  const same = await readTensorBytes(loc.file, loc.info);
  const changed = same.slice();
  changed[1] = (changed[1] as number) ^ 0x01; // flip a bit of the first value's high byte
  return { same, changed, shape: [...loc.info.shape] };
}
