// Causal grouped-query attention for a small head dim (D ≤ 4·MAXV = 32), forward and backward, without
// workgroup memory or barriers: one thread owns ROWS consecutive rows (register blocking, default 4) and keeps
// them in vec4 registers, so every key (or query) row it streams from storage is loaded once for all ROWS rows.
// Same math and the same bindings as shaders/attention_forward.wgsl / attention_backward.wgsl (FlashAttention-2,
// Dao 2023, Alg. 1–2; HF semantics: modeling_llama.py `eager_attention_forward` + `repeat_kv`).
// Shapes (f32, row-major): q, out, dout, dq [B, T, H, D]; k, v, dk, dv [B, T, KV, D]; lse, delta [B, H, T].
// Query head h reads kv head floor(h / (H / KV)); row t attends to keys s ≤ t.
//   S_ts = scale·q_t·k_s;  out_t = Σ_s softmax_s(S_t)·v_s;  lse_t = log Σ_{s≤t} exp(S_ts);
//   P_ts = exp(S_ts − lse_t);  delta_t = dO_t·O_t;  dS_ts = P_ts (dO_t·v_s − delta_t);
//   dq_t = scale Σ_s dS_ts k_s;  dk_s = scale Σ_{h in group} Σ_{t≥s} dS_ts q_t;  dv_s = Σ_{h in group} Σ_{t≥s} P_ts dO_t.
// Entry points (threads i = gid.x + gid.y · num_workgroups.x · WG; NB = ceil(T / ROWS) row blocks;
// run backward_dq before backward_dkdv):
//   forward        thread (b, h, block), i = (b·H + h)·NB + block, rows t = block·ROWS + r (r < ROWS): online
//                  softmax per row over keys s = 0..t in key order, 4 keys a step (one rescale per step).
//   backward_dq    thread (b, h, block) as forward: writes delta[b, h, t] and dq_t (overwrites) of its rows.
//   backward_dkdv  thread (b, kv head, block), i = (b·KV + kvh)·NB + block, key rows s = block·ROWS + r: sums over
//                  the H/KV query heads of the group in head order and t = s..T−1 in row order; writes dk_s, dv_s.
// Edges: rows of the last block past T − 1 are clamped to row T − 1 (computed, never stored); keys a row must not
// see (s > t) get score −1e30 (forward, weight exactly 0) or P = 0 via select (backward), so each row sums the
// same terms in the same order as with one row per thread (ROWS = 1), plus exact zeros. Every sum runs in a fixed
// order inside one thread: results are deterministic; no atomics. ROWS = 4 measured fastest of 1, 2, 4 on lavapipe
// and SwiftShader (bench/kernels.bench.ts); it cuts the storage loads of streamed rows by 4 at the cost of 4× fewer
// threads (B·H·ceil(T/4) for forward/dq, B·KV·ceil(T/4) for dkdv). SwiftShader does not unroll the row loops, so
// register arrays indexed by row cost it memory traffic (ROWS = 1 here is slower there than the one-row shader
// kept as bench/baseline/attention_small_rows1.wgsl); avoid vector components picked by a loop index (slower still).
// Bindings (group 0), forward:
//   0 params uniform { B: u32, T: u32, H: u32, KV: u32, scale: f32 }; 1 q read; 2 k read; 3 v read;
//   4 out read_write [B, T, H, D]; 5 lse read_write [B, H, T]
// Bindings, backward_dq: 0 params; 1 q; 2 k; 3 v; 4 lse; 5 dout; 6 outSaved (all read);
//   7 deltaOut read_write [B, H, T]; 8 dq read_write
// Bindings, backward_dkdv: 0 params; 1 q; 2 k; 3 v; 4 lse; 5 dout; 6 deltaIn (all read); 7 dk, 8 dv read_write

override D: u32 = 8u;               // head dim: multiple of 4, at most 4 · MAXV
override WG: u32 = 64u;             // threads per workgroup
override ROWS: u32 = 4u;            // rows per thread: 1 ≤ ROWS ≤ MAXR
const MAXV: u32 = 8u;               // vec4 registers per row
const MAXR: u32 = 4u;               // most rows per thread
override DV: u32 = D / 4u;          // vec4s per row

struct Params { B: u32, T: u32, H: u32, KV: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4f>;
@group(0) @binding(2) var<storage, read> k: array<vec4f>;
@group(0) @binding(3) var<storage, read> v: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(4) var<storage, read> lseIn: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<vec4f>;
@group(0) @binding(6) var<storage, read> outSaved: array<vec4f>;
@group(0) @binding(7) var<storage, read_write> deltaOut: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<vec4f>;
@group(0) @binding(6) var<storage, read> deltaIn: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<vec4f>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4f>;

// vec4 index of row (b, t, head) of a [B, T, heads, D] tensor.
fn rowOf(b: u32, t: u32, heads: u32, head: u32) -> u32 {
  return ((b * p.T + t) * heads + head) * DV;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let T = p.T;
  let nb = (T + ROWS - 1u) / ROWS;
  if (i >= p.B * p.H * nb) { return; }
  let t0 = (i % nb) * ROWS;
  let h = (i / nb) % p.H;
  let b = i / (nb * p.H);
  let kvh = h / (p.H / p.KV);
  let tEnd = min(t0 + ROWS, T) - 1u;  // last real row of the block
  var qr: array<array<vec4f, MAXV>, MAXR>;
  var o: array<array<vec4f, MAXV>, MAXR>;
  var m: array<f32, MAXR>;
  var l: array<f32, MAXR>;
  for (var r = 0u; r < ROWS; r++) {
    let qb = rowOf(b, min(t0 + r, tEnd), p.H, h);
    for (var j = 0u; j < DV; j++) {
      qr[r][j] = q[qb + j] * p.scale;
      o[r][j] = vec4f(0.0);
    }
    m[r] = -1e30;
    l[r] = 0.0;
  }
  // Keys in blocks of 4 (one rescale per block and row, no data-dependent branch), each k and v row loaded once
  // for all rows; keys past row t get weight exp(−1e30 − m) = 0 and keys past tEnd read row tEnd again.
  for (var s0 = 0u; s0 <= tEnd; s0 += 4u) {
    let kb0 = rowOf(b, s0, p.KV, kvh);
    let kb1 = rowOf(b, min(s0 + 1u, tEnd), p.KV, kvh);
    let kb2 = rowOf(b, min(s0 + 2u, tEnd), p.KV, kvh);
    let kb3 = rowOf(b, min(s0 + 3u, tEnd), p.KV, kvh);
    // The 4 keys are spelled out (no vector component picked by a loop index: slow on SwiftShader).
    var xs = array<vec4f, MAXR>();   // explicit zero: a bare var in a loop is not re-zeroed by every compiler
    for (var j = 0u; j < DV; j++) {
      let k0 = k[kb0 + j];
      let k1 = k[kb1 + j];
      let k2 = k[kb2 + j];
      let k3 = k[kb3 + j];
      for (var r = 0u; r < ROWS; r++) {
        xs[r] += vec4f(dot(qr[r][j], k0), dot(qr[r][j], k1), dot(qr[r][j], k2), dot(qr[r][j], k3));
      }
    }
    var e = array<vec4f, MAXR>();
    for (var r = 0u; r < ROWS; r++) {
      let t = min(t0 + r, tEnd);
      let x = select(vec4f(-1e30), xs[r], vec4u(s0) + vec4u(0u, 1u, 2u, 3u) <= vec4u(t));
      let mt = max(m[r], max(max(x.x, x.y), max(x.z, x.w)));
      let a = exp(m[r] - mt);
      e[r] = exp(x - vec4f(mt));
      l[r] = l[r] * a + ((e[r].x + e[r].y) + (e[r].z + e[r].w));
      for (var j = 0u; j < DV; j++) { o[r][j] *= a; }
      m[r] = mt;
    }
    for (var j = 0u; j < DV; j++) {
      let v0 = v[kb0 + j];
      let v1 = v[kb1 + j];
      let v2 = v[kb2 + j];
      let v3 = v[kb3 + j];
      for (var r = 0u; r < ROWS; r++) {
        let w = e[r];
        o[r][j] = o[r][j] + w.x * v0 + w.y * v1 + w.z * v2 + w.w * v3;
      }
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    let t = t0 + r;
    if (t < T) {
      let qb = rowOf(b, t, p.H, h);
      let inv = 1.0 / l[r];
      for (var j = 0u; j < DV; j++) { out[qb + j] = o[r][j] * inv; }
      lse[(b * p.H + h) * T + t] = m[r] + log(l[r]);
    }
  }
}

@compute @workgroup_size(WG)
fn backward_dq(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let T = p.T;
  let nb = (T + ROWS - 1u) / ROWS;
  if (i >= p.B * p.H * nb) { return; }
  let t0 = (i % nb) * ROWS;
  let h = (i / nb) % p.H;
  let b = i / (nb * p.H);
  let kvh = h / (p.H / p.KV);
  let tEnd = min(t0 + ROWS, T) - 1u;
  var qr: array<array<vec4f, MAXV>, MAXR>;
  var dor: array<array<vec4f, MAXV>, MAXR>;
  var acc: array<array<vec4f, MAXV>, MAXR>;
  var delta = array<f32, MAXR>();
  var lseR: array<f32, MAXR>;
  for (var r = 0u; r < ROWS; r++) {
    let t = min(t0 + r, tEnd);
    let qb = rowOf(b, t, p.H, h);
    for (var j = 0u; j < DV; j++) {
      qr[r][j] = q[qb + j] * p.scale;
      dor[r][j] = dout[qb + j];
      acc[r][j] = vec4f(0.0);
      delta[r] += dot(dor[r][j], outSaved[qb + j]);
    }
    let ri = (b * p.H + h) * T + t;
    lseR[r] = lseIn[ri];
    if (t0 + r < T) { deltaOut[ri] = delta[r]; }
  }
  // Each k and v row is loaded once for all rows; rows with t < s get dS = 0 (select, so no inf · 0).
  for (var s = 0u; s <= tEnd; s++) {
    let kb = rowOf(b, s, p.KV, kvh);
    var kk: array<vec4f, MAXV>;
    var vv: array<vec4f, MAXV>;
    for (var j = 0u; j < DV; j++) {
      kk[j] = k[kb + j];
      vv[j] = v[kb + j];
    }
    for (var r = 0u; r < ROWS; r++) {
      var x = 0.0;
      var dp = 0.0;
      for (var j = 0u; j < DV; j++) {
        x += dot(qr[r][j], kk[j]);
        dp += dot(dor[r][j], vv[j]);
      }
      let ds = select(0.0, exp(x - lseR[r]) * (dp - delta[r]), s <= t0 + r);
      for (var j = 0u; j < DV; j++) { acc[r][j] += ds * kk[j]; }
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    if (t0 + r < T) {
      let qb = rowOf(b, t0 + r, p.H, h);
      for (var j = 0u; j < DV; j++) { dq[qb + j] = acc[r][j] * p.scale; }
    }
  }
}

@compute @workgroup_size(WG)
fn backward_dkdv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let T = p.T;
  let nb = (T + ROWS - 1u) / ROWS;
  if (i >= p.B * p.KV * nb) { return; }
  let s0 = (i % nb) * ROWS;
  let kvh = (i / nb) % p.KV;
  let b = i / (nb * p.KV);
  let rep = p.H / p.KV;
  let sEnd = min(s0 + ROWS, T) - 1u;  // last real key row of the block
  var kr: array<array<vec4f, MAXV>, MAXR>;
  var vr: array<array<vec4f, MAXV>, MAXR>;
  var dka: array<array<vec4f, MAXV>, MAXR>;
  var dva: array<array<vec4f, MAXV>, MAXR>;
  for (var r = 0u; r < ROWS; r++) {
    let kb = rowOf(b, min(s0 + r, sEnd), p.KV, kvh);
    for (var j = 0u; j < DV; j++) {
      kr[r][j] = k[kb + j] * p.scale;
      vr[r][j] = v[kb + j];
      dka[r][j] = vec4f(0.0);
      dva[r][j] = vec4f(0.0);
    }
  }
  // Each q, dout row and lse, delta value is loaded once for all key rows; key rows with s > t get P = 0.
  for (var hi = 0u; hi < rep; hi++) {
    let h = kvh * rep + hi;
    for (var t = s0; t < T; t++) {
      let qb = rowOf(b, t, p.H, h);
      let ri = (b * p.H + h) * T + t;
      let lseT = lseIn[ri];
      let deltaT = deltaIn[ri];
      var qq: array<vec4f, MAXV>;
      var dd: array<vec4f, MAXV>;
      for (var j = 0u; j < DV; j++) {
        qq[j] = q[qb + j];
        dd[j] = dout[qb + j];
      }
      for (var r = 0u; r < ROWS; r++) {
        var x = 0.0;
        var dp = 0.0;
        for (var j = 0u; j < DV; j++) {
          x += dot(kr[r][j], qq[j]);
          dp += dot(vr[r][j], dd[j]);
        }
        let pr = select(0.0, exp(x - lseT), s0 + r <= t);
        let ds = pr * (dp - deltaT);
        for (var j = 0u; j < DV; j++) {
          dva[r][j] += pr * dd[j];
          dka[r][j] += ds * qq[j];
        }
      }
    }
  }
  for (var r = 0u; r < ROWS; r++) {
    if (s0 + r < T) {
      let kb = rowOf(b, s0 + r, p.KV, kvh);
      for (var j = 0u; j < DV; j++) {
        dk[kb + j] = dka[r][j] * p.scale;
        dv[kb + j] = dva[r][j];
      }
    }
  }
}
