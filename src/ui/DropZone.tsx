/**
 * The drop zone: drag-and-drop of files and whole folders, a folder picker, a files picker, Load demo and Clear —
 * all disabled (drops ignored) while a training run uses the models and data.
 */
import { useRef, useState, type DragEvent } from 'react';
import { useStudio } from '../store';
import { filesFromDataTransfer, filesFromInput } from './dropFiles';

/** Where the user brings models and datasets in. */
export function DropZone() {
  const addFiles = useStudio((s) => s.addFiles);
  const loadDemo = useStudio((s) => s.loadDemo);
  const clearFiles = useStudio((s) => s.clearFiles);
  const training = useStudio((s) => s.run.status === 'running');
  // While a run uses the models and data, nothing may change them (the worker refuses too: app/studio.ts).
  const busy = useStudio((s) => s.filesBusy) || training;
  const [over, setOver] = useState(false);
  const folderInput = useRef<HTMLInputElement>(null);
  const filesInput = useRef<HTMLInputElement>(null);

  const onDrop = (e: DragEvent<HTMLDivElement>): void => {
    e.preventDefault();
    setOver(false);
    if (busy) return;
    const pending = filesFromDataTransfer(e.dataTransfer);
    void pending.then((files) => (files.length ? addFiles(files) : undefined));
  };

  return (
    <div
      className={`dropzone${over ? ' over' : ''}`}
      data-testid="dropzone"
      onDragOver={(e) => {
        e.preventDefault();
        e.dataTransfer.dropEffect = 'copy';
        setOver(true);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={onDrop}
    >
      <p className="drop-title">Drop the Base and Instruct model folders and a dataset here</p>
      <p className="hint">
        Model folders hold config.json, model.safetensors (or shards + index) and the tokenizer files. Datasets: alpaca or ShareGPT .json,
        OpenAI-messages or ShareGPT .jsonl, .csv with instruction,output columns, or .parquet; a name with “heldout”, “valid”/“val”, “dev”, “test” or “eval” marks a held-out split.
        Nothing leaves your machine.
      </p>
      <div className="row">
        <button type="button" className="primary" onClick={() => void loadDemo()} disabled={busy}>
          Load demo
        </button>
        <button type="button" onClick={() => folderInput.current?.click()} disabled={busy}>
          Choose folder…
        </button>
        <button type="button" onClick={() => filesInput.current?.click()} disabled={busy}>
          Choose files…
        </button>
        <button type="button" onClick={() => void clearFiles()} disabled={busy}>
          Clear
        </button>
        {training ? <span className="muted">Models and data are locked while training runs.</span> : busy && <span className="muted">Reading files…</span>}
      </div>
      <input
        ref={folderInput}
        type="file"
        hidden
        multiple
        disabled={busy}
        data-testid="folder-input"
        {...{ webkitdirectory: '', directory: '' }}
        onChange={(e) => {
          const files = filesFromInput(e.currentTarget.files);
          e.currentTarget.value = '';
          if (files.length) void addFiles(files);
        }}
      />
      <input
        ref={filesInput}
        type="file"
        hidden
        multiple
        disabled={busy}
        data-testid="files-input"
        accept=".json,.jsonl,.csv,.parquet,.safetensors,.txt,.jinja,.model"
        onChange={(e) => {
          const files = filesFromInput(e.currentTarget.files);
          e.currentTarget.value = '';
          if (files.length) void addFiles(files);
        }}
      />
    </div>
  );
}
