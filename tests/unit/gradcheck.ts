/** Central finite-difference check shared by the CPU-reference gradient tests (f64). */
import { expect } from 'vitest';

/**
 * Asserts the analytic gradient `grad` of `loss` at `x` matches central differences at every element
 * (|fd − an| ≤ 1e-8 + 1e-6·|fd|), and that more than half of the elements are non-trivial (|an| > 1e-6).
 * `x` is perturbed in place and restored.
 */
export function gradcheck(what: string, x: Float64Array, loss: () => number, grad: ArrayLike<number>, h = 1e-5): void {
  expect(grad.length, `${what}: gradient length`).toBe(x.length);
  let checked = 0;
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i] as number;
    x[i] = x0 + h;
    const up = loss();
    x[i] = x0 - h;
    const down = loss();
    x[i] = x0;
    const fd = (up - down) / (2 * h);
    const an = grad[i] as number;
    if (!(Math.abs(fd - an) <= 1e-8 + 1e-6 * Math.abs(fd))) throw new Error(`${what}: element ${i}: analytic ${an}, finite difference ${fd}`);
    checked += Math.abs(an) > 1e-6 ? 1 : 0;
  }
  // The check is meaningless if the gradient is (almost) all zeros.
  expect(checked, `${what}: non-trivial gradient elements`).toBeGreaterThan(x.length / 2);
}
