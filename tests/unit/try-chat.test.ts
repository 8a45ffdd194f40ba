/**
 * Try it as a chat (issue 20 (g)): the messages of a turn (system prompt when not blank, earlier turns, the new
 * message) and how the exchange on screen becomes each model's own earlier turn (finished answers only).
 */
import { describe, expect, it } from 'vitest';
import { chatMessages } from '../../src/app/generate';
import { chatLength, commitExchange } from '../../src/store/tryChat';
import type { TryReply } from '../../src/worker/protocol';

const reply = (text: string): TryReply => ({ text, promptTokens: 3, newTokens: 2, stopped: true, tokensPerSec: 1 });

describe('Try it chat', () => {
  it('renders system, earlier turns and the new message in order; a blank system prompt is none', () => {
    expect(chatMessages('hi')).toEqual([{ role: 'user', content: 'hi' }]);
    expect(chatMessages('again', { system: '  ', turns: [{ user: 'hi', assistant: 'hello' }] })).toEqual([
      { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'again' },
    ]);
    expect(chatMessages('q', { system: 'Be brief.' })[0]).toEqual({ role: 'system', content: 'Be brief.' });
  });

  it('commits each finished answer to its own model; unfinished ones and a chat with nothing asked stay as they are', () => {
    const cols = { base: { reply: reply('B1') }, instruct: { reply: reply('I1') }, base_lora: { reply: null } };
    expect(commitExchange({}, null, cols)).toEqual({});
    const one = commitExchange({}, 'first', cols);
    expect(one).toEqual({ base: [{ user: 'first', assistant: 'B1' }], instruct: [{ user: 'first', assistant: 'I1' }] });
    const two = commitExchange(one, 'second', { instruct: { reply: reply('I2') } });
    expect(two.instruct).toEqual([{ user: 'first', assistant: 'I1' }, { user: 'second', assistant: 'I2' }]);
    expect(two.base).toEqual(one.base);
    expect(chatLength(two)).toBe(2);
    expect(chatLength({})).toBe(0);
  });
});
