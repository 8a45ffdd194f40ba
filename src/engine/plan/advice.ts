/**
 * Words for a memory plan: the breakdown shown before Start, what to lower when it does not fit (each suggestion
 * with the bytes it saves, from re-planning with that one setting changed), and the error runTraining throws.
 */
import type { ModelConfig } from '../../io/config/types';
import { formatBytes, planMemory, type MemoryPlan, type PlanLimits, type PlanSettings } from './memory';

/** Thrown by {@link requirePlanFits}; carries the plan and the suggestions. */
export class MemoryPlanError extends Error {
  override name = 'MemoryPlanError';
  constructor(
    readonly plan: MemoryPlan,
    readonly suggestions: readonly string[],
  ) {
    super(`This training run does not fit: ${plan.problems.join('; ')}.${suggestions.length ? ` Try: ${suggestions.join('; ')}.` : ''}`);
  }
}

/** The plan as lines of text: one per category, then the total against the budget and the largest buffer. */
export function describePlan(plan: MemoryPlan): string {
  const w = Math.max(...plan.lines.map((l) => l.label.length));
  const rows = plan.lines.map((l) => `${l.label.padEnd(w)}  ${formatBytes(l.bytes).padStart(11)}  ${l.detail}`);
  rows.push(`${'Total'.padEnd(w)}  ${formatBytes(plan.totalBytes).padStart(11)}  budget ${formatBytes(plan.budgetBytes)}${plan.fits ? '' : ' — does not fit'}`);
  rows.push(`${'Largest buffer'.padEnd(w)}  ${formatBytes(plan.largest.bytes).padStart(11)}  ${plan.largest.name}; limit ${formatBytes(plan.bindingLimit)}`);
  return rows.join('\n');
}

/**
 * What to lower, when the plan does not fit: each candidate (enable recompute, Batch size → 1, Max length halved,
 * Rank halved) is re-planned and listed with its saving, and marked "fits" when that change alone is enough.
 * @returns suggestions, most effective first (empty when the plan fits)
 */
export function planAdvice(cfg: ModelConfig, settings: PlanSettings, weightsDtypeBytes: number, limits: PlanLimits, plan: MemoryPlan, opts: { readonly vocabChunkRows?: number } = {}): string[] {
  if (plan.fits) return [];
  const tries: [string, PlanSettings][] = [];
  if (!settings.recompute) tries.push(['enable recompute', { ...settings, recompute: true }]);
  if (settings.batchSize > 1) tries.push([`lower Batch size ${settings.batchSize} → 1`, { ...settings, batchSize: 1 }]);
  if (settings.maxLength > 16) tries.push([`lower Max length ${settings.maxLength} → ${Math.floor(settings.maxLength / 2)}`, { ...settings, maxLength: Math.floor(settings.maxLength / 2) }]);
  if (settings.lora.r > 1) tries.push([`lower Rank ${settings.lora.r} → ${Math.floor(settings.lora.r / 2)}`, { ...settings, lora: { ...settings.lora, r: Math.floor(settings.lora.r / 2) } }]);
  const out: { text: string; saved: number; fits: boolean }[] = [];
  for (const [what, s] of tries) {
    const p = planMemory(cfg, s, weightsDtypeBytes, limits, plan.budgetBytes, opts);
    const saved = plan.totalBytes - p.totalBytes;
    if (saved <= 0 && p.largest.bytes >= plan.largest.bytes) continue;
    const parts = [saved > 0 ? `saves ${formatBytes(saved)}` : '', p.largest.bytes < plan.largest.bytes ? `largest buffer ${formatBytes(p.largest.bytes)}` : ''].filter(Boolean);
    out.push({ text: `${what} (${parts.join(', ')}${p.fits ? '; fits' : ''})`, saved, fits: p.fits });
  }
  out.sort((a, b) => Number(b.fits) - Number(a.fits) || b.saved - a.saved);
  const res = out.map((o) => o.text);
  if (plan.weightBytes > plan.budgetBytes) res.push(`the frozen weights alone need ${formatBytes(plan.weightBytes)}: raise the budget or use a smaller model`);
  return res;
}

/**
 * Throws when the plan does not fit, with the numbers and what to lower.
 * @throws MemoryPlanError
 */
export function requirePlanFits(cfg: ModelConfig, settings: PlanSettings, weightsDtypeBytes: number, limits: PlanLimits, plan: MemoryPlan, opts: { readonly vocabChunkRows?: number } = {}): void {
  if (!plan.fits) throw new MemoryPlanError(plan, planAdvice(cfg, settings, weightsDtypeBytes, limits, plan, opts));
}
