/**
 * The dataset files of the drop: tick which are trained on, remove one, the kind (SFT conversations or preference
 * pairs), the detected schema (alpaca, sharegpt, messages, csv, trl-conversational, trl-standard; Parquet shows its
 * rows' schema), kept/skipped rows (pairs for preference files) with the reasons, duplicates and dataset_info.json
 * entries.
 */
import { useStudio } from '../store';
import type { DatasetSummary } from '../worker/client';

function formatOf(d: DatasetSummary): string {
  if (d.schema === null) return d.format;
  return d.format === 'parquet' ? `parquet (${d.schema})` : d.schema;
}

/** The table. */
export function DatasetTable({ datasets }: { datasets: readonly DatasetSummary[] }) {
  const setEnabled = useStudio((s) => s.setDatasetEnabled);
  const remove = useStudio((s) => s.removeDataset);
  const busy = useStudio((s) => s.filesBusy || s.run.status === 'running');
  return (
    <>
      <table className="datasets" data-testid="datasets">
        <thead>
          <tr>
            <th>Use</th>
            <th>Dataset</th>
            <th>Split</th>
            <th>Kind</th>
            <th>Format</th>
            <th>Kept</th>
            <th>Skipped</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {datasets.map((d) => (
            <tr key={d.path} data-path={d.path}>
              <td>
                <input type="checkbox" aria-label={`Train on ${d.path}`} checked={d.enabled} disabled={busy} onChange={(e) => void setEnabled(d.path, e.currentTarget.checked)} />
              </td>
              <td>
                {d.path}
                {d.duplicateOf && <span className="warning-tag" title={`same examples as ${d.duplicateOf}`}> duplicate of {d.duplicateOf}</span>}
                {d.datasetInfoName && <span className="muted"> (dataset_info.json: {d.datasetInfoName})</span>}
              </td>
              <td>{d.split === 'heldout' ? 'held-out' : 'train'}</td>
              <td data-testid="dataset-kind" title={d.kind === 'preference' ? 'chosen/rejected pairs (DPO); Kept counts pairs' : undefined}>
                {d.kind === null ? '–' : d.kind === 'preference' ? 'preference' : 'SFT'}
              </td>
              <td data-testid="dataset-format">{formatOf(d)}</td>
              <td data-testid="dataset-kept">{d.examples ?? 'error'}</td>
              <td data-testid="dataset-skipped">{d.skippedCount}</td>
              <td>
                <button type="button" disabled={busy} onClick={() => void remove(d.path)} aria-label={`Remove ${d.path}`}>
                  ✕
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {datasets.some((d) => d.skippedCount > 0) && (
        <details className="skipped" data-testid="skipped-rows" open>
          <summary>Skipped rows (left out of training, the rest trains)</summary>
          <ul>
            {datasets.flatMap((d) =>
              d.skipped.map((s) => (
                <li key={`${s.file}:${s.row}`}>
                  {s.file} row {s.row}: {s.reason}
                </li>
              )),
            )}
            {datasets.some((d) => d.skippedCount > d.skipped.length) && <li className="muted">… (the first 20 per file are listed)</li>}
          </ul>
        </details>
      )}
      <p className="muted">
        ShareGPT: roles alternate human/observation then gpt/function_call (LLaMA-Factory); <code>user</code>/<code>assistant</code> are accepted for
        human/gpt, and a leading system turn is the system prompt. A dropped dataset_info.json sets file formats, columns and tags as LLaMA-Factory reads them.
        Rows with <code>chosen</code> and <code>rejected</code> (LLaMA-Factory ranking data, TRL preference data) are preference pairs.
      </p>
    </>
  );
}
