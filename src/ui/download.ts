/** Saves a Blob through a temporary object URL and an <a download> click (the browser's download flow). */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke after the download has started (revoking synchronously can cancel it in some browsers).
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
