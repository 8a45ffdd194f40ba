/**
 * Which of two dropped models is the Base and which the Instruct: first from folder names ("instruct", "-it",
 * "chat" → Instruct; "base" → Base), then from the chat template (present in only one → that one is Instruct),
 * else the drop order with decidedBy "ambiguous" so the UI asks the user (who can always swap).
 */
import type { RecognizedModel } from './folder';

/** Base (the model LoRA is trained on) or Instruct (the model the LoRA is grafted onto). */
export type ModelRole = 'base' | 'instruct';

/** The assignment of two models to roles and what decided it. */
export interface RoleAssignment {
  readonly base: RecognizedModel;
  readonly instruct: RecognizedModel;
  readonly decidedBy: 'folder names' | 'chat template' | 'ambiguous';
}

/**
 * Role implied by a model/folder name, or null when the name says nothing or says both.
 * Instruct: contains "instruct" or "chat", or has "it" as a word ("gemma-3-270m-it"); Base: has "base" as a word.
 */
export function roleFromName(name: string): ModelRole | null {
  const n = name.toLowerCase();
  const words = n.split(/[^a-z0-9]+/);
  const instruct = n.includes('instruct') || n.includes('chat') || words.includes('it');
  const base = words.includes('base');
  if (instruct === base) return null;
  return instruct ? 'instruct' : 'base';
}

/** Assigns Base/Instruct to two recognised models (see the file comment for the rules). Never throws. */
export function assignRoles(a: RecognizedModel, b: RecognizedModel): RoleAssignment {
  const ra = roleFromName(a.files.name);
  const rb = roleFromName(b.files.name);
  if ((ra ?? rb) !== null && ra !== rb) {
    const aIsBase = ra === 'base' || rb === 'instruct';
    return aIsBase ? { base: a, instruct: b, decidedBy: 'folder names' } : { base: b, instruct: a, decidedBy: 'folder names' };
  }
  if (a.hasChatTemplate !== b.hasChatTemplate) {
    return a.hasChatTemplate ? { base: b, instruct: a, decidedBy: 'chat template' } : { base: a, instruct: b, decidedBy: 'chat template' };
  }
  return { base: a, instruct: b, decidedBy: 'ambiguous' };
}
