/**
 * A labelled number input that keeps the text being typed and commits only valid numbers.
 * The <label> is tied to the input (htmlFor), so the field can be found by its label.
 */
import { useEffect, useState } from 'react';
import { fieldProblem } from './fieldRules';

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
  /** Exclusive lower bound ("must be > 0"), e.g. a learning rate. */
  readonly above?: number;
  readonly max?: number;
  readonly hint?: string;
  readonly disabled?: boolean;
}

/** One numeric setting. */
export function NumberField(p: NumberFieldProps) {
  const [draft, setDraft] = useState(String(p.value));
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setDraft((d) => (Number(d) === p.value && d.trim() !== '' ? d : String(p.value)));
    // A value set from outside (defaults, a loaded configuration, a restored session) is checked too.
    const why = fieldProblem(String(p.value), p);
    setError(why);
    p.onValidity(p.id, why === null);
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
          const why = fieldProblem(text, p);
          setError(why);
          p.onValidity(p.id, why === null);
          if (why === null) p.onChange(Number(text));
        }}
      />
      {error ? <small className="field-error">{error}</small> : p.hint ? <small className="muted">{p.hint}</small> : null}
    </div>
  );
}
