/**
 * Compare (one click): Shadow-FT (LoRA on Base, grafted onto Instruct) against conventional LoRA on Instruct with the
 * current training settings, then five models measured on the held-out split. Options: the check regex (pre-filled
 * `^Title: ` for the bundled demo, whose answers start with a Title line), eval prompts, answer tokens. Shows both
 * loss curves, the results table with its wording, CSV / JSON downloads and either adapter as a PEFT zip.
 */
import { CompareEstimateLine, CompareProgressBars } from './CompareProgress';
import { CompareResume } from './CompareResume';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useStudio } from '../../store';
import { demoCheckRegex } from '../../store/demo';
import { trainBlocker } from '../../store/readiness';
import { saveBlob } from '../download';
import { NumberField } from '../NumberField';
import { CompareChart } from './CompareChart';
import { compareCsv, compareJson } from './compareCsv';
import { CompareTable } from './CompareTable';

/** Why the regex does not compile, or null. */
function regexProblem(pattern: string): string | null {
  try {
    new RegExp(pattern);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The Compare section. */
export function ComparePanel() {
  const settings = useStudio((s) => s.settings);
  const session = useStudio((s) => s.session);
  const options = useStudio((s) => s.compareOptions);
  const setOptions = useStudio((s) => s.setCompareOptions);
  const c = useStudio((s) => s.compare);
  const start = useStudio((s) => s.startCompare);
  const cancel = useStudio((s) => s.cancelCompare);
  const exportAdapter = useStudio((s) => s.exportCompareAdapter);
  const gpuReady = useStudio((s) => s.gpu.status === 'ready');
  const trainingRuns = useStudio((s) => s.run.status === 'running');
  const [invalid, setInvalid] = useState<ReadonlySet<string>>(new Set());
  const onValidity = useCallback((id: string, ok: boolean) => setInvalid((p) => (p.has(id) === !ok ? p : ok ? new Set([...p].filter((x) => x !== id)) : new Set([...p, id]))), []);
  // The demo's task pre-fills its check once per loaded pair; a value the user typed is kept.
  const prefilled = useRef<string | null>(null);
  useEffect(() => {
    const re = demoCheckRegex(session);
    const key = session?.base && session.instruct ? `${session.base.name}|${session.instruct.name}` : null;
    if (re !== null && key !== prefilled.current && options.checkRegex === '') {
      prefilled.current = key;
      setOptions({ ...options, checkRegex: re });
    }
  }, [session, options, setOptions]);
  const running = c.status === 'running';
  const regexError = regexProblem(options.checkRegex);
  const filesBlock = trainBlocker(session);
  const why = filesBlock !== null
    ? filesBlock
    : session?.heldoutExamples === 0
        ? 'Compare needs a held-out dataset (a file whose name marks it as held-out).'
        : !gpuReady
          ? 'WebGPU is needed.'
          : trainingRuns
            ? 'Training is running; compare when it has finished.'
            : regexError
              ? `Check regex: ${regexError}`
              : invalid.size
                ? 'Fix the highlighted fields.'
                : null;
  const view = c.view;
  // Why the adapter downloads cannot act (a full-parameter comparison trains no adapter; a restored one may not have kept them).
  const adapterBlock = view?.result.finetuning_type === 'full'
    ? 'A full-parameter comparison has no adapters: every weight was tuned (npx shadowft compare --finetuning-type full --write-merged writes the grafted Instruct).'
    : c.restored === true && !c.adapterFiles ? 'run Compare again: this comparison\'s adapters were not kept' : null;
  return (
    <div>
      <p className="muted">
        Trains twice with the training settings above (their Stage and Fine-tuning type: LoRA SFT, DPO, or full-parameter) — same seed, data order and initialisation — on Base (Shadow-FT, grafted onto Instruct) and on Instruct
        (conventional), one after the other, then measures Instruct, both tuned Instructs, Base and Base + LoRA on the held-out split.
      </p>
      <div className="row">
        <div className="field">
          <label htmlFor="compare-check">Check regex</label>
          <input id="compare-check" type="text" value={options.checkRegex} disabled={running} aria-invalid={regexError !== null} onChange={(e) => setOptions({ ...options, checkRegex: e.currentTarget.value })} />
          {regexError ? <small className="field-error">{regexError}</small> : <small className="muted">JavaScript RegExp tested on each trimmed answer; empty = no check</small>}
        </div>
        <NumberField id="compare-prompts" label="Eval prompts" value={options.evalPrompts} onChange={(v) => setOptions({ ...options, evalPrompts: v })} onValidity={onValidity} integer min={0} hint="first N held-out prompts" disabled={running} />
        <NumberField id="compare-tokens" label="Answer tokens" value={options.maxNewTokens} onChange={(v) => setOptions({ ...options, maxNewTokens: v })} onValidity={onValidity} integer min={1} hint="max new tokens per greedy answer" disabled={running} />
      </div>
      <CompareResume />
      {!running && why === null && <CompareEstimateLine />}
      <div className="row">
        <button type="button" className="primary" disabled={running || why !== null || !settings} onClick={() => void start()}>
          Compare
        </button>
        {running && (
          <button type="button" onClick={cancel}>
            Cancel
          </button>
        )}
        {why && !running && <span className="muted">{why}</span>}
      </div>
      {running && c.progress && <CompareProgressBars p={c.progress} />}
      {(running || c.message) && (
        <p className="muted" data-testid="compare-status">
          {c.message}
        </p>
      )}
      {c.error && (
        <p className="errors" role="alert">
          {c.error}
        </p>
      )}
      {(c.curves.shadow.length > 0 || c.curves.conventional.length > 0) && <CompareChart shadow={c.curves.shadow} conventional={c.curves.conventional} />}
      {view && (
        <>
          {c.restored && (
            <p className="muted" data-testid="compare-restored">
              The comparison of {c.endedAt ? new Date(c.endedAt).toLocaleString() : 'an earlier session'} ({view.result.base_model} / {view.result.instruct_model}), kept in this browser
              {c.adapterFiles ? ' with both adapters (downloads need that pair loaded).' : '; its adapters were not kept: run Compare again to download them.'}
            </p>
          )}
          <CompareTable view={view} />
          <div className="row">
            <button type="button" onClick={() => saveBlob(new Blob([compareCsv(view)], { type: 'text/csv' }), 'compare.csv')}>
              Download results CSV
            </button>
            <button type="button" onClick={() => saveBlob(new Blob([compareJson(view)], { type: 'application/json' }), 'compare.json')}>
              Download results JSON
            </button>
            <button type="button" disabled={adapterBlock !== null} title={adapterBlock ?? ''} onClick={() => void exportAdapter('shadow').then((z) => z && saveBlob(z.blob, z.fileName))}>
              Download {view.result.stage === 'dpo' ? 'Shadow-DPO' : 'Shadow-FT'} adapter
            </button>
            <button type="button" disabled={adapterBlock !== null} title={adapterBlock ?? ''} onClick={() => void exportAdapter('conventional').then((z) => z && saveBlob(z.blob, z.fileName))}>
              Download conventional adapter
            </button>
            {adapterBlock && <span className="muted" data-testid="compare-adapter-reason">{adapterBlock}</span>}
          </div>
        </>
      )}
    </div>
  );
}
