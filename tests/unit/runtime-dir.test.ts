/**
 * src/node/gpu.ts ensureRuntimeDir: a GPU command without a valid XDG_RUNTIME_DIR gets a private 0700 directory (so
 * libwayland-client, probed by some Vulkan drivers, does not print "XDG_RUNTIME_DIR is invalid or not set"); a valid
 * one and an absolute WAYLAND_DISPLAY are left alone.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureRuntimeDir } from '../../src/node/gpu';

const own = mkdtempSync(join(tmpdir(), 'shadowft-xdg-'));
afterAll(() => rmSync(own, { recursive: true, force: true }));

describe('ensureRuntimeDir', () => {
  it('sets a private directory when XDG_RUNTIME_DIR is unset or relative', () => {
    for (const env of [{} as NodeJS.ProcessEnv, { XDG_RUNTIME_DIR: 'run/user' } as NodeJS.ProcessEnv, { XDG_RUNTIME_DIR: join(own, 'missing') } as NodeJS.ProcessEnv]) {
      const dir = ensureRuntimeDir(env);
      expect(dir).not.toBeNull();
      expect(env.XDG_RUNTIME_DIR).toBe(dir);
      expect(statSync(dir as string).isDirectory()).toBe(true);
      expect(statSync(dir as string).mode & 0o077).toBe(0);
    }
  });

  it('keeps a valid XDG_RUNTIME_DIR and an absolute WAYLAND_DISPLAY', () => {
    const env = { XDG_RUNTIME_DIR: own } as NodeJS.ProcessEnv;
    expect(ensureRuntimeDir(env)).toBeNull();
    expect(env.XDG_RUNTIME_DIR).toBe(own);
    const way = { WAYLAND_DISPLAY: '/tmp/wayland-9' } as NodeJS.ProcessEnv;
    expect(ensureRuntimeDir(way)).toBeNull();
    expect(way.XDG_RUNTIME_DIR).toBeUndefined();
  });
});
