/** Number formatting for the UI (pure functions). */

/** Bytes with a binary unit: "1.50 MiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(2)} ${units[u]}`;
}

/** A count with thousands separators: "1,234,567". */
export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A parameter count: "260K", "7.24B". */
export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** σ with 4 significant digits ("0.01638"); "–" for null. */
export function formatSigma(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : x.toPrecision(4);
}

/** A loss with 4 decimals. */
export function formatLoss(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(4);
}

/** Seconds as "m:ss" or "h:mm:ss". */
export function formatDuration(sec: number): string {
  if (!Number.isFinite(sec) || sec < 0) return '–';
  const s = Math.round(sec);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A percentage of done/total with one decimal ("42.0%"); "0%" when total is 0. */
export function formatPercent(done: number, total: number): string {
  return total > 0 ? `${((100 * done) / total).toFixed(1)}%` : '0%';
}

/** `n` and the noun, plural unless n is 1 ("1 batch", "3 batches"); `pluralForm` defaults to noun + "s" (+ "es" after s, x, ch, sh). */
export function plural(n: number, noun: string, pluralForm?: string): string {
  const many = pluralForm ?? (/(s|x|ch|sh)$/.test(noun) ? `${noun}es` : `${noun}s`);
  return `${n} ${n === 1 ? noun : many}`;
}

/** A learning-rate axis tick: 2e−4 rather than uPlot's default, which rounds such values to 0. */
export function lrTick(v: number): string {
  return v === 0 ? '0' : v.toExponential(1).replace(/\.0e/, 'e').replace('e-', 'e−');
}
