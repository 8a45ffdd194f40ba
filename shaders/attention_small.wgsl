// Causal grouped-query attention for a small head dim (D ≤ 32), forward and backward, without workgroup memory or
// barriers: one thread owns ROWS consecutive rows (register blocking, default 4), so every key (or query) row it
// streams from storage is loaded once for all ROWS rows. Same math and the same bindings as
// shaders/attention_forward.wgsl / attention_backward.wgsl (FlashAttention-2, Dao 2023, Alg. 1–2; HF semantics:
// modeling_llama.py `eager_attention_forward` + `repeat_kv`).
// Shapes (f32, row-major): q, out, dout, dq [B, T, H, D]; k, v, dk, dv [B, T, KV, D]; lse, delta [B, H, T].
// Query head h reads kv head floor(h / (H / KV)); row t attends to keys s with t − W < s ≤ t, W = p.window (HF
// masking_utils `sliding_window_overlay`; the host passes W = T for plain causal attention).
//   X_ts = scale·q_t·k_s;  S_ts = X_ts, or SOFTCAP·tanh(X_ts / SOFTCAP) when SOFTCAP > 0 (Gemma 2/3
//   `attn_logit_softcapping`, HF modeling_gemma3.py `eager_attention_forward`);
//   out_t = Σ_s softmax_s(S_t)·v_s;  lse_t = log Σ_s exp(S_ts) over the visible keys;
//   P_ts = exp(S_ts − lse_t);  delta_t = dO_t·O_t;  dS_ts = P_ts (dO_t·v_s − delta_t) · ∂S/∂X (1 − tanh² with a cap);
//   dq_t = scale Σ_s dS_ts k_s;  dk_s = scale Σ_{h in group} Σ_t dS_ts q_t;  dv_s = Σ_{h in group} Σ_t P_ts dO_t.
// Entry points (threads i = gid.x + gid.y · num_workgroups.x · WG; NB = ceil(T / ROWS) row blocks;
// run backward_dq before backward_dkdv):
//   forward        thread (b, h, block), i = (b·H + h)·NB + block, rows t = block·ROWS + r (r < ROWS): online
//                  softmax per row over keys s = lo..t in key order (lo: the block's first row's first key),
//                  4 keys a step (one rescale per step).
//   backward_dq    thread (b, h, block) as forward: writes delta[b, h, t] and dq_t (overwrites) of its rows.
//   backward_dkdv  thread (b, kv head, block), i = (b·KV + kvh)·NB + block, key rows s = block·ROWS + r: sums over
//                  the H/KV query heads of the group in head order and t = s..min(T, sLast + W)−1 in row order;
//                  writes dk_s, dv_s.
// Edges: rows of the last block past T − 1 are clamped to the block's last real row (computed, never stored); keys
// a row must not see (outside t − W < s ≤ t) get score −1e30 (forward: weight exactly 0, rescale exactly 1; every
// row sees a key in its first step of 4, since the rows of a block start their windows at most 3 keys apart) or
// P = 0 via select (backward), so each row sums the same terms in the same order as with one row per thread, plus
// exact zeros: every ROWS gives the same bits (the forward with a window W < T groups keys by 4 from its block's
// first key, so there only each ROWS is deterministic). Every sum runs in a fixed order inside one thread; no atomics.
// Registers: a row is a struct of eight named vec4s and the ROWS rows of a thread are separate variables, read and
// written through constant names with `if (DV > j)` / `if (ROWS > r)` guards that the overrides fold away. No loop
// over a dynamically indexed register array: SwiftShader keeps those in memory (2–5× slower; bench/kernels.bench.ts).
// Bindings (group 0), forward:
//   0 params uniform { B: u32, T: u32, H: u32, KV: u32, scale: f32, window: u32 (1 ≤ W ≤ T) }; 1 q read; 2 k read; 3 v read;
//   4 out read_write [B, T, H, D]; 5 lse read_write [B, H, T]
// Bindings, backward_dq: 0 params; 1 q; 2 k; 3 v; 4 lse; 5 dout; 6 outSaved (all read);
//   7 deltaOut read_write [B, H, T]; 8 dq read_write
// Bindings, backward_dkdv: 0 params; 1 q; 2 k; 3 v; 4 lse; 5 dout; 6 deltaIn (all read); 7 dk, 8 dv read_write

override D: u32 = 8u;               // head dim: multiple of 4, at most 32
override WG: u32 = 64u;             // threads per workgroup
override DV: u32 = D / 4u;          // vec4s per row
override ROWS: u32 = 4u;            // rows per thread, 1..4
override SOFTCAP: f32 = 0.0;        // logit soft-cap; 0 = none

struct Params { B: u32, T: u32, H: u32, KV: u32, scale: f32, window: u32 }

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

/** One row of D ≤ 32 floats; members past DV stay zero and unused. */
struct Row { a: vec4f, b: vec4f, c: vec4f, d: vec4f, e: vec4f, f: vec4f, g: vec4f, h: vec4f }
const ZERO = Row(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));

// vec4 index of row (b, t, head) of a [B, T, heads, D] tensor.
fn rowOf(b: u32, t: u32, heads: u32, head: u32) -> u32 {
  return ((b * p.T + t) * heads + head) * DV;
}

fn loadQ(i: u32) -> Row {
  var r = ZERO;
  r.a = q[i];
  if (DV > 1u) { r.b = q[i + 1u]; }
  if (DV > 2u) { r.c = q[i + 2u]; }
  if (DV > 3u) { r.d = q[i + 3u]; }
  if (DV > 4u) { r.e = q[i + 4u]; }
  if (DV > 5u) { r.f = q[i + 5u]; }
  if (DV > 6u) { r.g = q[i + 6u]; }
  if (DV > 7u) { r.h = q[i + 7u]; }
  return r;
}

fn loadK(i: u32) -> Row {
  var r = ZERO;
  r.a = k[i];
  if (DV > 1u) { r.b = k[i + 1u]; }
  if (DV > 2u) { r.c = k[i + 2u]; }
  if (DV > 3u) { r.d = k[i + 3u]; }
  if (DV > 4u) { r.e = k[i + 4u]; }
  if (DV > 5u) { r.f = k[i + 5u]; }
  if (DV > 6u) { r.g = k[i + 6u]; }
  if (DV > 7u) { r.h = k[i + 7u]; }
  return r;
}

fn loadV(i: u32) -> Row {
  var r = ZERO;
  r.a = v[i];
  if (DV > 1u) { r.b = v[i + 1u]; }
  if (DV > 2u) { r.c = v[i + 2u]; }
  if (DV > 3u) { r.d = v[i + 3u]; }
  if (DV > 4u) { r.e = v[i + 4u]; }
  if (DV > 5u) { r.f = v[i + 5u]; }
  if (DV > 6u) { r.g = v[i + 6u]; }
  if (DV > 7u) { r.h = v[i + 7u]; }
  return r;
}

fn loadDout(i: u32) -> Row {
  var r = ZERO;
  r.a = dout[i];
  if (DV > 1u) { r.b = dout[i + 1u]; }
  if (DV > 2u) { r.c = dout[i + 2u]; }
  if (DV > 3u) { r.d = dout[i + 3u]; }
  if (DV > 4u) { r.e = dout[i + 4u]; }
  if (DV > 5u) { r.f = dout[i + 5u]; }
  if (DV > 6u) { r.g = dout[i + 6u]; }
  if (DV > 7u) { r.h = dout[i + 7u]; }
  return r;
}

fn loadOutSaved(i: u32) -> Row {
  var r = ZERO;
  r.a = outSaved[i];
  if (DV > 1u) { r.b = outSaved[i + 1u]; }
  if (DV > 2u) { r.c = outSaved[i + 2u]; }
  if (DV > 3u) { r.d = outSaved[i + 3u]; }
  if (DV > 4u) { r.e = outSaved[i + 4u]; }
  if (DV > 5u) { r.f = outSaved[i + 5u]; }
  if (DV > 6u) { r.g = outSaved[i + 6u]; }
  if (DV > 7u) { r.h = outSaved[i + 7u]; }
  return r;
}

fn storeOut(i: u32, r: Row) {
  out[i] = r.a;
  if (DV > 1u) { out[i + 1u] = r.b; }
  if (DV > 2u) { out[i + 2u] = r.c; }
  if (DV > 3u) { out[i + 3u] = r.d; }
  if (DV > 4u) { out[i + 4u] = r.e; }
  if (DV > 5u) { out[i + 5u] = r.f; }
  if (DV > 6u) { out[i + 6u] = r.g; }
  if (DV > 7u) { out[i + 7u] = r.h; }
}

fn storeDq(i: u32, r: Row) {
  dq[i] = r.a;
  if (DV > 1u) { dq[i + 1u] = r.b; }
  if (DV > 2u) { dq[i + 2u] = r.c; }
  if (DV > 3u) { dq[i + 3u] = r.d; }
  if (DV > 4u) { dq[i + 4u] = r.e; }
  if (DV > 5u) { dq[i + 5u] = r.f; }
  if (DV > 6u) { dq[i + 6u] = r.g; }
  if (DV > 7u) { dq[i + 7u] = r.h; }
}

fn storeDk(i: u32, r: Row) {
  dk[i] = r.a;
  if (DV > 1u) { dk[i + 1u] = r.b; }
  if (DV > 2u) { dk[i + 2u] = r.c; }
  if (DV > 3u) { dk[i + 3u] = r.d; }
  if (DV > 4u) { dk[i + 4u] = r.e; }
  if (DV > 5u) { dk[i + 5u] = r.f; }
  if (DV > 6u) { dk[i + 6u] = r.g; }
  if (DV > 7u) { dk[i + 7u] = r.h; }
}

fn storeDv(i: u32, r: Row) {
  dv[i] = r.a;
  if (DV > 1u) { dv[i + 1u] = r.b; }
  if (DV > 2u) { dv[i + 2u] = r.c; }
  if (DV > 3u) { dv[i + 3u] = r.d; }
  if (DV > 4u) { dv[i + 4u] = r.e; }
  if (DV > 5u) { dv[i + 5u] = r.f; }
  if (DV > 6u) { dv[i + 6u] = r.g; }
  if (DV > 7u) { dv[i + 7u] = r.h; }
}

/** x·s, member by member. */
fn scaled(x: Row, s: f32) -> Row {
  return Row(x.a * s, x.b * s, x.c * s, x.d * s, x.e * s, x.f * s, x.g * s, x.h * s);
}

/** acc + s·x, member by member. */
fn axpy(acc: Row, s: f32, x: Row) -> Row {
  return Row(acc.a + s * x.a, acc.b + s * x.b, acc.c + s * x.c, acc.d + s * x.d, acc.e + s * x.e, acc.f + s * x.f, acc.g + s * x.g, acc.h + s * x.h);
}

/** Σ_j x_j·y_j over the row, member 0 first (the order of a loop over j). */
fn dotRow(x: Row, y: Row) -> f32 {
  var s = dot(x.a, y.a);
  if (DV > 1u) { s += dot(x.b, y.b); }
  if (DV > 2u) { s += dot(x.c, y.c); }
  if (DV > 3u) { s += dot(x.d, y.d); }
  if (DV > 4u) { s += dot(x.e, y.e); }
  if (DV > 5u) { s += dot(x.f, y.f); }
  if (DV > 6u) { s += dot(x.g, y.g); }
  if (DV > 7u) { s += dot(x.h, y.h); }
  return s;
}

/** Whether query row t sees key s: t − window < s ≤ t. */
fn visible(s: u32, t: u32) -> bool {
  return s <= t && s + p.window > t;
}

/** First key of query row t's window. */
fn firstKey(t: u32) -> u32 {
  return t + 1u - min(p.window, t + 1u);
}

/** Score S from X = scale·q·k: soft-capped when SOFTCAP > 0. */
fn capped(x: f32) -> f32 {
  if (SOFTCAP > 0.0) { return SOFTCAP * tanh(x / SOFTCAP); }
  return x;
}

/** dS of a visible pair from X = scale·q·k, the query's lse and dP − delta (dS = P·(dP − delta)·∂S/∂X). */
fn dScore(x: f32, lseT: f32, dpDelta: f32) -> f32 {
  if (SOFTCAP > 0.0) {
    let th = tanh(x / SOFTCAP);
    return exp(SOFTCAP * th - lseT) * dpDelta * (1.0 - th * th);
  }
  return exp(x - lseT) * dpDelta;
}

/** Online-softmax state of one query row in the forward. */
struct FwdRow { q: Row, o: Row, m: f32, l: f32 }

/** Starts query row qb (q pre-scaled). */
fn fwdInit(qb: u32) -> FwdRow {
  return FwdRow(scaled(loadQ(qb), p.scale), ZERO, -1e30, 0.0);
}

/** One step of 4 keys s0..s0+3 (rows k0..k3, v0..v3) for query row t: keys it does not see weigh exactly 0. */
fn fwdStep(st: FwdRow, t: u32, s0: u32, k0: Row, k1: Row, k2: Row, k3: Row, v0: Row, v1: Row, v2: Row, v3: Row) -> FwdRow {
  let xs = vec4f(
    select(-1e30, capped(dotRow(st.q, k0)), visible(s0, t)),
    select(-1e30, capped(dotRow(st.q, k1)), visible(s0 + 1u, t)),
    select(-1e30, capped(dotRow(st.q, k2)), visible(s0 + 2u, t)),
    select(-1e30, capped(dotRow(st.q, k3)), visible(s0 + 3u, t)),
  );
  let mt = max(st.m, max(max(xs.x, xs.y), max(xs.z, xs.w)));
  let a = exp(st.m - mt);
  let e = exp(xs - vec4f(mt));
  let o = st.o;
  let on = Row(
    o.a * a + e.x * v0.a + e.y * v1.a + e.z * v2.a + e.w * v3.a,
    o.b * a + e.x * v0.b + e.y * v1.b + e.z * v2.b + e.w * v3.b,
    o.c * a + e.x * v0.c + e.y * v1.c + e.z * v2.c + e.w * v3.c,
    o.d * a + e.x * v0.d + e.y * v1.d + e.z * v2.d + e.w * v3.d,
    o.e * a + e.x * v0.e + e.y * v1.e + e.z * v2.e + e.w * v3.e,
    o.f * a + e.x * v0.f + e.y * v1.f + e.z * v2.f + e.w * v3.f,
    o.g * a + e.x * v0.g + e.y * v1.g + e.z * v2.g + e.w * v3.g,
    o.h * a + e.x * v0.h + e.y * v1.h + e.z * v2.h + e.w * v3.h,
  );
  return FwdRow(st.q, on, mt, st.l * a + ((e.x + e.y) + (e.z + e.w)));
}

/** Stores row t's output and lse unless t is a clamped copy past the block's last real row. */
fn fwdStore(st: FwdRow, b: u32, h: u32, t: u32, real: bool) {
  if (!real) { return; }
  storeOut(rowOf(b, t, p.H, h), scaled(st.o, 1.0 / st.l));
  lse[(b * p.H + h) * p.T + t] = st.m + log(st.l);
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
  let t1 = min(t0 + 1u, tEnd);
  let t2 = min(t0 + 2u, tEnd);
  let t3 = min(t0 + 3u, tEnd);
  var r0 = fwdInit(rowOf(b, t0, p.H, h));
  var r1 = r0; var r2 = r0; var r3 = r0;
  if (ROWS > 1u) { r1 = fwdInit(rowOf(b, t1, p.H, h)); }
  if (ROWS > 2u) { r2 = fwdInit(rowOf(b, t2, p.H, h)); }
  if (ROWS > 3u) { r3 = fwdInit(rowOf(b, t3, p.H, h)); }
  // Keys in blocks of 4, each k and v row loaded once for all rows; keys past tEnd read row tEnd again.
  for (var s0 = firstKey(t0); s0 <= tEnd; s0 += 4u) {
    let i0 = rowOf(b, s0, p.KV, kvh);
    let i1 = rowOf(b, min(s0 + 1u, tEnd), p.KV, kvh);
    let i2 = rowOf(b, min(s0 + 2u, tEnd), p.KV, kvh);
    let i3 = rowOf(b, min(s0 + 3u, tEnd), p.KV, kvh);
    let k0 = loadK(i0); let k1 = loadK(i1); let k2 = loadK(i2); let k3 = loadK(i3);
    let v0 = loadV(i0); let v1 = loadV(i1); let v2 = loadV(i2); let v3 = loadV(i3);
    r0 = fwdStep(r0, t0, s0, k0, k1, k2, k3, v0, v1, v2, v3);
    if (ROWS > 1u) { r1 = fwdStep(r1, t1, s0, k0, k1, k2, k3, v0, v1, v2, v3); }
    if (ROWS > 2u) { r2 = fwdStep(r2, t2, s0, k0, k1, k2, k3, v0, v1, v2, v3); }
    if (ROWS > 3u) { r3 = fwdStep(r3, t3, s0, k0, k1, k2, k3, v0, v1, v2, v3); }
  }
  fwdStore(r0, b, h, t0, true);
  if (ROWS > 1u) { fwdStore(r1, b, h, t1, t0 + 1u <= tEnd); }
  if (ROWS > 2u) { fwdStore(r2, b, h, t2, t0 + 2u <= tEnd); }
  if (ROWS > 3u) { fwdStore(r3, b, h, t3, t0 + 3u <= tEnd); }
}

/** dq state of one query row: its q (pre-scaled), dO, accumulator, delta and lse. */
struct DqRow { q: Row, dout: Row, acc: Row, delta: f32, lse: f32 }

/** Starts query row t of head h: computes delta_t = dO_t·O_t and stores it (unless t is a clamped copy). */
fn dqInit(b: u32, h: u32, t: u32, real: bool) -> DqRow {
  let qb = rowOf(b, t, p.H, h);
  let dor = loadDout(qb);
  let delta = dotRow(dor, loadOutSaved(qb));
  let ri = (b * p.H + h) * p.T + t;
  if (real) { deltaOut[ri] = delta; }
  return DqRow(scaled(loadQ(qb), p.scale), dor, ZERO, delta, lseIn[ri]);
}

/** Adds key s (rows kk, vv) to query row t's dq; a key it does not see adds exactly zero. */
fn dqStep(st: DqRow, t: u32, s: u32, kk: Row, vv: Row) -> DqRow {
  let ds = select(0.0, dScore(dotRow(st.q, kk), st.lse, dotRow(st.dout, vv) - st.delta), visible(s, t));
  return DqRow(st.q, st.dout, axpy(st.acc, ds, kk), st.delta, st.lse);
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
  let t1 = min(t0 + 1u, tEnd);
  let t2 = min(t0 + 2u, tEnd);
  let t3 = min(t0 + 3u, tEnd);
  var r0 = dqInit(b, h, t0, true);
  var r1 = r0; var r2 = r0; var r3 = r0;
  if (ROWS > 1u) { r1 = dqInit(b, h, t1, t0 + 1u <= tEnd); }
  if (ROWS > 2u) { r2 = dqInit(b, h, t2, t0 + 2u <= tEnd); }
  if (ROWS > 3u) { r3 = dqInit(b, h, t3, t0 + 3u <= tEnd); }
  for (var s = firstKey(t0); s <= tEnd; s++) {
    let kb = rowOf(b, s, p.KV, kvh);
    let kk = loadK(kb);             // each k and v row is loaded once for all rows
    let vv = loadV(kb);
    r0 = dqStep(r0, t0, s, kk, vv);
    if (ROWS > 1u) { r1 = dqStep(r1, t1, s, kk, vv); }
    if (ROWS > 2u) { r2 = dqStep(r2, t2, s, kk, vv); }
    if (ROWS > 3u) { r3 = dqStep(r3, t3, s, kk, vv); }
  }
  storeDq(rowOf(b, t0, p.H, h), scaled(r0.acc, p.scale));
  if (ROWS > 1u && t0 + 1u <= tEnd) { storeDq(rowOf(b, t1, p.H, h), scaled(r1.acc, p.scale)); }
  if (ROWS > 2u && t0 + 2u <= tEnd) { storeDq(rowOf(b, t2, p.H, h), scaled(r2.acc, p.scale)); }
  if (ROWS > 3u && t0 + 3u <= tEnd) { storeDq(rowOf(b, t3, p.H, h), scaled(r3.acc, p.scale)); }
}

/** dk/dv state of one key row: its k (pre-scaled) and v, and the two accumulators. */
struct KvRow { k: Row, v: Row, dk: Row, dv: Row }

fn kvInit(kb: u32) -> KvRow {
  return KvRow(scaled(loadK(kb), p.scale), loadV(kb), ZERO, ZERO);
}

/** Adds query row t (rows qq, dd; its lse and delta) to key row s; a query that does not see s adds exactly zero. */
fn kvStep(st: KvRow, s: u32, t: u32, qq: Row, dd: Row, lseT: f32, deltaT: f32) -> KvRow {
  let x = dotRow(st.k, qq);
  var pr: f32;
  var ds: f32;
  if (SOFTCAP > 0.0) {
    let th = tanh(x / SOFTCAP);
    pr = select(0.0, exp(SOFTCAP * th - lseT), visible(s, t));
    ds = pr * (dotRow(st.v, dd) - deltaT) * (1.0 - th * th);
  } else {
    pr = select(0.0, exp(x - lseT), visible(s, t));
    ds = pr * (dotRow(st.v, dd) - deltaT);
  }
  return KvRow(st.k, st.v, axpy(st.dk, ds, qq), axpy(st.dv, pr, dd));
}

/** Stores key row s's dk, dv unless it is a clamped copy. */
fn kvStore(st: KvRow, kb: u32, real: bool) {
  if (!real) { return; }
  storeDk(kb, scaled(st.dk, p.scale));
  storeDv(kb, st.dv);
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
  let sEnd = min(s0 + ROWS, T) - 1u;
  let s1 = min(s0 + 1u, sEnd);
  let s2 = min(s0 + 2u, sEnd);
  let s3 = min(s0 + 3u, sEnd);
  var r0 = kvInit(rowOf(b, s0, p.KV, kvh));
  var r1 = r0; var r2 = r0; var r3 = r0;
  if (ROWS > 1u) { r1 = kvInit(rowOf(b, s1, p.KV, kvh)); }
  if (ROWS > 2u) { r2 = kvInit(rowOf(b, s2, p.KV, kvh)); }
  if (ROWS > 3u) { r3 = kvInit(rowOf(b, s3, p.KV, kvh)); }
  let tHi = min(T, sEnd + p.window);   // past the last query row that sees key sEnd
  for (var hi = 0u; hi < rep; hi++) {
    let h = kvh * rep + hi;
    for (var t = s0; t < tHi; t++) {
      let qb = rowOf(b, t, p.H, h);
      let ri = (b * p.H + h) * T + t;
      let qq = loadQ(qb);           // each q, dout, lse and delta row is loaded once for all rows
      let dd = loadDout(qb);
      let lseT = lseIn[ri];
      let deltaT = deltaIn[ri];
      r0 = kvStep(r0, s0, t, qq, dd, lseT, deltaT);
      if (ROWS > 1u) { r1 = kvStep(r1, s1, t, qq, dd, lseT, deltaT); }
      if (ROWS > 2u) { r2 = kvStep(r2, s2, t, qq, dd, lseT, deltaT); }
      if (ROWS > 3u) { r3 = kvStep(r3, s3, t, qq, dd, lseT, deltaT); }
    }
  }
  kvStore(r0, rowOf(b, s0, p.KV, kvh), true);
  if (ROWS > 1u) { kvStore(r1, rowOf(b, s1, p.KV, kvh), s0 + 1u <= sEnd); }
  if (ROWS > 2u) { kvStore(r2, rowOf(b, s2, p.KV, kvh), s0 + 2u <= sEnd); }
  if (ROWS > 3u) { kvStore(r3, rowOf(b, s3, p.KV, kvh), s0 + 3u <= sEnd); }
}
