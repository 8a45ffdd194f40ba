// Causal grouped-query attention for a small head dim (D ≤ 4·MAXV = 32), forward and backward, without
// workgroup memory or barriers: one thread owns one row and keeps it in vec4 registers. Same math and the
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

override D: u32 = 8u;               // head dim: multiple of 4, at most 4 · MAXV
override WG: u32 = 64u;             // threads per workgroup
const MAXV: u32 = 8u;               // vec4 registers per row
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

// q_t · k row at vec4 index kb.
fn dotK(qr: ptr<function, array<vec4f, MAXV>>, kb: u32) -> f32 {
  var x = 0.0;
  for (var j = 0u; j < DV; j++) { x += dot((*qr)[j], k[kb + j]); }
  return x;
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
  var qr: array<vec4f, MAXV>;
  var o: array<vec4f, MAXV>;
  for (var j = 0u; j < DV; j++) {
    qr[j] = q[qb + j] * p.scale;
    o[j] = vec4f(0.0);
  }
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
      dotK(&qr, k0),
      select(-1e30, dotK(&qr, k1), s0 + 1u <= t),
      select(-1e30, dotK(&qr, k2), s0 + 2u <= t),
      select(-1e30, dotK(&qr, k3), s0 + 3u <= t),
    );
    let mt = max(m, max(max(xs.x, xs.y), max(xs.z, xs.w)));
    let a = exp(m - mt);
    let e = exp(xs - vec4f(mt));
    l = l * a + ((e.x + e.y) + (e.z + e.w));
    for (var j = 0u; j < DV; j++) {
      o[j] = o[j] * a + e.x * v[k0 + j] + e.y * v[k1 + j] + e.z * v[k2 + j] + e.w * v[k3 + j];
    }
    m = mt;
  }
  let inv = 1.0 / l;
  for (var j = 0u; j < DV; j++) { out[qb + j] = o[j] * inv; }
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
  var qr: array<vec4f, MAXV>;
  var dor: array<vec4f, MAXV>;
  var acc: array<vec4f, MAXV>;
  var delta = 0.0;
  for (var j = 0u; j < DV; j++) {
    qr[j] = q[qb + j] * p.scale;
    dor[j] = dout[qb + j];
    acc[j] = vec4f(0.0);
    delta += dot(dor[j], outSaved[qb + j]);
  }
  let ri = (b * p.H + h) * T + t;
  deltaOut[ri] = delta;
  let lseT = lseIn[ri];
  for (var s = 0u; s <= t; s++) {
    let kb = rowOf(b, s, p.KV, kvh);
    var kk: array<vec4f, MAXV>;     // each k element is loaded once per key
    var x = 0.0;
    var dp = 0.0;
    for (var j = 0u; j < DV; j++) {
      kk[j] = k[kb + j];
      x += dot(qr[j], kk[j]);
      dp += dot(dor[j], v[kb + j]);
    }
    let ds = exp(x - lseT) * (dp - delta);
    for (var j = 0u; j < DV; j++) { acc[j] += ds * kk[j]; }
  }
  for (var j = 0u; j < DV; j++) { dq[qb + j] = acc[j] * p.scale; }
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
  var kr: array<vec4f, MAXV>;
  var vr: array<vec4f, MAXV>;
  var dka: array<vec4f, MAXV>;
  var dva: array<vec4f, MAXV>;
  for (var j = 0u; j < DV; j++) {
    kr[j] = k[kb + j] * p.scale;
    vr[j] = v[kb + j];
    dka[j] = vec4f(0.0);
    dva[j] = vec4f(0.0);
  }
  for (var hi = 0u; hi < rep; hi++) {
    let h = kvh * rep + hi;
    for (var t = s; t < T; t++) {
      let qb = rowOf(b, t, p.H, h);
      let ri = (b * p.H + h) * T + t;
      var qq: array<vec4f, MAXV>;   // each q and dout element is loaded once per query row
      var dd: array<vec4f, MAXV>;
      var x = 0.0;
      var dp = 0.0;
      for (var j = 0u; j < DV; j++) {
        qq[j] = q[qb + j];
        dd[j] = dout[qb + j];
        x += dot(kr[j], qq[j]);
        dp += dot(vr[j], dd[j]);
      }
      let pr = exp(x - lseIn[ri]);
      let ds = pr * (dp - deltaIn[ri]);
      for (var j = 0u; j < DV; j++) {
        dva[j] += pr * dd[j];
        dka[j] += ds * qq[j];
      }
    }
  }
  for (var j = 0u; j < DV; j++) {
    dk[kb + j] = dka[j] * p.scale;
    dv[kb + j] = dva[j];
  }
}
