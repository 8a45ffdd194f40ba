// Cross-entropy over a vocabulary split into chunks (HF `ForCausalLMLoss` → torch `cross_entropy`, ignore_index
// −100; the reduction is done by the caller). The caller computes the logits of vocabulary rows [v0, v0 + Vc) for
// all M token rows into `logits` [M, Vc] f32, one chunk at a time, and calls:
//   forward   per chunk, in vocabulary order: merges the chunk into each row's running (max, Σ exp(x − max)) — the
//             online log-sum-exp of Milakov & Gimelshein 2018 — and keeps the target's logit when the target lies
//             in the chunk. With FIRST the running values start from this chunk; with LAST it also writes
//               lse_m  = max + log Σ exp(x − max)
//               loss_m = lse_m − logit_m[target_m]          (0 on ignored rows; −1 for a target outside [0, V))
//             One workgroup per row (2-D grid: row = wid.x + wid.y · num_workgroups.x); each thread keeps an online
//             (max, sum) over a strided slice, merged by a fixed-order tree reduction (deterministic).
//   forward_row  the same result for a small chunk, one thread per row (row = gid.x + gid.y · num_workgroups.x · WG),
//             in column order: no workgroup memory, no barriers.
//   backward  per chunk, after the last forward (logits of the chunk recomputed by the caller), in place:
//               logits[m, i] ← (exp(logits[m, i] − lse_m) − [v0 + i = target_m]) · gradScale   (0 on ignored rows)
//             One thread per element of [M, Vc] (2-D grid: i = gid.x + gid.y · num_workgroups.x · WG).
//   backward_rows  the same with a per-row scale (DPO: d loss / d NLL_m differs per sequence; Rafailov et al. 2023,
//             TRL DPOTrainer): gradScale above becomes gradScale · rowScale[m]. Only this entry point reads binding 5.
// Soft-capping (SOFTCAP > 0; Gemma final_logit_softcapping, HF Gemma3ForCausalLM.forward): the loss is taken over the
// capped logits z′ = SOFTCAP·tanh(z/SOFTCAP) of the raw logits z the caller passes (z is never overwritten by
// forward), so every x above is z′, and backward multiplies by dz′/dz = 1 − tanh²(z/SOFTCAP):
//               logits[m, i] ← (exp(z′ − lse_m) − [v0 + i = target_m]) · gradScale · (1 − (z′/SOFTCAP)²)
//             (1 − tanh² is taken as 4e/(1 + e)², e = e^{−2|z/SOFTCAP|}: no cancellation near |tanh| = 1).
// stats [M, 4] f32 per row: (running max, running Σ exp(x − max), target logit, lse), of capped logits with SOFTCAP.
// Bindings (group 0):
//   0 p        uniform     { M: u32, V: u32, v0: u32, Vc: u32, flags: u32 (bit 0 FIRST, bit 1 LAST), gradScale: f32 }
//   1 logits   read_write  array<f32>  [M, Vc]   (forward reads it; backward overwrites it with dlogits)
//   2 targets  read        array<i32>  [M]
//   3 stats    read_write  array<f32>  [M, 4]
//   4 losses   read_write  array<f32>  [M]      (written by forward on the LAST chunk)
//   5 rowScale read        array<f32>  [M]      (backward_rows only: per-row factor on gradScale)

override WG: u32 = 256u;            // power of two
override SOFTCAP: f32 = 0.0;        // > 0: logits are capped to SOFTCAP·tanh(z/SOFTCAP); 0: no capping
const NEG: f32 = -1e30;
const IGNORE: i32 = -100;

struct Params { M: u32, V: u32, v0: u32, Vc: u32, flags: u32, gradScale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> losses: array<f32>;
@group(0) @binding(5) var<storage, read> rowScale: array<f32>;

var<workgroup> redMax: array<f32, WG>;
var<workgroup> redSum: array<f32, WG>;
var<workgroup> rowTarget: i32;

fn valid(t: i32) -> bool {
  return t >= 0 && u32(t) < p.V;
}

/** (tanh(z/SOFTCAP), 1 − tanh²(z/SOFTCAP)) without overflow, from one e = e^{−2|z/SOFTCAP|} ≤ 1. */
fn cap_tanh(z: f32) -> vec2f {
  let y = z / SOFTCAP;
  let e = exp(-2.0 * abs(y));
  let r = 1.0 / (1.0 + e);
  let t = (1.0 - e) * r;
  return vec2f(select(-t, t, y >= 0.0), 4.0 * e * r * r);
}

/** The logit the loss sees: z, or SOFTCAP·tanh(z/SOFTCAP) when capping. */
fn capped(z: f32) -> f32 {
  if (SOFTCAP > 0.0) { return SOFTCAP * cap_tanh(z).x; }
  return z;
}

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.M) { return; }   // uniform per workgroup
  if (li == 0u) { rowTarget = targets[row]; }
  let tgt = workgroupUniformLoad(&rowTarget);
  if (!valid(tgt)) {
    if (li == 0u && (p.flags & 2u) != 0u) {
      skipRow(row, tgt);
    }
    return;
  }
  let base = row * p.Vc;
  var m = NEG;
  var s = 0.0;
  for (var i = li; i < p.Vc; i += WG) {
    let x = capped(logits[base + i]);
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  redMax[li] = m;
  redSum[li] = s;
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (li < stride) {
      let m1 = redMax[li];
      let m2 = redMax[li + stride];
      let mm = max(m1, m2);
      redSum[li] = redSum[li] * exp(m1 - mm) + redSum[li + stride] * exp(m2 - mm);
      redMax[li] = mm;
    }
    workgroupBarrier();
  }
  if (li != 0u) { return; }
  finishRow(row, tgt, redMax[0], redSum[0]);
}

// Loss of a row without a valid target: 0 when ignored, −1 when outside [0, V); lse 0.
fn skipRow(row: u32, tgt: i32) {
  var loss = -1.0;
  if (tgt == IGNORE) { loss = 0.0; }
  losses[row] = loss;
  stats[row * 4u + 3u] = 0.0;
}

// Merges the chunk's (m, s) and target logit into stats[row] (afresh when FIRST); on LAST writes lse and loss.
fn finishRow(row: u32, tgt: i32, chunkMax: f32, chunkSum: f32) {
  let first = (p.flags & 1u) != 0u;
  let last = (p.flags & 2u) != 0u;
  var runMax = chunkMax;
  var runSum = chunkSum;
  var tl = 0.0;
  if (!first) {
    let m0 = stats[row * 4u];
    let mm = max(m0, runMax);
    runSum = stats[row * 4u + 1u] * exp(m0 - mm) + runSum * exp(runMax - mm);
    runMax = mm;
    tl = stats[row * 4u + 2u];
  }
  let ut = u32(tgt);
  if (ut >= p.v0 && ut - p.v0 < p.Vc) { tl = capped(logits[row * p.Vc + ut - p.v0]); }
  stats[row * 4u] = runMax;
  stats[row * 4u + 1u] = runSum;
  stats[row * 4u + 2u] = tl;
  if (last) {
    let lse = runMax + log(runSum);
    stats[row * 4u + 3u] = lse;
    losses[row] = lse - tl;
  }
}

@compute @workgroup_size(WG)
fn forward_row(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.x + gid.y * nwg.x * WG;
  if (row >= p.M) { return; }
  let tgt = targets[row];
  if (!valid(tgt)) {
    if ((p.flags & 2u) != 0u) {
      skipRow(row, tgt);
    }
    return;
  }
  let base = row * p.Vc;
  var m = NEG;
  var s = 0.0;
  for (var i = 0u; i < p.Vc; i++) {
    let x = capped(logits[base + i]);
    if (x > m) {
      s = s * exp(m - x) + 1.0;
      m = x;
    } else {
      s += exp(x - m);
    }
  }
  finishRow(row, tgt, m, s);
}

// dlogits of element i (row i / Vc) in place, with the row's gradient scale g.
fn backward_at(i: u32, row: u32, g: f32) {
  let col = i % p.Vc;
  let tgt = targets[row];
  if (!valid(tgt)) {
    logits[i] = 0.0;
    return;
  }
  if (SOFTCAP > 0.0) {
    let ct = cap_tanh(logits[i]);
    let pc = exp(SOFTCAP * ct.x - stats[row * 4u + 3u]) * g;
    logits[i] = select(pc, pc - g, p.v0 + col == u32(tgt)) * ct.y;
    return;
  }
  let pr = exp(logits[i] - stats[row * 4u + 3u]) * g;
  logits[i] = select(pr, pr - g, p.v0 + col == u32(tgt));
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.M * p.Vc) { return; }
  backward_at(i, i / p.Vc, p.gradScale);
}

@compute @workgroup_size(WG)
fn backward_rows(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.M * p.Vc) { return; }
  let row = i / p.Vc;
  backward_at(i, row, p.gradScale * rowScale[row]);
}
