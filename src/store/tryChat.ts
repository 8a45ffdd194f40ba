/**
 * Try it as a chat (issue 20 (g)): each model column keeps its own conversation — the earlier turns with its own
 * answers — under one system prompt; the next message is rendered after them with the Instruct chat template
 * (app/generate.ts chatMessages). The exchange on screen (the message asked and each column's answer) becomes a
 * turn when the next message is sent; an answer that did not finish (cancelled, failed, still streaming) never does.
 * Pure functions over the store's Try it state.
 */
import type { ChatTurn, TryItModel, TryReply } from '../worker/client';

/** Each model's earlier turns, oldest first. */
export type TryChat = Readonly<Partial<Record<TryItModel, readonly ChatTurn[]>>>;

/**
 * The chat with the exchange on screen committed: for every column with a finished answer, {user: `asked`,
 * assistant: the answer} appended to that model's turns. Unchanged when nothing was asked yet.
 */
export function commitExchange(chat: TryChat, asked: string | null, columns: Readonly<Partial<Record<TryItModel, { readonly reply: TryReply | null }>>>): TryChat {
  if (asked === null) return chat;
  const out: Partial<Record<TryItModel, readonly ChatTurn[]>> = { ...chat };
  for (const [m, c] of Object.entries(columns) as [TryItModel, { readonly reply: TryReply | null } | undefined][]) {
    if (c?.reply) out[m] = [...(chat[m] ?? []), { user: asked, assistant: c.reply.text }];
  }
  return out;
}

/** Number of turns of the longest conversation (0 for a new chat). */
export function chatLength(chat: TryChat): number {
  return Math.max(0, ...Object.values(chat).map((t) => t?.length ?? 0));
}
