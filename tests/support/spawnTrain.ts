/** Runs `shadowft train` as a child process (bin/shadowft.mjs), optionally interrupted with SIGINT. */
import { spawn } from 'node:child_process';

/**
 * Spawns `node bin/shadowft.mjs train ...args`; when `interruptWhen` is given, sends SIGINT once it returns true
 * (polled every 20 ms). Resolves with the exit code (null when killed by a signal) and everything written to stderr.
 */
export function spawnTrain(args: readonly string[], interruptWhen?: () => boolean): Promise<{ code: number | null; err: string }> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['bin/shadowft.mjs', 'train', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.stdout.on('data', () => {});
    let timer: NodeJS.Timeout | undefined;
    if (interruptWhen) {
      timer = setInterval(() => {
        if (interruptWhen()) {
          clearInterval(timer);
          p.kill('SIGINT');
        }
      }, 20);
    }
    p.on('error', rej);
    p.on('close', (code) => {
      clearInterval(timer);
      res({ code, err });
    });
  });
}
