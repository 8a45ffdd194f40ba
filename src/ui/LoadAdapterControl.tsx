/**
 * "Load adapter": pick a PEFT adapter trained elsewhere (adapter_config.json + adapter_model.safetensors) and download
 * the loaded Instruct model merged with it. The worker checks the adapter's keys against the Instruct model first;
 * errors ("0 of N matched…") and warnings (adapter-name form read, target_modules without tensors) are shown here.
 */
import { useStudio } from '../store';
import { saveBlob } from './download';

/** The control; shown when an Instruct model is loaded. */
export function LoadAdapterControl() {
  const session = useStudio((s) => s.session);
  const exporting = useStudio((s) => s.exporting);
  const warnings = useStudio((s) => s.loadedAdapterWarnings);
  const merge = useStudio((s) => s.mergeLoadedAdapter);
  if (!session?.pairReady || !session.instruct) return null;
  const busy = exporting.kind !== null;
  return (
    <div className="load-adapter" data-testid="load-adapter">
      <label className="row">
        <span>
          Load adapter (adapter_config.json + adapter_model.safetensors) and download {session.instruct.name} merged with it:
        </span>
        <input
          type="file"
          multiple
          accept=".json,.safetensors"
          aria-label="Load adapter"
          disabled={busy}
          onChange={(e) => {
            const files = [...(e.currentTarget.files ?? [])];
            e.currentTarget.value = '';
            if (files.length) void merge(files).then((z) => z && saveBlob(z.blob, z.fileName));
          }}
        />
      </label>
      {warnings.length > 0 && (
        <ul className="warnings" data-testid="load-adapter-warnings">
          {warnings.map((w) => <li key={w}>{w}</li>)}
        </ul>
      )}
    </div>
  );
}
