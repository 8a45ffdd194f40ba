/**
 * writeFolderAtomically (src/cli/atomicDir.ts): a failure in the middle of a file (as when the disk fills up) leaves
 * no output folder and no temporary folder; a user's non-empty folder is refused untouched; success renames once.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { textOutputFile, writeFolderAtomically } from '../../src/cli/atomicDir';
import type { OutputFile } from '../../src/engine/graft/mergedModel';

const tmp = mkdtempSync(join(tmpdir(), 'shadowft-atomic-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A file that yields one part and then fails like a full disk. */
const failing: OutputFile = {
  name: 'model-00002-of-00002.safetensors',
  size: 8,
  parts: async function* () {
    yield new Uint8Array(4) as Uint8Array<ArrayBuffer>;
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  },
};

describe('writeFolderAtomically', () => {
  it('leaves nothing behind when a write fails half-way', async () => {
    const out = join(tmp, 'grafted model ü');
    await expect(writeFolderAtomically(out, [textOutputFile('config.json', '{}'), failing])).rejects.toThrow(/ENOSPC/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  });

  it('refuses a non-empty folder without touching it, writes nested files into an empty one', async () => {
    const mine = join(tmp, 'mine');
    mkdirSync(mine);
    writeFileSync(join(mine, 'notes.txt'), 'keep');
    await expect(writeFolderAtomically(mine, [textOutputFile('a.txt', 'x')])).rejects.toThrow(/is not empty \(notes\.txt\)/);
    expect(readdirSync(mine)).toEqual(['notes.txt']);
    const empty = join(tmp, 'empty');
    mkdirSync(empty);
    await writeFolderAtomically(empty, [textOutputFile('data/train.json', '[]'), textOutputFile('README.md', '# hi')]);
    expect(readFileSync(join(empty, 'data/train.json'), 'utf8')).toBe('[]');
    expect(readdirSync(tmp).sort()).toEqual(['empty', 'mine']);
  });
});
