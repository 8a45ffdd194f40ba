/**
 * Nothing from a model name becomes a path, and transformers.js cannot fetch models: exported names are single
 * path components without separators or control characters; importing our tokenizer loader switches off
 * transformers.js' remote (Hub) and local (same-origin /models/) model loading.
 */
import { env } from '@huggingface/transformers';
import { describe, expect, it } from 'vitest';
import { safeFileName } from '../../src/engine/graft/fileName';
import { adapterFolderName, mergedFolderName } from '../../src/app/exports';
import '../../src/io/tokenizer/load';

describe('exported file names', () => {
  it('contain no path separators, reserved or control characters, and are never empty or dot-names', () => {
    expect(safeFileName('../../etc/passwd')).toBe('_.._etc_passwd');
    expect(safeFileName('a/b\\c:d*e?f"g<h>i|j')).toBe('a_b_c_d_e_f_g_h_i_j');
    expect(safeFileName('name\nwith\u0000ctl\u001b[31m\u0085')).toBe('name_with_ctl_[31m_');
    expect(safeFileName('evil\u202Egpj.exe')).toBe('evil_gpj.exe');
    expect(safeFileName('..')).toBe('model');
    expect(safeFileName('  ')).toBe('model');
    expect(safeFileName('.hidden')).toBe('hidden');
    expect(safeFileName('Qwen3-0.6B')).toBe('Qwen3-0.6B');
    for (const s of [safeFileName('a/../../b'), safeFileName('\\\\server\\share')]) {
      expect(s).not.toMatch(/[/\\]/);
      expect(s).not.toMatch(/^\.\.?$/);
    }
  });

  it('the export folder names are sanitised', () => {
    const t = { adapter: { settings: { r: 1, alpha: 1, dropout: 0, useRslora: false, targetModules: [] }, modules: new Map() }, baseModel: 'b', instructModel: '../x/y\n' };
    expect(adapterFolderName(t)).toBe('_x_y_-shadowft-lora');
    expect(mergedFolderName(t)).toBe('_x_y_-shadowft-merged');
  });
});

describe('transformers.js offline', () => {
  it('remote and local model loading are off once the tokenizer loader is imported', () => {
    expect(env.allowRemoteModels).toBe(false);
    expect(env.allowLocalModels).toBe(false);
  });
});
