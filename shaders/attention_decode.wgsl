// One-query attention over a KV cache (the decode step of generation, B = 1, one new token):
//   out[h, :] = Σ_{n−W≤s<n} softmax_s(S_s) · v[s, g, :],   g = floor(h / (H / KV))  (GQA, HF repeat_kv)
//   S_s = scale · q[h]·k[s, g], or SOFTCAP·tanh(scale · q[h]·k[s, g] / SOFTCAP) when SOFTCAP > 0
//   (Gemma 2/3 `attn_logit_softcapping`, HF modeling_gemma3.py `eager_attention_forward`).
// The new token's own key/value must already be in the cache at row n − 1 (causal: it sees rows 0..n−1; with a
// sliding window W only rows n−W..n−1, HF masking_utils `sliding_window_overlay`; the host passes W = n for none).
// Shapes: q [H, D] f32 (after RoPE); kc, vc [maxT, KV, D] f32 (rows 0..n−1 valid); out [H, D] f32;
// scores [H, maxT] f32 scratch (the probabilities of head h are kept in row h between the phases).
// One workgroup of WG = 64 threads per query head h = workgroup index:
//   1. thread li computes scores of rows s = lo + li, lo + li + 64, … (lo = n − W) and its running max; a tree
//      reduction gives the max m;
//   2. each thread turns its own scores into e = exp(score − m) and sums them; a tree reduction gives Σ;
//   3. after a storage barrier, thread li owns the lanes d = li, li + 64, … of out: Σ_s e_s · v[s, g, d] / Σ.
// Same maths as shaders/attention_small.wgsl / attention_forward.wgsl (max-subtracted softmax in f32).
// Source: HF modeling_llama.py eager_attention_forward (one query row); Dao 2023 FlashAttention-2 for the forward.
// Bindings (group 0):
//   0 p       uniform     { n: u32 (keys), H: u32, KV: u32, maxT: u32 (row stride of scores), scale: f32,
//                           window: u32 (1 ≤ W ≤ n) }
//   1 q       read        array<f32>  [H, D]
//   2 kc      read        array<f32>  [maxT, KV, D]
//   3 vc      read        array<f32>  [maxT, KV, D]
//   4 out     read_write  array<f32>  [H, D]
//   5 scores  read_write  array<f32>  [H, maxT]

override D: u32 = 64u;
override SOFTCAP: f32 = 0.0;        // logit soft-cap; 0 = none

const WG: u32 = 64u;

struct Params { n: u32, H: u32, KV: u32, maxT: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> kc: array<f32>;
@group(0) @binding(3) var<storage, read> vc: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> scores: array<f32>;

var<workgroup> red: array<f32, 64>;

// Tree reduction of red[0..64) into red[0]: max when is_max, else sum. Called by all 64 threads.
fn reduce(li: u32, is_max: bool) {
  for (var stride = WG / 2u; stride > 0u; stride = stride / 2u) {
    workgroupBarrier();
    if (li < stride) {
      let a = red[li];
      let b = red[li + stride];
      red[li] = select(a + b, max(a, b), is_max);
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(64)
fn decode(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u) {
  let h = wid.x;
  let g = h / (p.H / p.KV);
  let qBase = h * D;
  let kvStride = p.KV * D;
  let sBase = h * p.maxT;
  let lo = p.n - p.window;            // first cache row in the window
  // 1. scores and their max
  var mx = -3.0e38;
  for (var s = lo + li; s < p.n; s = s + WG) {
    let kBase = s * kvStride + g * D;
    var qk = 0.0;
    for (var d = 0u; d < D; d = d + 4u) {
      let qv = vec4f(q[qBase + d], q[qBase + d + 1u], q[qBase + d + 2u], q[qBase + d + 3u]);
      let kv = vec4f(kc[kBase + d], kc[kBase + d + 1u], kc[kBase + d + 2u], kc[kBase + d + 3u]);
      qk = qk + dot(qv, kv);
    }
    var sc = qk * p.scale;
    if (SOFTCAP > 0.0) { sc = SOFTCAP * tanh(sc / SOFTCAP); }
    scores[sBase + s] = sc;
    mx = max(mx, sc);
  }
  red[li] = mx;
  reduce(li, true);
  let m = red[0];
  workgroupBarrier();
  // 2. exp and their sum (each thread rewrites only the scores it wrote)
  var sum = 0.0;
  for (var s = lo + li; s < p.n; s = s + WG) {
    let e = exp(scores[sBase + s] - m);
    scores[sBase + s] = e;
    sum = sum + e;
  }
  red[li] = sum;
  reduce(li, false);
  let inv = 1.0 / red[0];
  storageBarrier();
  // 3. weighted sum of the values
  for (var d = li; d < D; d = d + WG) {
    var acc = 0.0;
    for (var s = lo; s < p.n; s = s + 1u) {
      acc = acc + scores[sBase + s] * vc[s * kvStride + g * D + d];
    }
    out[qBase + d] = acc * inv;
  }
}
