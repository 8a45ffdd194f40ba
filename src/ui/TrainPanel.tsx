/**
 * Train LoRA on Base: the GPU (and its fixture check), the settings form (defaults from the engine; saved and loaded as
 * LLaMA-Factory YAML), the run estimate and
 * schedule warnings, Start training / Cancel ("Cancelling…" at once), progress, the run history; leaving the page while
 * a run is active asks first.
 */
import { useCallback, useEffect, useState } from 'react';
import { useStudio } from '../store';
import { GpuCheckPanel } from './GpuCheckPanel';
import { GpuPanel } from './GpuPanel';
import { MemoryPlanPanel } from './MemoryPlanPanel';
import { SettingsForm } from './SettingsForm';
import { DatasetPreviewPanel } from './DatasetPreviewPanel';
import { TemplateOptions } from './TemplateOptions';
import { TrainProgress } from './TrainProgress';
import { RunEstimatePanel } from './RunEstimatePanel';
import { RunHistoryPanel } from './RunHistoryPanel';
import { trainBlocker } from '../store/readiness';
import { SettingsFile } from './SettingsFile';

/** A stable empty list (a selector returning a fresh [] would re-render forever). */
const NO_OPTIONS: readonly string[] = [];

/** The training section. */
export function TrainPanel() {
  const settings = useStudio((s) => s.settings);
  const setSettings = useStudio((s) => s.setSettings);
  const resetSettings = useStudio((s) => s.resetSettings);
  const hasDefaults = useStudio((s) => s.defaults !== null && s.session?.pairReady === true);
  const session = useStudio((s) => s.session);
  const run = useStudio((s) => s.run);
  const lastRun = useStudio((s) => s.runs.find((r) => r.kind !== 'compare') ?? null);
  const start = useStudio((s) => s.startTraining);
  const cancel = useStudio((s) => s.cancelTraining);
  const gpuReady = useStudio((s) => s.gpu.status === 'ready');
  const checking = useStudio((s) => s.gpuCheck.status === 'running');
  const planBlocks = useStudio((s) => s.memory.view !== null && (s.memory.view.settingsError !== null || !s.memory.view.plan.fits));
  const templateOptions = useStudio((s) => s.preview.data?.templateOptions ?? NO_OPTIONS);
  const refusal = useStudio((s) => s.preview.data?.refusal ?? null);
  // The estimate tokenises as the run does: with no trainable example there is nothing to start.
  const nothingToTrain = useStudio((s) => s.estimate.data?.trainExamples === 0);
  const [valid, setValid] = useState(true);
  const onValidChange = useCallback((v: boolean) => setValid(v), []);
  const running = run.status === 'running';
  // Leaving the page ends the run: the browser asks first (beforeunload).
  useEffect(() => {
    if (!running) return;
    const warn = (e: BeforeUnloadEvent): void => {
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [running]);
  const filesBlock = trainBlocker(session);
  const ready = filesBlock === null;
  const why = filesBlock !== null
    ? filesBlock
    : !gpuReady
        ? 'WebGPU is needed to train.'
        : checking
          ? 'The GPU check is running; train when it has finished.'
          : !valid
            ? 'Fix the highlighted settings.'
            : planBlocks
              ? 'Fix the settings above: they do not pass the checks or the memory plan.'
              : refusal;
  return (
    <div>
      <GpuPanel />
      <GpuCheckPanel />
      {session?.pairReady && (
        <p className="muted">
          LoRA on <b>{session.base?.name}</b> with the chat template of <b>{session.instruct?.name}</b>: {session.trainExamples} training
          examples{session.heldoutExamples > 0 ? `, ${session.heldoutExamples} held-out` : ''}.
        </p>
      )}
      {settings ? (
        <SettingsForm settings={settings} onChange={setSettings} onValidChange={onValidChange} disabled={running} />
      ) : (
        <p className="muted">The settings appear once a model pair is loaded.</p>
      )}
      {settings && (
        <TemplateOptions kwargs={settings.chatTemplateKwargs ?? {}} available={templateOptions} onChange={(k) => setSettings({ ...settings, chatTemplateKwargs: k })} disabled={running} />
      )}
      {settings && <SettingsFile disabled={running} />}
      {settings && <DatasetPreviewPanel />}
      {settings && <MemoryPlanPanel />}
      {settings && <RunEstimatePanel />}
      <div className="row">
        <button type="button" className="primary" onClick={() => void start()} disabled={running || checking || !ready || !gpuReady || !valid || planBlocks || refusal !== null || nothingToTrain || !settings}>
          Start training
        </button>
        {running && (
          <button type="button" onClick={cancel} disabled={run.cancelling}>
            {run.cancelling ? 'Cancelling…' : 'Cancel'}
          </button>
        )}
        <button type="button" onClick={resetSettings} disabled={running || !hasDefaults}>
          Reset to defaults
        </button>
        {why && !running && <span className="muted">{why}</span>}
      </div>
      <TrainProgress run={run} last={lastRun} />
      <RunHistoryPanel />
    </div>
  );
}
