// softcap: x[i] ← CAP · tanh(x[i] / CAP), in place (Gemma final_logit_softcapping on the lm_head output, HF
// Gemma3ForCausalLM.forward: `logits = logits / cap; logits = torch.tanh(logits); logits = logits * cap`).
// Used on the generation head's logits [V] (one row) or any [n] f32; the training head fuses the same cap into
// shaders/cross_entropy_chunk.wgsl. No backward entry (the loss head differentiates through the cap itself).
// tanh is evaluated as sign(y)·(1 − e)/(1 + e), e = e^{−2|y|} ≤ 1: no overflow for any |y| (a driver's tanh can give
// NaN for large |y|); the absolute error of the result is a few f32 ulps of CAP.
// Shapes: x [n] f32. One thread per element, i = gid.x + gid.y·num_workgroups.x·WG (2-D grid for > 65535 workgroups).
// Bindings (group 0), entry point forward:
//   0 p   uniform     { n: u32 }
//   1 x   read_write  array<f32>

override WG: u32 = 256u;
override CAP: f32 = 1.0;            // > 0 (checked by the caller)

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;

/** tanh(y) without overflow. */
fn tanh_stable(y: f32) -> f32 {
  let e = exp(-2.0 * abs(y));
  let t = (1.0 - e) / (1.0 + e);
  return select(-t, t, y >= 0.0);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  x[i] = CAP * tanh_stable(x[i] / CAP);
}
