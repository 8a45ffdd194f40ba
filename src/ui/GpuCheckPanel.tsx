/**
 * "Check this GPU": runs the golden fixtures bundled with the app (three tiny Llama/Qwen2/Qwen3 models with PyTorch
 * float64 goldens: logits, loss, every step-1 LoRA gradient, 3 AdamW steps, final loss, σ and merge) on the worker's
 * WebGPU adapter, the same check as `shadowft check-fixtures` and tests/gpu/fixtures.test.ts. Shows the adapter, a
 * table per model and the verdict ("373 passed, 0 failed"). Disabled while training (the device is shared).
 */
import { useStudio } from '../store';
import { checkTotals } from './checkGroups';
import { GpuCheckModel } from './GpuCheckModel';

/** The GPU check panel (button, adapter, per-model tables, verdict). */
export function GpuCheckPanel() {
  const check = useStudio((s) => s.gpuCheck);
  const start = useStudio((s) => s.startGpuCheck);
  const cancel = useStudio((s) => s.cancelGpuCheck);
  const gpuReady = useStudio((s) => s.gpu.status === 'ready');
  const training = useStudio((s) => s.run.status === 'running');
  const running = check.status === 'running';
  const why = !gpuReady ? 'WebGPU is needed.' : training ? 'Training is using the GPU; check it when training has finished.' : null;
  const { passed, failed } = checkTotals(check.models);
  const errored = check.models.filter((m) => m.status === 'error').length;
  const currentIndex = check.models.findIndex((m) => m.status === 'waiting' || m.status === 'running');
  const a = check.adapter;
  return (
    <div className="gpu-check" data-testid="gpu-check">
      <div className="row">
        <button type="button" onClick={() => void start()} disabled={running || training || !gpuReady}>
          Check this GPU
        </button>
        {running && (
          <button type="button" onClick={cancel}>
            Cancel check
          </button>
        )}
        <span className="muted">
          {why ?? 'Runs our kernels on three tiny models and compares logits, loss, LoRA gradients, 3 AdamW steps, σ and the merge with PyTorch goldens.'}
        </span>
      </div>
      {running && !a && <p className="muted">Starting the check…</p>}
      {a && (
        <p data-testid="gpu-check-adapter">
          Adapter: <b>{a.vendor || 'unknown vendor'}</b> {a.architecture} {a.description ? `(${a.description})` : ''}
          {a.isFallbackAdapter ? ' · fallback adapter (software)' : ''}
        </p>
      )}
      {check.models.map((m, i) => (
        <GpuCheckModel key={m.name} model={m} current={running && i === currentIndex} />
      ))}
      {running && (
        <p className="muted" data-testid="gpu-check-status">
          Checking… {passed} passed, {failed} failed so far.
        </p>
      )}
      {(check.status === 'done' || check.status === 'cancelled' || check.status === 'error') && (
        <p
          className={`status ${failed === 0 && errored === 0 && check.status === 'done' ? 'done' : 'error'}`}
          role="status"
          data-testid="gpu-check-verdict"
          data-passed={passed}
          data-failed={failed}
          data-errors={errored}
          data-outcome={check.status}
        >
          {check.status === 'cancelled' ? 'Cancelled: ' : ''}
          {passed} passed, {failed} failed
          {errored > 0 ? `, ${errored} model${errored > 1 ? 's' : ''} could not be checked` : ''}
          {check.seconds !== null ? ` in ${check.seconds.toFixed(1)} s` : ''}
          {check.error ? ` — ${check.error}` : ''}
        </p>
      )}
    </div>
  );
}
