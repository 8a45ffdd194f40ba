// rmsnorm (HF LlamaRMSNorm, transformers models/llama/modeling_llama.py), per row of C values, with the applied
// weight a[c] = w[c] (Llama, Qwen) or a[c] = 1 + w[c] when ONE_PLUS_W (HF Gemma3RMSNorm, models/gemma3/
// modeling_gemma3.py: `output * (1.0 + self.weight.float())`, all in f32):
//   forward:  rstd[r] = 1 / sqrt(mean_c x[r, c]² + eps);   y[r, c] = a[c] · (x[r, c] · rstd[r])
//   backward (w frozen, so no dw): with g = Σ_c a[c]·dy[r, c]·x[r, c],
//             dx[r, c] = rstd[r]·a[c]·dy[r, c] − x[r, c]·rstd[r]³·g / C      (dx += … when ACCUMULATE)
//   weight gradient (full-parameter training; entry point backward_weight):
//             dw[c] = Σ_r dy[r, c]·x[r, c]·rstd[r]   (dw += … when ACCUMULATE; the same for a = w and a = 1 + w,
//             since ∂a/∂w = 1 in both)
// Shapes: x, y, dy, dx [rows, C] f32; w [C] f32; rstd [rows] f32 (saved by forward for backward).
// Also Qwen3 q_norm / k_norm with rows = M·H, C = D. Sums over C in f32.
// Entry points forward / backward: one workgroup of WG threads (a power of two) per row, row = wg.x +
// wg.y·num_workgroups.x (2-D grid for > 65535 rows); threads stride over C, then a tree reduction in workgroup
// memory. Entry points forward_row / backward_row (small C, where a barrier costs more than the row): one thread
// per row, row = gid.x + gid.y·num_workgroups.x·WG, sums in c order; no workgroup memory, no barriers.
// Bindings (group 0), entry points forward and forward_row:
//   0 p     uniform     { rows: u32, C: u32, eps: f32 }
//   1 x     read        array<f32>
//   2 w     read        array<f32>
//   3 y     read_write  array<f32>
//   4 rstd  read_write  array<f32>
// Entry point backward_weight: one thread per column c = gid.x + gid.y·num_workgroups.x·WG, summing its rows in row
// order (deterministic, no atomics; cost rows·C reads spread over C threads).
// Bindings (group 0), entry points backward and backward_row (backward_weight: binding 5 is dw [C], 2 unused):
//   0 p     uniform     { rows: u32, C: u32, eps: f32 }   (eps unused)
//   1 x     read        array<f32>
//   2 w     read        array<f32>
//   3 rstd_in read      array<f32>
//   4 dy    read        array<f32>
//   5 dx    read_write  array<f32>

override WG: u32 = 256u;
override ACCUMULATE: bool = false;
override ONE_PLUS_W: bool = false;  // a[c] = 1 + w[c] (Gemma 3) instead of w[c]

struct Params { rows: u32, C: u32, eps: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> rstd: array<f32>;
@group(0) @binding(3) var<storage, read> rstd_in: array<f32>;
@group(0) @binding(4) var<storage, read> dy: array<f32>;
@group(0) @binding(5) var<storage, read_write> dx: array<f32>;
@group(0) @binding(5) var<storage, read_write> dw: array<f32>;

var<workgroup> red: array<f32, WG>;

/** The applied weight a[c]: w[c], or 1 + w[c] (f32) when ONE_PLUS_W. */
fn weight(c: u32) -> f32 {
  if (ONE_PLUS_W) { return 1.0 + w[c]; }
  return w[c];
}

/** Sum of `v` over the workgroup (every thread gets the total). Call from uniform control flow. */
fn workgroup_sum(li: u32, v: f32) -> f32 {
  red[li] = v;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s >> 1u) {
    if (li < s) { red[li] = red[li] + red[li + s]; }
    workgroupBarrier();
  }
  let total = red[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; } // whole workgroup leaves together (uniform)
  let base = row * p.C;
  var ss = 0.0;
  for (var c = li; c < p.C; c = c + WG) {
    let v = x[base + c];
    ss = fma(v, v, ss);
  }
  let r = 1.0 / sqrt(workgroup_sum(li, ss) / f32(p.C) + p.eps);
  if (li == 0u) { rstd[row] = r; }
  for (var c = li; c < p.C; c = c + WG) { y[base + c] = weight(c) * (x[base + c] * r); }
}

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.rows) { return; } // whole workgroup leaves together (uniform)
  let base = row * p.C;
  let r = rstd_in[row];
  var g = 0.0;
  for (var c = li; c < p.C; c = c + WG) { g = fma(weight(c) * dy[base + c], x[base + c], g); }
  let coef = r * r * r * workgroup_sum(li, g) / f32(p.C);
  for (var c = li; c < p.C; c = c + WG) {
    var v = r * weight(c) * dy[base + c] - x[base + c] * coef;
    if (ACCUMULATE) { v = v + dx[base + c]; }
    dx[base + c] = v;
  }
}

@compute @workgroup_size(WG)
fn forward_row(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  let base = row * p.C;
  var ss = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let v = x[base + c];
    ss = fma(v, v, ss);
  }
  let r = 1.0 / sqrt(ss / f32(p.C) + p.eps);
  rstd[row] = r;
  for (var c = 0u; c < p.C; c++) { y[base + c] = weight(c) * (x[base + c] * r); }
}

@compute @workgroup_size(WG)
fn backward_row(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.rows) { return; }
  let base = row * p.C;
  let r = rstd_in[row];
  var g = 0.0;
  for (var c = 0u; c < p.C; c++) { g = fma(weight(c) * dy[base + c], x[base + c], g); }
  let coef = r * r * r * g / f32(p.C);
  for (var c = 0u; c < p.C; c++) {
    var v = r * weight(c) * dy[base + c] - x[base + c] * coef;
    if (ACCUMULATE) { v = v + dx[base + c]; }
    dx[base + c] = v;
  }
}

@compute @workgroup_size(WG)
fn backward_weight(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let c = gid.x + gid.y * nwg.x * WG;
  if (c >= p.C) { return; }
  var acc = 0.0;
  for (var r = 0u; r < p.rows; r++) {
    let i = r * p.C + c;
    acc = fma(dy[i], x[i] * rstd_in[r], acc);
  }
  if (ACCUMULATE) { acc = acc + dw[c]; }
  dw[c] = acc;
}
