/**
 * Dropped or picked files → DroppedFile[] with paths relative to the drop (top folder included), the form
 * src/io/folder.ts recognises. Folders dropped by drag-and-drop are walked with DataTransferItem.webkitGetAsEntry
 * (FileSystemDirectoryReader.readEntries returns at most 100 entries per call, so it is called until empty);
 * a folder picker (<input webkitdirectory>) gives File.webkitRelativePath.
 */
import type { DroppedFile } from '../worker/client';

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

function readAll(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    const next = (): void =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

async function walk(entry: FileSystemEntry, out: DroppedFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await fileOf(entry as FileSystemFileEntry);
    out.push({ path: entry.fullPath.replace(/^\/+/, ''), file });
  } else if (entry.isDirectory) {
    const children = await readAll((entry as FileSystemDirectoryEntry).createReader());
    for (const c of children) await walk(c, out);
  }
}

/**
 * Files of a drop event, folders included. Must be called synchronously inside the drop handler (the
 * DataTransfer is emptied once the handler returns); the returned promise may be awaited later.
 */
export function filesFromDataTransfer(dt: DataTransfer): Promise<DroppedFile[]> {
  const entries = [...dt.items].filter((i) => i.kind === 'file').map((i) => i.webkitGetAsEntry());
  const files = [...dt.files];
  if (entries.length === 0 || entries.some((e) => e === null)) {
    return Promise.resolve(files.map((file) => ({ path: file.name, file })));
  }
  return (async () => {
    const out: DroppedFile[] = [];
    for (const e of entries) if (e) await walk(e, out);
    return out;
  })();
}

/** Files of an <input type=file> (with webkitdirectory: paths include the chosen folder). */
export function filesFromInput(list: FileList | null): DroppedFile[] {
  return [...(list ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
}
