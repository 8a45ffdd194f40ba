/**
 * Chat template options of a run (TrainSettings.chatTemplateKwargs, passed to the Instruct template when the data is
 * rendered): a control for `enable_thinking` when the template reads it (Qwen3), and the options as JSON. The dates
 * the template sees are fixed (date_string "26 Jul 2024"), so the training text does not depend on the day.
 */
import { useEffect, useState } from 'react';
import type { TrainSettings } from '../worker/client';

type Kwargs = NonNullable<TrainSettings['chatTemplateKwargs']>;

/** Props: current kwargs, the options the template reads, and the setter. */
export interface TemplateOptionsProps {
  readonly kwargs: Kwargs;
  readonly available: readonly string[];
  readonly onChange: (k: Kwargs) => void;
  readonly disabled: boolean;
}

/** The options fieldset. */
export function TemplateOptions({ kwargs, available, onChange, disabled }: TemplateOptionsProps) {
  const [text, setText] = useState(JSON.stringify(kwargs));
  const [error, setError] = useState<string | null>(null);
  const key = JSON.stringify(kwargs);
  useEffect(() => setText(key), [key]);
  const thinking = kwargs['enable_thinking'];
  const setThinking = (v: string): void => {
    const { enable_thinking: _drop, ...rest } = kwargs;
    onChange(v === 'default' ? rest : { ...rest, enable_thinking: v === 'true' });
  };
  const commit = (t: string): void => {
    try {
      const v: unknown = JSON.parse(t);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('expected a JSON object');
      for (const [k, x] of Object.entries(v)) if (x !== null && typeof x === 'object') throw new Error(`"${k}" must be a string, number, boolean or null`);
      setError(null);
      onChange(v as Kwargs);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <fieldset className="template-options" aria-label="Chat template options">
      <legend>Chat template</legend>
      {available.includes('enable_thinking') && (
        <div className="field">
          <label htmlFor="enable-thinking">enable_thinking</label>
          <select id="enable-thinking" value={thinking === undefined ? 'default' : String(thinking)} disabled={disabled} onChange={(e) => setThinking(e.currentTarget.value)}>
            <option value="default">template default</option>
            <option value="true">true</option>
            <option value="false">false (empty think block in the prompt)</option>
          </select>
        </div>
      )}
      <div className="field">
        <label htmlFor="template-kwargs">Template options (JSON)</label>
        <input id="template-kwargs" value={text} disabled={disabled} onChange={(e) => setText(e.currentTarget.value)} onBlur={(e) => commit(e.currentTarget.value)} aria-invalid={error !== null} />
        {error && <span className="error">{error}</span>}
      </div>
      <p className="muted">Rendered with date_string "26 Jul 2024" and a fixed strftime_now, so training text never depends on the day.</p>
    </fieldset>
  );
}
