/**
 * Dataset parsing errors. Messages start with the file and the 1-based location, e.g.
 * `story.csv row 7: column 'output' is empty` or `chat.jsonl line 3: not valid JSON (...)`.
 */

/** A dataset file or one of its examples is malformed. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}
