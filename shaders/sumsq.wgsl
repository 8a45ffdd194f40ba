// Deterministic sum of squares: total = Σ_i x_i² over n f32 values (global gradient norm², torch
// `clip_grad_norm_` with norm_type 2 before the sqrt); with SQUARE = false the plain sum Σ_i x_i (a step's summed
// token losses, read once per optimizer step). Two passes with a fixed partition, so the result does
// not depend on scheduling:
//   partials  G workgroups; thread li of workgroup w sums x_i² for i = w·WG + li + k·G·WG, then a tree
//             reduction writes partial[w].
//   total     one workgroup sums partial[0..G) the same way and writes out[0] (adds to out[0] when ACCUMULATE, so
//             several buffers can be summed in a fixed order, e.g. the parts of the LoRA gradients).
// Bindings of `partials` (group 0):
//   0 params   uniform     { n: u32, groups: u32 (= G) }
//   1 x        read        array<f32>  [n]
//   2 partOut  read_write  array<f32>  [G]
// Bindings of `total` (group 0):
//   0 params   uniform     { n: u32, groups: u32 }
//   1 partIn   read        array<f32>  [G]
//   2 out      read_write  array<f32>  [1]

override WG: u32 = 256u;            // power of two
override ACCUMULATE: bool = false;
override SQUARE: bool = true;      // false: sum the values themselves

struct Params { n: u32, groups: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partOut: array<f32>;
@group(0) @binding(1) var<storage, read> partIn: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> red: array<f32, WG>;

// Tree-reduces red[0..WG) into red[0] (identical in every thread afterwards).
fn reduce(li: u32) -> f32 {
  workgroupBarrier();
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    if (li < stride) { red[li] += red[li + stride]; }
    workgroupBarrier();
  }
  return red[0];
}

@compute @workgroup_size(WG)
fn partials(@builtin(local_invocation_index) li: u32, @builtin(workgroup_id) wid: vec3u) {
  var acc = 0.0;
  let stride = p.groups * WG;
  for (var i = wid.x * WG + li; i < p.n; i += stride) {
    let xi = x[i];
    acc += select(xi, xi * xi, SQUARE);
  }
  red[li] = acc;
  let s = reduce(li);
  if (li == 0u) { partOut[wid.x] = s; }
}

@compute @workgroup_size(WG)
fn total(@builtin(local_invocation_index) li: u32) {
  var acc = 0.0;
  for (var i = li; i < p.groups; i += WG) { acc += partIn[i]; }
  red[li] = acc;
  let s = reduce(li);
  if (li == 0u) { out[0] = select(s, out[0] + s, ACCUMULATE); }
}
