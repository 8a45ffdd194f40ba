// Causal grouped-query attention, backward (FlashAttention-2, Dao 2023, Alg. 2, split into two kernels so that
// no atomics are needed). P is recomputed from q, k and the saved lse; no [T, T] matrix is stored.
// Shapes (f32, row-major): q, out, dout, dq [B, T, H, D]; k, v, dk, dv [B, T, KV, D]; lse, delta [B, H, T].
// Row t sees keys s with t − W < s ≤ t, W = p.window (HF masking_utils `sliding_window_overlay`; W = T: causal).
//   X_ts = scale·q_t·k_s;  S_ts = X_ts, or SOFTCAP·tanh(X_ts / SOFTCAP) when SOFTCAP > 0 (Gemma 2/3
//   `attn_logit_softcapping`);  P_ts = exp(S_ts − lse_t) for visible s, else 0;  delta_t = Σ_d dO_t ⊙ O_t;
//   dP_ts = dO_t·v_s;  dS_ts = P_ts (dP_ts − delta_t) · ∂S/∂X (= 1 − tanh²(X_ts / SOFTCAP) with a cap, else 1);
//   dq_t = scale Σ_s dS_ts k_s;  dk_s = scale Σ_{h in group} Σ_t dS_ts q_t;  dv_s = Σ_{h in group} Σ_t P_ts dO_t.
// Entry points (run backward_dq first: it writes delta, which backward_dkdv reads):
//   backward_dq   one workgroup per (b, h, tile of BR query rows); writes delta and dq (overwrites).
//   backward_dkdv one workgroup per (b, kv head, tile of BR keys); sums over the H/KV query heads of the group
//                 and the query rows s ≤ t < s + W; writes dk, dv (overwrites).
// Tiles outside the window (key tiles before the first row's window in dq, query tiles past the last key's
// window in dkdv) are skipped.
// Thread li = r·TPR + lane owns row r of its tile and head-dim lanes d = lane + j·TPR. 2-D grid as in forward.
// Workgroup memory: (BR·D + WG·BR + 2·BR) floats: 12 KiB at D = 128 (BR = 16, TPR = 4), 10 KiB at D = 256
// (BR = 8, TPR = 8).
// Bindings of backward_dq (group 0):
//   0 params    uniform     { B: u32, T: u32, H: u32, KV: u32, scale: f32, window: u32 (1 ≤ W ≤ T) }
//   1 q         read        [B, T, H, D]
//   2 k         read        [B, T, KV, D]
//   3 v         read        [B, T, KV, D]
//   4 lse       read        [B, H, T]
//   5 dout      read        [B, T, H, D]
//   6 outSaved  read        [B, T, H, D]  (forward output)
//   7 deltaOut  read_write  [B, H, T]     (scratch)
//   8 dq        read_write  [B, T, H, D]
// Bindings of backward_dkdv (group 0):
//   0 params, 1 q, 2 k, 3 v, 4 lse, 5 dout   as above
//   6 deltaIn   read        [B, H, T]
//   7 dk        read_write  [B, T, KV, D]
//   8 dv        read_write  [B, T, KV, D]

override D: u32 = 64u;              // head dim: multiple of TPR, at most TPR · MAXDL
override BR: u32 = 16u;             // rows per tile (query and key rows), at most MAXB
override TPR: u32 = 4u;             // threads per row
override WG: u32 = BR * TPR;
override SOFTCAP: f32 = 0.0;        // logit soft-cap; 0 = none
const MAXDL: u32 = 32u;             // largest D / TPR
const MAXB: u32 = 16u;              // largest BR
override DL: u32 = D / TPR;

struct Params { B: u32, T: u32, H: u32, KV: u32, scale: f32, window: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> lse: array<f32>;
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> outSaved: array<f32>;
@group(0) @binding(7) var<storage, read_write> deltaOut: array<f32>;
@group(0) @binding(8) var<storage, read_write> dq: array<f32>;
@group(0) @binding(6) var<storage, read> deltaIn: array<f32>;
@group(0) @binding(7) var<storage, read_write> dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> dv: array<f32>;

var<workgroup> tile: array<f32, BR * D>;      // BR rows of one operand (zeros past T)
var<workgroup> part: array<f32, WG * BR>;     // partial dots [row, lane, other row]
var<workgroup> rowLse: array<f32, BR>;        // dkdv: lse of the query tile
var<workgroup> rowDelta: array<f32, BR>;      // dkdv: delta of the query tile

// Loads rows s0.. of a [B, T, KV, D] tensor (which = 0: k, 1: v) into `tile`.
fn loadKV(which: u32, b: u32, kvh: u32, s0: u32, li: u32) {
  for (var i = li; i < BR * D; i += WG) {
    let s = s0 + i / D;
    let idx = ((b * p.T + min(s, p.T - 1u)) * p.KV + kvh) * D + i % D;
    var x = 0.0;
    if (which == 0u) { x = k[idx]; } else { x = v[idx]; }
    tile[i] = select(0.0, x, s < p.T);
  }
}

// Loads rows t0.. of a [B, T, H, D] tensor (which = 0: q, 1: dout) into `tile`.
fn loadQD(which: u32, b: u32, h: u32, t0: u32, li: u32) {
  for (var i = li; i < BR * D; i += WG) {
    let t = t0 + i / D;
    let idx = ((b * p.T + min(t, p.T - 1u)) * p.H + h) * D + i % D;
    var x = 0.0;
    if (which == 0u) { x = q[idx]; } else { x = dout[idx]; }
    tile[i] = select(0.0, x, t < p.T);
  }
}

// part[li·BR + c] = Σ_j a[j] · tile[c, lane + j·TPR] for the BR rows c of the tile.
fn partialDots(a: ptr<function, array<f32, MAXDL>>, li: u32, lane: u32) {
  for (var c = 0u; c < BR; c++) {
    var acc = 0.0;
    for (var j = 0u; j < DL; j++) { acc += (*a)[j] * tile[c * D + lane + j * TPR]; }
    part[li * BR + c] = acc;
  }
}

// Whether query row t sees key s: t − window < s ≤ t.
fn visible(s: u32, t: u32) -> bool {
  return s <= t && s + p.window > t;
}

// dS of a visible (query, key) pair from its raw dot q·k, the query's lse and dP − delta (see the header).
fn dScore(dot: f32, lseT: f32, dpDelta: f32) -> f32 {
  if (SOFTCAP > 0.0) {
    let th = tanh(dot * p.scale / SOFTCAP);
    return exp(SOFTCAP * th - lseT) * dpDelta * (1.0 - th * th);
  }
  return exp(dot * p.scale - lseT) * dpDelta;
}

// Σ over the TPR lanes of row r of part[·, ·, c], in lane order.
fn rowSum(r: u32, c: u32) -> f32 {
  var s = 0.0;
  for (var ln = 0u; ln < TPR; ln++) { s += part[(r * TPR + ln) * BR + c]; }
  return s;
}

@compute @workgroup_size(WG)
fn backward_dq(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
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
  let base = ((b * T + min(t, T - 1u)) * p.H + h) * D + lane;

  var qr: array<f32, MAXDL>;
  var dor: array<f32, MAXDL>;
  var acc: array<f32, MAXDL>;
  var dpart = 0.0;
  for (var j = 0u; j < DL; j++) {
    qr[j] = q[base + j * TPR];
    dor[j] = dout[base + j * TPR];
    acc[j] = 0.0;
    dpart += dor[j] * outSaved[base + j * TPR];
  }
  part[li] = dpart;
  workgroupBarrier();
  var delta = 0.0;
  for (var ln = 0u; ln < TPR; ln++) { delta += part[r * TPR + ln]; }
  let rowIdx = (b * p.H + h) * T + min(t, T - 1u);
  if (t < T && lane == 0u) { deltaOut[rowIdx] = delta; }
  let lseT = lse[rowIdx];
  workgroupBarrier();

  let t0 = qt * BR;
  let kt0 = (t0 + 1u - min(p.window, t0 + 1u)) / BR;  // first key tile the tile's first row sees
  let nkt = (min(T, t0 + BR) - 1u) / BR + 1u;
  for (var kt = kt0; kt < nkt; kt++) {
    let s0 = kt * BR;
    loadKV(0u, b, kvh, s0, li);
    workgroupBarrier();
    partialDots(&qr, li, lane);
    workgroupBarrier();
    var sc: array<f32, MAXB>;
    for (var c = 0u; c < BR; c++) { sc[c] = rowSum(r, c); }
    loadKV(1u, b, kvh, s0, li);
    workgroupBarrier();
    partialDots(&dor, li, lane);
    workgroupBarrier();
    var ds: array<f32, MAXB>;
    for (var c = 0u; c < BR; c++) {
      var x = 0.0;
      if (visible(s0 + c, t)) { x = dScore(sc[c], lseT, rowSum(r, c) - delta); }
      ds[c] = x;
    }
    loadKV(0u, b, kvh, s0, li);
    workgroupBarrier();
    for (var c = 0u; c < BR; c++) {
      for (var j = 0u; j < DL; j++) { acc[j] += ds[c] * tile[c * D + lane + j * TPR]; }
    }
    workgroupBarrier();
  }
  if (t < T) {
    for (var j = 0u; j < DL; j++) { dq[base + j * TPR] = acc[j] * p.scale; }
  }
}

@compute @workgroup_size(WG)
fn backward_dkdv(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let T = p.T;
  let ns = (T + BR - 1u) / BR;
  let g = wid.x + wid.y * nwg.x;
  if (g >= p.B * p.KV * ns) { return; }
  let st = g % ns;
  let kvh = (g / ns) % p.KV;
  let b = g / (ns * p.KV);
  let rep = p.H / p.KV;
  let c = li / TPR;                   // key row of the tile
  let lane = li % TPR;
  let s = st * BR + c;
  let base = ((b * T + min(s, T - 1u)) * p.KV + kvh) * D + lane;

  var kr: array<f32, MAXDL>;
  var vr: array<f32, MAXDL>;
  var dka: array<f32, MAXDL>;
  var dva: array<f32, MAXDL>;
  for (var j = 0u; j < DL; j++) {
    kr[j] = k[base + j * TPR];
    vr[j] = v[base + j * TPR];
    dka[j] = 0.0;
    dva[j] = 0.0;
  }
  let sLast = min(T, st * BR + BR) - 1u;
  let nq = min((T + BR - 1u) / BR, (sLast + p.window - 1u) / BR + 1u);  // up to the tile of the last row that sees sLast
  for (var hi = 0u; hi < rep; hi++) {
    let h = kvh * rep + hi;
    for (var qt = st; qt < nq; qt++) {   // query and key tiles have BR rows, so query tiles before st see none of these keys
      let t0 = qt * BR;
      loadQD(0u, b, h, t0, li);
      if (li < BR) {
        let tt = t0 + li;
        let ri = (b * p.H + h) * T + min(tt, T - 1u);
        rowLse[li] = lse[ri];
        rowDelta[li] = deltaIn[ri];
      }
      workgroupBarrier();
      partialDots(&kr, li, lane);
      workgroupBarrier();
      var sc: array<f32, MAXB>;
      for (var rr = 0u; rr < BR; rr++) { sc[rr] = rowSum(c, rr); }
      loadQD(1u, b, h, t0, li);
      workgroupBarrier();
      partialDots(&vr, li, lane);
      workgroupBarrier();
      var ds: array<f32, MAXB>;
      for (var rr = 0u; rr < BR; rr++) {
        let tt = t0 + rr;
        var pr = 0.0;
        var x = 0.0;
        if (visible(s, tt) && tt < T) {
          if (SOFTCAP > 0.0) {
            let th = tanh(sc[rr] * p.scale / SOFTCAP);
            pr = exp(SOFTCAP * th - rowLse[rr]);
            x = pr * (rowSum(c, rr) - rowDelta[rr]) * (1.0 - th * th);
          } else {
            pr = exp(sc[rr] * p.scale - rowLse[rr]);
            x = pr * (rowSum(c, rr) - rowDelta[rr]);
          }
        }
        ds[rr] = x;
        for (var j = 0u; j < DL; j++) { dva[j] += pr * tile[rr * D + lane + j * TPR]; }
      }
      workgroupBarrier();
      loadQD(0u, b, h, t0, li);
      workgroupBarrier();
      for (var rr = 0u; rr < BR; rr++) {
        for (var j = 0u; j < DL; j++) { dka[j] += ds[rr] * tile[rr * D + lane + j * TPR]; }
      }
      workgroupBarrier();
    }
  }
  if (s < T) {
    for (var j = 0u; j < DL; j++) {
      dk[base + j * TPR] = dka[j] * p.scale;
      dv[base + j * TPR] = dva[j];
    }
  }
}
