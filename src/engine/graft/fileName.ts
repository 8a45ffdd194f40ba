/**
 * Export file and folder names derived from model names (which come from dropped folder names or config files):
 * nothing in them may act as a path or hide in a terminal. Path separators (/ and \), characters Windows refuses
 * (< > : " | ? *), C0/C1 control characters and bidirectional overrides become "_"; leading/trailing dots and spaces
 * are trimmed (no "..", no hidden files); an empty result becomes "model"; at most 120 UTF-16 units.
 */

/** Characters replaced by "_". */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[/\\<>:"|?*\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A single path component safe to use as a file or folder name on every OS.
 * @param name any string (e.g. "../evil/model\n"); @returns e.g. "_evil_model_" trimmed, never empty.
 */
export function safeFileName(name: string): string {
  const s = name.replace(UNSAFE, '_').replace(/^[.\s]+|[.\s]+$/g, '').slice(0, 120);
  return s.length === 0 ? 'model' : s;
}
