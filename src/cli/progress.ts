/**
 * Progress lines on stderr for long CLI commands: at most one update per 200 ms (and always the last one), as an
 * overwritten line on a terminal, plain lines (at most one per 10%) otherwise. stdout stays free for results.
 */

/** Formats bytes as e.g. "1.23 GB" (powers of 1000, like HF sizes). */
export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(2)} ${units[u]}`;
}

/**
 * "  ETA 1m05s" from bytes done/total and seconds elapsed (linear extrapolation); empty before any progress or when done.
 */
export function etaText(done: number, total: number, elapsedSec: number): string {
  if (done <= 0 || done >= total || elapsedSec <= 0) return '';
  const sec = Math.round((elapsedSec * (total - done)) / done);
  return `  ETA ${sec >= 60 ? `${Math.floor(sec / 60)}m${String(sec % 60).padStart(2, '0')}s` : `${sec}s`}`;
}

/** A progress reporter: call with (done, total, label); call end() once finished. */
export interface ProgressLine {
  update(done: number, total: number, label: string): void;
  end(): void;
}

/** Creates a stderr progress reporter prefixed with `what` (e.g. "σ", "merge"). */
export function progressLine(what: string, stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  const tty = stream.isTTY === true;
  let last = 0;
  let lastDecile = -1;
  let shown = false;
  const start = Date.now();
  return {
    update(done, total, label) {
      const frac = total > 0 ? done / total : 1;
      const now = Date.now();
      const eta = etaText(done, total, (now - start) / 1000);
      if (tty) {
        if (now - last < 200 && done < total) return;
        last = now;
        const line = `${what} ${(100 * frac).toFixed(1).padStart(5)}%  ${formatBytes(done)} / ${formatBytes(total)}${eta}  ${label}`;
        stream.write(`\r${line.slice(0, (stream.columns || 120) - 1).padEnd(Math.min(line.length, (stream.columns || 120) - 1))}\x1b[K`);
        shown = true;
      } else {
        const decile = Math.floor(frac * 10);
        if (decile === lastDecile) return;
        lastDecile = decile;
        stream.write(`${what} ${(100 * frac).toFixed(0)}%  ${formatBytes(done)} / ${formatBytes(total)}${eta}  ${label}\n`);
      }
    },
    end() {
      if (tty && shown) stream.write('\n');
    },
  };
}
