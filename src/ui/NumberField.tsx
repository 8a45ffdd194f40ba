/**
 * A labelled number input that keeps the text being typed and commits only valid numbers.
 * The <label> is tied to the input (htmlFor), so the field can be found by its label.
 */
import { useEffect, useState } from 'react';

/** Props of {@link NumberField}. */
export interface NumberFieldProps {
  readonly id: string;
  readonly label: string;
  readonly value: number;
  readonly onChange: (v: number) => void;
  /** Reports whether the typed text is valid (so the form can block Start). */
  readonly onValidity: (id: string, ok: boolean) => void;
  readonly integer?: boolean;
  readonly min?: number;
  readonly max?: number;
  readonly hint?: string;
  readonly disabled?: boolean;
}

/** Why `text` is not acceptable, or null. */
function problem(text: string, p: NumberFieldProps): string | null {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v)) return 'enter a number';
  if (p.integer && !Number.isInteger(v)) return 'enter a whole number';
  if (p.min !== undefined && v < p.min) return `must be ≥ ${p.min}`;
  if (p.max !== undefined && v > p.max) return `must be ≤ ${p.max}`;
  return null;
}

/** One numeric setting. */
export function NumberField(p: NumberFieldProps) {
  const [draft, setDraft] = useState(String(p.value));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setDraft((d) => (Number(d) === p.value && d.trim() !== '' ? d : String(p.value)));
    setError(null);
    p.onValidity(p.id, true);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- resync only when the committed value changes
  }, [p.value]);
  return (
    <div className="field">
      <label htmlFor={p.id}>{p.label}</label>
      <input
        id={p.id}
        type="number"
        step={p.integer ? 1 : 'any'}
        min={p.min}
        max={p.max}
        value={draft}
        disabled={p.disabled}
        aria-invalid={error !== null}
        onChange={(e) => {
          const text = e.currentTarget.value;
          setDraft(text);
          const why = problem(text, p);
          setError(why);
          p.onValidity(p.id, why === null);
          if (why === null) p.onChange(Number(text));
        }}
      />
      {error ? <small className="field-error">{error}</small> : p.hint ? <small className="muted">{p.hint}</small> : null}
    </div>
  );
}
