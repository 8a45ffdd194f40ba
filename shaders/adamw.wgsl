// AdamW step (torch.optim.AdamW, decoupled weight decay, amsgrad off; torch/optim/adamw.py `_single_tensor_adamw`)
// with the global-norm clipping coefficient of torch.nn.utils.clip_grad_norm_ folded in. Flat f32 buffers of n.
//   coef = maxGradNorm > 0 ? min(1, maxGradNorm / (sqrt(gradNormSq[0]) + 1e-6)) : 1
//   g = grads[i]·coef;  p ← p·decay  (decay = 1 − lr·weightDecay)
//   m ← beta1·m + (1 − beta1)·g;  v ← beta2·v + (1 − beta2)·g²
//   p ← p − stepSize · m / (sqrt(v) / bc2Sqrt + eps)   (stepSize = lr / (1 − beta1^t), bc2Sqrt = sqrt(1 − beta2^t))
// All scalars are computed on the CPU in f64 and passed as f32, as torch passes Python floats to f32 kernels.
// One thread per parameter; 2-D grid: i = gid.x + gid.y · num_workgroups.x · WG.
// Bindings (group 0):
//   0 params      uniform     { n: u32, maxGradNorm, decay, beta1, oneMinusBeta1, beta2, oneMinusBeta2,
//                               stepSize, bc2Sqrt, eps: f32 }
//   1 param       read_write  array<f32>  [n]
//   2 grads       read        array<f32>  [n]  (raw, before clipping; not modified)
//   3 expAvg      read_write  array<f32>  [n]  (m, zero before step 1)
//   4 expAvgSq    read_write  array<f32>  [n]  (v, zero before step 1)
//   5 gradNormSq  read        array<f32>  [1]  (Σ g² over every trained tensor)

override WG: u32 = 256u;

struct Params {
  n: u32,
  maxGradNorm: f32,
  decay: f32,
  beta1: f32,
  oneMinusBeta1: f32,
  beta2: f32,
  oneMinusBeta2: f32,
  stepSize: f32,
  bc2Sqrt: f32,
  eps: f32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> expAvg: array<f32>;
@group(0) @binding(4) var<storage, read_write> expAvgSq: array<f32>;
@group(0) @binding(5) var<storage, read> gradNormSq: array<f32>;

@compute @workgroup_size(WG)
fn step(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  var coef = 1.0;
  if (p.maxGradNorm > 0.0) { coef = min(1.0, p.maxGradNorm / (sqrt(gradNormSq[0]) + 1e-6)); }
  let g = grads[i] * coef;
  let m = p.beta1 * expAvg[i] + p.oneMinusBeta1 * g;
  let v = p.beta2 * expAvgSq[i] + p.oneMinusBeta2 * (g * g);
  expAvg[i] = m;
  expAvgSq[i] = v;
  let denom = sqrt(v) / p.bc2Sqrt + p.eps;
  param[i] = param[i] * p.decay - p.stepSize * (m / denom);
}
