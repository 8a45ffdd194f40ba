/**
 * A sequential colour scale for σ: linear interpolation between five stops of matplotlib's viridis
 * (dark purple = most similar, yellow = least similar).
 */

const STOPS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** Colour of t ∈ [0, 1] (clamped) as "rgb(r, g, b)". */
export function viridis(t: number): string {
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(x));
  const f = x - i;
  const a = STOPS[i] as readonly [number, number, number];
  const b = STOPS[i + 1] as readonly [number, number, number];
  const c = (k: 0 | 1 | 2): number => Math.round(a[k] + (b[k] - a[k]) * f);
  return `rgb(${c(0)}, ${c(1)}, ${c(2)})`;
}

/** Maps v to [0, 1] over [min, max] (0.5 when the range is empty). */
export function normalise(v: number, min: number, max: number): number {
  return max > min ? (v - min) / (max - min) : 0.5;
}

/** The CSS linear-gradient of the scale, left (0) to right (1). */
export function viridisGradient(): string {
  return `linear-gradient(to right, ${STOPS.map((_, i) => viridis(i / (STOPS.length - 1))).join(', ')})`;
}
