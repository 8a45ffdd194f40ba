/**
 * Model and pair identity (src/io/identity.ts): equal for the same files, different when a file's size, time,
 * config.json or safetensors header changes under the same names; the session exposes it and a re-drop of changed
 * weights under the same folder names gets a new pair identity. Digests are checked against node:crypto's SHA-256.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { digestHex, modelIdentity, SAMPLE_BLOCKS, SAMPLE_BYTES, pairIdentity, unorderedPairIdentity } from '../../src/io/identity';
import { Session } from '../../src/app/session';
import type { ModelFiles } from '../../src/io/checkpoint';

const DEMO = 'public/demo';
const manifest = JSON.parse(readFileSync(`${DEMO}/manifest.json`, 'utf8')) as { base: { name: string; files: string[] }; instruct: { name: string; files: string[] } };
const T0 = 1_700_000_000_000;

function folder(name: string, over: Record<string, { bytes?: Uint8Array; time?: number }> = {}): ModelFiles {
  const m = name === manifest.base.name ? manifest.base : manifest.instruct;
  const files = new Map<string, Blob>();
  for (const f of m.files) {
    const bytes = over[f]?.bytes ?? new Uint8Array(readFileSync(`${DEMO}/${m.name}/${f}`));
    files.set(f, new File([bytes as Uint8Array<ArrayBuffer>], f, { lastModified: over[f]?.time ?? T0 }));
  }
  return { name, files };
}

describe('io/identity', () => {
  it('digestHex is SHA-256', async () => {
    const b = new TextEncoder().encode('shadow-ft');
    expect(await digestHex(b)).toBe(createHash('sha256').update(b).digest('hex'));
  });

  it('is stable for the same files and ignores the folder name', async () => {
    const a = await modelIdentity(folder(manifest.base.name));
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await modelIdentity(folder(manifest.base.name))).toBe(a);
    expect(await modelIdentity({ ...folder(manifest.base.name), name: 'renamed' })).toBe(a);
    expect(await modelIdentity(folder(manifest.instruct.name))).not.toBe(a);
  });

  it('changes with a file time, a file size, config.json or the safetensors header', async () => {
    const a = await modelIdentity(folder(manifest.base.name));
    const st = new Uint8Array(readFileSync(`${DEMO}/${manifest.base.name}/model.safetensors`));
    expect(await modelIdentity(folder(manifest.base.name, { 'model.safetensors': { time: T0 + 1 } }))).not.toBe(a);
    const n = Number(new DataView(st.buffer, st.byteOffset).getBigUint64(0, true));
    // same size and time: a changed byte in a sampled block (the last byte) is noticed …
    const last = st.slice();
    last[last.length - 1] = (last[last.length - 1] as number) ^ 1;
    expect(await modelIdentity(folder(manifest.base.name, { 'model.safetensors': { bytes: last } }))).not.toBe(a);
    // … one between the sampled blocks is not (documented: not all tensor data is read) …
    const span = st.length - 8 - n;
    expect(span).toBeGreaterThan(SAMPLE_BLOCKS * SAMPLE_BYTES);
    const between = st.slice();
    between[8 + n + SAMPLE_BYTES + 10] = (between[8 + n + SAMPLE_BYTES + 10] as number) ^ 1;
    expect(await modelIdentity(folder(manifest.base.name, { 'model.safetensors': { bytes: between } }))).toBe(a);
    // … and a header change of the same length is.
    const header = new TextDecoder().decode(st.subarray(8, 8 + n));
    const i = header.indexOf('"shape"');
    expect(i).toBeGreaterThan(0);
    const changedHeader = st.slice();
    changedHeader[8 + i + 1] = 'S'.charCodeAt(0); // "shape" → "Shape": same length, another header
    expect(await modelIdentity(folder(manifest.base.name, { 'model.safetensors': { bytes: changedHeader } }))).not.toBe(a);
    const cfg = JSON.parse(readFileSync(`${DEMO}/${manifest.base.name}/config.json`, 'utf8')) as Record<string, unknown>;
    const cfgBytes = new TextEncoder().encode(JSON.stringify({ ...cfg, rms_norm_eps: 1e-6 }));
    expect(await modelIdentity(folder(manifest.base.name, { 'config.json': { bytes: cfgBytes } }))).not.toBe(a);
    expect(await modelIdentity(folder(manifest.base.name, { 'model.safetensors': { bytes: new Uint8Array([...st, 0]) } }))).not.toBe(a);
  });

  it('pair identities: ordered for roles, unordered for σ', () => {
    expect(pairIdentity('a', 'b')).not.toBe(pairIdentity('b', 'a'));
    expect(unorderedPairIdentity('a', 'b')).toBe(unorderedPairIdentity('b', 'a'));
  });

  it('the session summary carries the pair identity; re-dropping changed weights under the same names changes it', async () => {
    const drop = (m: ModelFiles) => [...m.files].map(([p, file]) => ({ path: `${m.name}/${p}`, file }));
    const s = new Session();
    const first = await s.add([...drop(folder(manifest.base.name)), ...drop(folder(manifest.instruct.name))]);
    expect(first.pairId).toBe(pairIdentity(first.base?.identity ?? '', first.instruct?.identity ?? ''));
    const again = await s.add(drop(folder(manifest.base.name)));
    expect(again.pairId).toBe(first.pairId);
    const changed = await s.add(drop(folder(manifest.base.name, { 'model.safetensors': { time: T0 + 60_000 } })));
    expect(changed.base?.name).toBe(first.base?.name);
    expect(changed.pairId).not.toBe(first.pairId);
    expect(changed.instruct?.identity).toBe(first.instruct?.identity);
  });
});
