// Causal softmax attention with grouped-query heads, forward (online softmax as in FlashAttention-2,
// Dao 2023, Alg. 1; HF semantics: modeling_llama.py `eager_attention_forward` + `repeat_kv`).
// Shapes (f32, row-major): q [B, T, H, D], k, v [B, T, KV, D], out [B, T, H, D], lse [B, H, T].
// Query head h reads kv head floor(h / (H / KV)). Row t attends to keys s with t − W < s ≤ t, W = p.window
// (HF masking_utils `sliding_window_overlay`; the host passes W = T for plain causal attention).
//   S_ts = scale · q_t·k_s (soft-capped: SOFTCAP·tanh(S_ts / SOFTCAP) when SOFTCAP > 0, Gemma 2/3
//   `attn_logit_softcapping`, HF modeling_gemma3.py `eager_attention_forward`),
//   out_t = Σ_s softmax_s(S_t)·v_s,  lse_t = log Σ_s exp(S_ts) over the visible keys  (saved for backward).
// One workgroup per (b, h, tile of BR query rows); 2-D grid, g = wid.x + wid.y · num_workgroups.x.
// Thread li = r·TPR + lane owns query row r of the tile and the head-dim lanes d = lane + j·TPR (j < D/TPR).
// Key/value tiles of BC rows go through workgroup memory; key tiles wholly before the window of the tile's first
// row or after its last row are skipped. Partial dot products are summed over the TPR lanes in a fixed order,
// so results are deterministic.
// Workgroup memory: (BC·D + WG·BC) floats: 12 KiB at D = 128 (BR = BC = 16, TPR = 4), 10 KiB at D = 256
// (BR = BC = 8, TPR = 8), within the 16 KiB default maxComputeWorkgroupStorageSize.
// Bindings (group 0):
//   0 params  uniform     { B: u32, T: u32, H: u32, KV: u32, scale: f32, window: u32 (1 ≤ W ≤ T) }
//   1 q       read        array<f32>  [B, T, H, D]
//   2 k       read        array<f32>  [B, T, KV, D]
//   3 v       read        array<f32>  [B, T, KV, D]
//   4 out     read_write  array<f32>  [B, T, H, D]
//   5 lse     read_write  array<f32>  [B, H, T]

override D: u32 = 64u;              // head dim: multiple of TPR, at most TPR · MAXDL
override BR: u32 = 16u;             // query rows per workgroup
override BC: u32 = 16u;             // keys per tile, at most MAXB
override TPR: u32 = 4u;             // threads per query row
override WG: u32 = BR * TPR;
override SOFTCAP: f32 = 0.0;        // logit soft-cap; 0 = none
const MAXDL: u32 = 32u;             // largest D / TPR
const MAXB: u32 = 16u;              // largest BC
const NEG: f32 = -1e30;             // "minus infinity" that stays finite
override DL: u32 = D / TPR;         // head-dim lanes per thread

struct Params { B: u32, T: u32, H: u32, KV: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

var<workgroup> tile: array<f32, BC * D>;      // K or V rows s0 .. s0+BC-1 (zeros past T)
var<workgroup> part: array<f32, WG * BC>;     // partial dots [r, lane, c]

fn loadK(b: u32, kvh: u32, s0: u32, li: u32) {
  for (var i = li; i < BC * D; i += WG) {
    let s = s0 + i / D;
    tile[i] = select(0.0, k[((b * p.T + min(s, p.T - 1u)) * p.KV + kvh) * D + i % D], s < p.T);
  }
}

fn loadV(b: u32, kvh: u32, s0: u32, li: u32) {
  for (var i = li; i < BC * D; i += WG) {
    let s = s0 + i / D;
    tile[i] = select(0.0, v[((b * p.T + min(s, p.T - 1u)) * p.KV + kvh) * D + i % D], s < p.T);
  }
}

// Whether query row t sees key s: t − window < s ≤ t.
fn visible(s: u32, t: u32) -> bool {
  return s <= t && s + p.window > t;
}

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let T = p.T;
  let nq = (T + BR - 1u) / BR;
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.B * p.H * nq) { return; }
  let qt = g % nq;
  let h = (g / nq) % p.H;
  let b = g / (nq * p.H);
  let kvh = h / (p.H / p.KV);
  let r = li / TPR;
  let lane = li % TPR;
  let t = qt * BR + r;
  let qBase = ((b * T + min(t, T - 1u)) * p.H + h) * D + lane;

  var qr: array<f32, MAXDL>;
  var o: array<f32, MAXDL>;
  for (var j = 0u; j < DL; j++) {
    qr[j] = q[qBase + j * TPR];
    o[j] = 0.0;
  }
  var m = NEG;
  var l = 0.0;
  let t0 = qt * BR;
  let kt0 = (t0 + 1u - min(p.window, t0 + 1u)) / BC;  // first key tile the tile's first row sees
  let nkt = (min(T, t0 + BR) - 1u) / BC + 1u;         // key tiles up to the tile's last row
  for (var kt = kt0; kt < nkt; kt++) {
    let s0 = kt * BC;
    loadK(b, kvh, s0, li);
    workgroupBarrier();
    for (var c = 0u; c < BC; c++) {
      var acc = 0.0;
      for (var j = 0u; j < DL; j++) { acc += qr[j] * tile[c * D + lane + j * TPR]; }
      part[li * BC + c] = acc;
    }
    workgroupBarrier();
    loadV(b, kvh, s0, li);
    workgroupBarrier();
    var sc: array<f32, MAXB>;
    var mt = m;
    for (var c = 0u; c < BC; c++) {
      var x = NEG;
      if (visible(s0 + c, t)) {
        var dot = 0.0;
        for (var ln = 0u; ln < TPR; ln++) { dot += part[(r * TPR + ln) * BC + c]; }
        if (SOFTCAP > 0.0) {
          x = SOFTCAP * tanh(dot * p.scale / SOFTCAP);
        } else {
          x = dot * p.scale;
        }
      }
      sc[c] = x;
      mt = max(mt, x);
    }
    let alpha = exp(m - mt);
    l *= alpha;
    for (var j = 0u; j < DL; j++) { o[j] *= alpha; }
    for (var c = 0u; c < BC; c++) {
      if (visible(s0 + c, t)) {
        let pc = exp(sc[c] - mt);
        l += pc;
        for (var j = 0u; j < DL; j++) { o[j] += pc * tile[c * D + lane + j * TPR]; }
      }
    }
    m = mt;
    workgroupBarrier();
  }
  if (t < T) {
    let inv = 1.0 / l;
    for (var j = 0u; j < DL; j++) { out[qBase + j * TPR] = o[j] * inv; }
    if (lane == 0u) { lse[(b * p.H + h) * T + t] = m + log(l); }
  }
}
