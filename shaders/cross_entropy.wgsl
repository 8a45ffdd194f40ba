// Fused cross-entropy over the full vocabulary, per row (HF `ForCausalLMLoss` → torch `cross_entropy`,
// reduction done by the caller). logits [M, V] f32, targets [M] i32 (already shifted; −100 = ignore).
//   loss_m   = logsumexp(logits_m) − logits_m[target_m]            (0 on ignored rows)
//   dlogit_m = (softmax(logits_m) − onehot(target_m)) · gradScale   (0 on ignored rows)
// A target outside [0, V) other than −100 is a caller bug: its loss is written as −1 (impossible for a real
// loss) and its gradient row as zeros; crossEntropy.ts `validateTargets` catches it on the CPU beforehand.
// One workgroup per row (2-D grid, row = wid.x + wid.y · num_workgroups.x); each thread keeps an online
// (max, sum of exp(x − max)) over a strided slice, merged by a tree reduction (fixed order: deterministic).
// Entry points:
//   forward   losses only (logits unchanged)
//   backward  losses AND logits overwritten in place with dlogits
// Bindings (group 0):
//   0 params   uniform     { M: u32, V: u32, gradScale: f32 }
//   1 logits   read_write  array<f32>  [M, V]
//   2 targets  read        array<i32>  [M]
//   3 losses   read_write  array<f32>  [M]

override WG: u32 = 256u;            // power of two
const NEG: f32 = -1e30;
const IGNORE: i32 = -100;

struct Params { M: u32, V: u32, gradScale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;

var<workgroup> redMax: array<f32, WG>;
var<workgroup> redSum: array<f32, WG>;
var<workgroup> rowTarget: i32;

// Returns (max, Σ exp(x − max)) of row `row`, identical in every thread.
fn rowStats(row: u32, li: u32) -> vec2f {
  let base = row * p.V;
  var m = NEG;
  var s = 0.0;
  for (var i = li; i < p.V; i += WG) {
    let x = logits[base + i];
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
  let res = vec2f(redMax[0], redSum[0]);
  return res;
}

// Shared body; writeGrad selects the entry point's behaviour.
fn run(li: u32, wid: vec3u, nwg: vec3u, writeGrad: bool) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= p.M) { return; }
  if (li == 0u) { rowTarget = targets[row]; }
  let tgt = workgroupUniformLoad(&rowTarget);
  let base = row * p.V;
  if (tgt == IGNORE || tgt < 0 || u32(tgt) >= p.V) {
    if (li == 0u) { losses[row] = select(-1.0, 0.0, tgt == IGNORE); }
    if (writeGrad) {
      for (var i = li; i < p.V; i += WG) { logits[base + i] = 0.0; }
    }
    return;
  }
  let st = rowStats(row, li);
  let ut = u32(tgt);
  if (li == ut % WG) { losses[row] = log(st.y) + st.x - logits[base + ut]; }
  if (writeGrad) {
    // Thread ut % WG reads logits[ut] above before overwriting it below; no other thread touches it.
    let inv = p.gradScale / st.y;
    for (var i = li; i < p.V; i += WG) {
      let pr = exp(logits[base + i] - st.x) * inv;
      logits[base + i] = select(pr, pr - p.gradScale, i == ut);
    }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  run(li, wid, nwg, false);
}

@compute @workgroup_size(WG)
fn backward(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  run(li, wid, nwg, true);
}
