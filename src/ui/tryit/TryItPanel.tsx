/**
 * Try it: a chat (system prompt, several turns; each model column keeps its own conversation) answered by every chosen model side by side with the same settings (temperature — 0 is greedy —,
 * top-p, seed, max new tokens), tokens streamed as they come, tokens/s per column and a copy button. "Use a held-out
 * prompt" fills the box with the next held-out user message. Models: Base, Instruct, Base + LoRA and Instruct +
 * Shadow-FT graft (after training or Compare, or with any adapter of the run history: TryAdapterPicker), Instruct +
 * conventional LoRA (after Compare).
 */
import { useCallback, useEffect, useState } from 'react';
import { useStudio } from '../../store';
import { templateBlocker } from '../../store/readiness';
import type { ChatTurn, TryItModel } from '../../worker/client';
import { NumberField } from '../NumberField';
import { TryColumnView } from './TryColumn';
import { TryAdapterPicker } from './TryAdapterPicker';
import { chatLength } from '../../store/tryChat';

const NO_TURNS: readonly ChatTurn[] = [];

/** The Try it section. */
export function TryItPanel() {
  const t = useStudio((s) => s.tryIt);
  const session = useStudio((s) => s.session);
  const runStatus = useStudio((s) => s.run.status);
  const compareView = useStudio((s) => s.compare.view);
  const refresh = useStudio((s) => s.refreshTryModels);
  const setPrompt = useStudio((s) => s.setTryPrompt);
  const setSettings = useStudio((s) => s.setTrySettings);
  const setSelected = useStudio((s) => s.setTrySelected);
  const setSystem = useStudio((s) => s.setTrySystem);
  const newChat = useStudio((s) => s.newTryChat);
  const nextHeldout = useStudio((s) => s.nextHeldoutPrompt);
  const start = useStudio((s) => s.startGenerate);
  const cancel = useStudio((s) => s.cancelGenerate);
  const gpuReady = useStudio((s) => s.gpu.status === 'ready');
  const [invalid, setInvalid] = useState<ReadonlySet<string>>(new Set());
  const onValidity = useCallback((id: string, ok: boolean) => setInvalid((p) => (p.has(id) === !ok ? p : ok ? new Set([...p].filter((x) => x !== id)) : new Set([...p, id]))), []);
  useEffect(() => {
    if (session?.pairReady) void refresh();
  }, [session, runStatus, compareView, refresh]);
  const blocker = templateBlocker(session);
  if (blocker !== null || !session) return <p className="muted">{blocker}</p>;
  const running = t.status === 'running';
  const s = t.settings;
  const toggle = (m: TryItModel, on: boolean): void => setSelected(on ? [...t.selected, m] : t.selected.filter((x) => x !== m));
  const shown = t.models.filter((m) => m.available && t.selected.includes(m.model));
  // Turns so far: the committed ones plus the exchange on screen.
  const turns = chatLength(t.chat) + (t.asked !== null && !running ? 1 : 0);
  return (
    <div>
      <div className="field">
        <label htmlFor="try-system">System prompt</label>
        <textarea id="try-system" rows={2} value={t.system} disabled={running} onChange={(e) => setSystem(e.currentTarget.value)} placeholder="Optional; the system message of the chat, the same for every model (blank: none)." />
      </div>
      <div className="field">
        <label htmlFor="try-prompt">Prompt</label>
        <textarea id="try-prompt" rows={3} value={t.prompt} disabled={running} onChange={(e) => setPrompt(e.currentTarget.value)} placeholder="The user message; it is rendered after the chat so far with the Instruct chat template and the generation prompt." />
      </div>
      <TryAdapterPicker disabled={running} />
      <div className="row">
        <button type="button" disabled={running || session.heldoutExamples === 0} onClick={() => void nextHeldout()}>
          Use a held-out prompt
        </button>
        {t.models.map((m) => (
          <label key={m.model} title={m.why ?? ''} className={m.available ? undefined : 'muted'}>
            <input type="checkbox" checked={m.available && t.selected.includes(m.model)} disabled={!m.available || running} onChange={(e) => toggle(m.model, e.currentTarget.checked)} /> {m.label}
            {m.why ? ` (${m.why})` : ''}
          </label>
        ))}
      </div>
      <div className="row">
        <NumberField id="try-max-new" label="Max new tokens" value={s.maxNewTokens} onChange={(v) => setSettings({ ...s, maxNewTokens: v })} onValidity={onValidity} integer min={1} disabled={running} />
        <NumberField id="try-temperature" label="Temperature" value={s.temperature} onChange={(v) => setSettings({ ...s, temperature: v })} onValidity={onValidity} min={0} hint="0 = greedy" disabled={running} />
        <NumberField id="try-top-p" label="Top-p" value={s.topP} onChange={(v) => setSettings({ ...s, topP: v })} onValidity={onValidity} min={0} max={1} disabled={running} />
        <NumberField id="try-seed" label="Sampling seed" value={s.seed} onChange={(v) => setSettings({ ...s, seed: v })} onValidity={onValidity} integer min={0} disabled={running} />
      </div>
      <div className="row">
        <button type="button" className="primary" disabled={running || !gpuReady || t.prompt.trim() === '' || invalid.size > 0 || shown.length === 0} onClick={() => void start()}>
          Generate
        </button>
        {running && (
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        )}
        <button type="button" disabled={running || turns === 0} onClick={newChat} title={turns === 0 ? 'nothing asked yet' : 'forget every model\'s earlier turns'}>
          New chat
        </button>
        <span className="muted" data-testid="try-turns">
          {turns === 0 ? 'New chat: each model column keeps its own conversation' : `${turns} turn${turns === 1 ? '' : 's'} so far: each model sees its own earlier answers`}
        </span>
        {t.message && <span className="muted">{t.message}</span>}
      </div>
      {t.error && (
        <p className="errors" role="alert">
          {t.error}
        </p>
      )}
      <div className="try-columns" data-testid="try-columns">
        {shown.map((m) => (
          <TryColumnView key={m.model} label={m.label} model={m.model} column={t.columns[m.model] ?? null} turns={t.chat[m.model] ?? NO_TURNS} asked={t.asked} />
        ))}
      </div>
    </div>
  );
}
