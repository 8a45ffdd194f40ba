/**
 * Save / load the training settings as a LLaMA-Factory YAML (store/settingsYaml.ts; LlamaBoard's "save / load
 * arguments"). Loading fills the fields the file shares with the studio and lists the keys it ignored; a bad value
 * is shown naming the file and key, and the settings stay as they were.
 */
import { useState } from 'react';
import { useStudio } from '../store';
import { settingsFromYaml, settingsToYaml } from '../store/settingsYaml';
import { saveBlob } from './download';

/** The two buttons and what the last load said. */
export function SettingsFile({ disabled }: { disabled: boolean }) {
  const settings = useStudio((s) => s.settings);
  const setSettings = useStudio((s) => s.setSettings);
  const baseModel = useStudio((s) => s.session?.base?.name ?? null);
  const totalSteps = useStudio((s) => s.estimate.data?.totalSteps ?? null);
  const [note, setNote] = useState<{ ok: boolean; text: string; ignored: readonly string[] } | null>(null);
  if (!settings) return null;
  const ctx = { baseModel, totalSteps };
  const save = (): void => saveBlob(new Blob([settingsToYaml(settings, ctx)], { type: 'application/yaml' }), `${baseModel ?? 'shadowft'}-train-settings.yaml`);
  const load = async (f: File): Promise<void> => {
    try {
      const r = settingsFromYaml(await f.text(), settings, ctx, f.name);
      setSettings(r.settings);
      setNote({ ok: true, text: `Loaded ${f.name}.`, ignored: r.ignored });
    } catch (e) {
      setNote({ ok: false, text: e instanceof Error ? e.message : String(e), ignored: [] });
    }
  };
  return (
    <div className="settings-file" data-testid="settings-file">
      <div className="row">
        <button type="button" onClick={save} disabled={disabled}>
          Save settings (LLaMA-Factory YAML)
        </button>
        <label className={disabled ? 'button muted' : 'button'}>
          Load settings…
          <input
            type="file"
            accept=".yaml,.yml"
            hidden
            disabled={disabled}
            onChange={(e) => {
              const f = e.currentTarget.files?.[0];
              e.currentTarget.value = '';
              if (f) void load(f);
            }}
          />
        </label>
        {disabled && <span className="muted">Settings cannot change while a run is active.</span>}
      </div>
      {note && (
        <div data-testid="settings-file-note" className={note.ok ? 'muted' : 'errors'} role={note.ok ? 'status' : 'alert'}>
          {note.text}
          {note.ignored.length > 0 && (
            <>
              {' '}Ignored:
              <ul>
                {note.ignored.map((x) => <li key={x}>{x}</li>)}
              </ul>
            </>
          )}
        </div>
      )}
    </div>
  );
}
