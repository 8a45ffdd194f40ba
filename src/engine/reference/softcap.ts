/**
 * CPU f64 reference of logit soft-capping (Gemma `final_logit_softcapping`, HF Gemma3ForCausalLM.forward:
 * logits = cap·tanh(logits/cap)) and its backward: d/dz [cap·tanh(z/cap)] = 1 − tanh²(z/cap) = 1 − (z′/cap)².
 */

function checkCap(what: string, cap: number): void {
  if (!(cap > 0 && Number.isFinite(cap))) throw new Error(`${what}: softcap = ${cap}; expected a finite number > 0`);
}

/**
 * z′ = cap·tanh(z/cap) elementwise, f64.
 * @throws Error when cap is not a finite number > 0.
 */
export function softcapRef(z: ArrayLike<number>, cap: number): Float64Array {
  checkCap('softcapRef', cap);
  return Float64Array.from({ length: z.length }, (_, i) => cap * Math.tanh((z[i] as number) / cap));
}

/**
 * dz = dz′·(1 − tanh²(z/cap)) given the raw z and dz′ = ∂L/∂z′, f64.
 * @throws Error when cap is invalid or the lengths differ.
 */
export function softcapBackwardRef(z: ArrayLike<number>, dout: ArrayLike<number>, cap: number): Float64Array {
  checkCap('softcapBackwardRef', cap);
  if (dout.length !== z.length) throw new Error(`softcapBackwardRef: dout has ${dout.length} values, expected ${z.length} (same as z)`);
  return Float64Array.from({ length: z.length }, (_, i) => (dout[i] as number) * (1 - Math.tanh((z[i] as number) / cap) ** 2));
}
