// Causal grouped-query attention for a small head dim (D ≤ 32), forward and backward, without
// workgroup memory or barriers: one thread owns one row and keeps it in registers (a Row of up to 8 vec4s). Same math and the
// same bindings as shaders/attention_forward.wgsl / attention_backward.wgsl (FlashAttention-2, Dao 2023,
// Alg. 1–2, with one key at a time; HF semantics: modeling_llama.py `eager_attention_forward` + `repeat_kv`).
// Shapes (f32, row-major): q, out, dout, dq [B, T, H, D]; k, v, dk, dv [B, T, KV, D]; lse, delta [B, H, T].
// Query head h reads kv head floor(h / (H / KV)); row t attends to keys s ≤ t.
//   S_ts = scale·q_t·k_s;  out_t = Σ_s softmax_s(S_t)·v_s;  lse_t = log Σ_{s≤t} exp(S_ts);
//   P_ts = exp(S_ts − lse_t);  delta_t = dO_t·O_t;  dS_ts = P_ts (dO_t·v_s − delta_t);
//   dq_t = scale Σ_s dS_ts k_s;  dk_s = scale Σ_{h in group} Σ_{t≥s} dS_ts q_t;  dv_s = Σ_{h in group} Σ_{t≥s} P_ts dO_t.
// Entry points (threads i = gid.x + gid.y · num_workgroups.x · WG; run backward_dq before backward_dkdv):
//   forward        thread (b, h, t), i = (b·H + h)·T + t: online softmax over s = 0..t in key order, 4 keys a step.
//   backward_dq    thread (b, h, t): writes delta[b, h, t] and dq_t (overwrites).
//   backward_dkdv  thread (b, kv head, s), i = (b·KV + kvh)·T + s: sums over the H/KV query heads of the group
//                  in head order and t = s..T−1 in row order; writes dk_s, dv_s (overwrites).
// Every sum runs in a fixed order inside one thread: results are deterministic; no atomics.
// Bindings (group 0), forward:
//   0 params uniform { B: u32, T: u32, H: u32, KV: u32, scale: f32 }; 1 q read; 2 k read; 3 v read;
//   4 out read_write [B, T, H, D]; 5 lse read_write [B, H, T]
// Bindings, backward_dq: 0 params; 1 q; 2 k; 3 v; 4 lse; 5 dout; 6 outSaved (all read);
//   7 deltaOut read_write [B, H, T]; 8 dq read_write
// Bindings, backward_dkdv: 0 params; 1 q; 2 k; 3 v; 4 lse; 5 dout; 6 deltaIn (all read); 7 dk, 8 dv read_write
// Registers: a row is a struct of eight named vec4s, read and written through constant member names with
// `if (DV > j)` guards that the override D folds away (no loop over a dynamically indexed array: SwiftShader keeps
// those in memory, 2.2× slower on the demo's forward; bench/kernels.bench.ts).

override D: u32 = 8u;               // head dim: multiple of 4, at most 32
override WG: u32 = 64u;             // threads per workgroup
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

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let T = p.T;
  if (i >= p.B * p.H * T) { return; }
  let t = i % T;
  let h = (i / T) % p.H;
  let b = i / (T * p.H);
  let kvh = h / (p.H / p.KV);
  let qb = rowOf(b, t, p.H, h);
  let qr = scaled(loadQ(qb), p.scale);
  var o = ZERO;
  var m = -1e30;
  var l = 0.0;
  // Keys in blocks of 4 (one rescale per block, no data-dependent branch); keys past t get weight exp(−1e30) = 0
  // and read row t again instead of leaving the sequence.
  for (var s0 = 0u; s0 <= t; s0 += 4u) {
    let k0 = rowOf(b, s0, p.KV, kvh);
    let k1 = rowOf(b, min(s0 + 1u, t), p.KV, kvh);
    let k2 = rowOf(b, min(s0 + 2u, t), p.KV, kvh);
    let k3 = rowOf(b, min(s0 + 3u, t), p.KV, kvh);
    let xs = vec4f(
      dotRow(qr, loadK(k0)),
      select(-1e30, dotRow(qr, loadK(k1)), s0 + 1u <= t),
      select(-1e30, dotRow(qr, loadK(k2)), s0 + 2u <= t),
      select(-1e30, dotRow(qr, loadK(k3)), s0 + 3u <= t),
    );
    let mt = max(m, max(max(xs.x, xs.y), max(xs.z, xs.w)));
    let a = exp(m - mt);
    let e = exp(xs - vec4f(mt));
    l = l * a + ((e.x + e.y) + (e.z + e.w));
    let v0 = loadV(k0);
    let v1 = loadV(k1);
    let v2 = loadV(k2);
    let v3 = loadV(k3);
    o = Row(
      o.a * a + e.x * v0.a + e.y * v1.a + e.z * v2.a + e.w * v3.a,
      o.b * a + e.x * v0.b + e.y * v1.b + e.z * v2.b + e.w * v3.b,
      o.c * a + e.x * v0.c + e.y * v1.c + e.z * v2.c + e.w * v3.c,
      o.d * a + e.x * v0.d + e.y * v1.d + e.z * v2.d + e.w * v3.d,
      o.e * a + e.x * v0.e + e.y * v1.e + e.z * v2.e + e.w * v3.e,
      o.f * a + e.x * v0.f + e.y * v1.f + e.z * v2.f + e.w * v3.f,
      o.g * a + e.x * v0.g + e.y * v1.g + e.z * v2.g + e.w * v3.g,
      o.h * a + e.x * v0.h + e.y * v1.h + e.z * v2.h + e.w * v3.h,
    );
    m = mt;
  }
  storeOut(qb, scaled(o, 1.0 / l));
  lse[(b * p.H + h) * T + t] = m + log(l);
}

@compute @workgroup_size(WG)
fn backward_dq(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let T = p.T;
  if (i >= p.B * p.H * T) { return; }
  let t = i % T;
  let h = (i / T) % p.H;
  let b = i / (T * p.H);
  let kvh = h / (p.H / p.KV);
  let qb = rowOf(b, t, p.H, h);
  let qr = scaled(loadQ(qb), p.scale);
  let dor = loadDout(qb);
  let delta = dotRow(dor, loadOutSaved(qb));
  let ri = (b * p.H + h) * T + t;
  deltaOut[ri] = delta;
  let lseT = lseIn[ri];
  var acc = ZERO;
  for (var s = 0u; s <= t; s++) {
    let kb = rowOf(b, s, p.KV, kvh);
    let kk = loadK(kb);             // each k element is loaded once per key
    let ds = exp(dotRow(qr, kk) - lseT) * (dotRow(dor, loadV(kb)) - delta);
    acc = axpy(acc, ds, kk);
  }
  storeDq(qb, scaled(acc, p.scale));
}

@compute @workgroup_size(WG)
fn backward_dkdv(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  let T = p.T;
  if (i >= p.B * p.KV * T) { return; }
  let s = i % T;
  let kvh = (i / T) % p.KV;
  let b = i / (T * p.KV);
  let rep = p.H / p.KV;
  let kb = rowOf(b, s, p.KV, kvh);
  let kr = scaled(loadK(kb), p.scale);
  let vr = loadV(kb);
  var dka = ZERO;
  var dva = ZERO;
  for (var hi = 0u; hi < rep; hi++) {
    let h = kvh * rep + hi;
    for (var t = s; t < T; t++) {
      let qb = rowOf(b, t, p.H, h);
      let ri = (b * p.H + h) * T + t;
      let qq = loadQ(qb);           // each q and dout element is loaded once per query row
      let dd = loadDout(qb);
      let pr = exp(dotRow(kr, qq) - lseIn[ri]);
      let ds = pr * (dotRow(vr, dd) - deltaIn[ri]);
      dva = axpy(dva, pr, dd);
      dka = axpy(dka, ds, qq);
    }
  }
  storeDk(kb, scaled(dka, p.scale));
  storeDv(kb, dva);
}
