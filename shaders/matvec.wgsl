// matvec: one token row through a linear layer (the decode step of generation, M = 1):
//   y[n] = alpha · Σ_k x[k] · W[n, k] (+ bias[n]),  or y[n] += … when ACCUMULATE.
//   x [K] f32; W [N, K] packed (nn.Linear layout, y = x·Wᵀ), element dtype W_DTYPE: 0 = f32, 1 = bf16, 2 = f16
//   (src/engine/gpu/weights.ts; upcast exactly); bias [N] f32 when HAS_BIAS; y [N] f32. Accumulation in f32.
// One workgroup of 64 threads per 4 consecutive rows n0..n0+3: thread li reads elements k = li, li + 64, … of the
// 4 rows (adjacent threads read adjacent elements: coalesced on GPUs, vector loads on CPU adapters), keeps 4 partial
// sums in a vec4, and a tree reduction over the 64 threads (6 barriers, amortised over 4 rows) gives the 4 outputs.
// (The skinny matmul gives each thread a whole row, so neighbouring threads read K elements apart, and only N/64
// workgroups exist — too few for a GPU at N ≈ 1000.) Workgroups are linearised: g = wid.x + wid.y·num_workgroups.x.
// Bindings (group 0):
//   0 p     uniform     { N: u32, K: u32, alpha: f32, groups: u32 (= ceil(N/4)) }
//   1 x     read        array<f32>  [K]
//   2 w     read        array<u32>  packed [N, K]
//   3 bias  read        array<f32>  [N] (HAS_BIAS; else a 1-word dummy)
//   4 y     read_write  array<f32>  [N]

override W_DTYPE: u32 = 0u;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;

struct Params { N: u32, K: u32, alpha: f32, groups: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

var<workgroup> part: array<vec4f, 64>;

/** Element i of the packed weight, upcast exactly to f32. */
fn load_w(i: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(w[i]); }
  let word = w[i >> 1u];
  if (W_DTYPE == 1u) { return bitcast<f32>(((word >> (16u * (i & 1u))) & 0xffffu) << 16u); }
  return unpack2x16float(word)[i & 1u];
}

@compute @workgroup_size(64)
fn matvec(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.groups) { return; } // whole workgroup leaves together (uniform)
  let n0 = g * 4u;
  // Rows past N read row N−1 (valid memory); their sums are never written.
  let r1 = min(n0 + 1u, p.N - 1u);
  let r2 = min(n0 + 2u, p.N - 1u);
  let r3 = min(n0 + 3u, p.N - 1u);
  var acc = vec4f(0.0);
  for (var k = li; k < p.K; k = k + 64u) {
    let xv = x[k];
    let wv = vec4f(load_w(n0 * p.K + k), load_w(r1 * p.K + k), load_w(r2 * p.K + k), load_w(r3 * p.K + k));
    acc = fma(vec4f(xv), wv, acc);
  }
  part[li] = acc;
  for (var s = 32u; s > 0u; s = s / 2u) {
    workgroupBarrier();
    if (li < s) { part[li] = part[li] + part[li + s]; }
  }
  workgroupBarrier();
  if (li < 4u && n0 + li < p.N) {
    let n = n0 + li;
    var v = p.alpha * part[0][li];
    if (HAS_BIAS) { v = v + bias[n]; }
    if (ACCUMULATE) { v = v + y[n]; }
    y[n] = v;
  }
}
