/**
 * How the studio runs its long operations (src/app/studio.ts): each under a caller-chosen `opId` that `cancel(opId)`
 * aborts, the long GPU jobs one at a time (training, the GPU check, the comparison, Try it share the device and its
 * pipelines), and progress callbacks throttled.
 */

/** Cancellable operations and the one long GPU job. */
export class Operations {
  private readonly controllers = new Map<number, AbortController>();
  /** What holds the GPU for long work ("training", "the GPU check", …), or null. */
  private gpuJob: string | null = null;

  /** Runs `f` with an AbortSignal registered under `opId`. */
  async withOp<T>(opId: number, f: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const c = new AbortController();
    this.controllers.set(opId, c);
    try {
      return await f(c.signal);
    } finally {
      this.controllers.delete(opId);
    }
  }

  /** Aborts the operation started with `opId` (no-op when it has finished). */
  cancel(opId: number): void {
    this.controllers.get(opId)?.abort(new DOMException('Cancelled by the user', 'AbortError'));
  }

  /**
   * Runs `f` as the only long GPU job.
   * @throws Error naming the running job when another one holds the GPU.
   */
  async exclusive<T>(job: string, f: () => Promise<T>): Promise<T> {
    if (this.gpuJob) throw new Error(`The GPU is busy with ${this.gpuJob}: wait for it to finish or cancel it, then start ${job}.`);
    this.gpuJob = job;
    try {
      return await f();
    } finally {
      this.gpuJob = null;
    }
  }

  /** True while a training run holds the GPU. */
  get training(): boolean {
    return this.gpuJob === 'training';
  }

  /**
   * Refuses a change of the models or data while a run uses them (the UI disables these controls too).
   * @throws Error naming the refused action.
   */
  refuseWhileTraining(action: string): void {
    if (this.training) throw new Error(`${action} is refused while training uses the models and data: wait for the run to end or cancel it first.`);
  }

  /** Runs a session change unless training is running (a rejected Promise, like the call itself would give). */
  change<T>(action: string, f: () => T): T | Promise<never> {
    try {
      this.refuseWhileTraining(action);
    } catch (e) {
      return Promise.reject(e);
    }
    return f();
  }
}

/** Calls `f` at most every `ms` milliseconds (the last call of a burst may be dropped; callers send a final value). */
export function throttle<A>(ms: number, f: (a: A) => void): (a: A) => void {
  let last = 0;
  return (a) => {
    const now = performance.now();
    if (now - last >= ms) {
      last = now;
      f(a);
    }
  };
}
