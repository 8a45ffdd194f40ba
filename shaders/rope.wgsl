// RoPE, Hugging Face `rotate_half` layout, applied in place (modeling_llama.py `apply_rotary_pos_emb`).
// x [B, T, nHeads, D] f32; the pair of lane d < D/2 is (d, d + D/2); the position of row (b, t) is t.
// cos, sin [T, D/2] f32 (angle t·inv_freq[d], computed on the CPU).
//   forward : x'[d] = x[d]·cos − x[d+D/2]·sin ;  x'[d+D/2] = x[d+D/2]·cos + x[d]·sin   (rotation R by +angle)
//   backward: dx = Rᵀ·dy, i.e. the same rotation by −angle, in place on the gradient.
// One thread per (b, t, head, d < D/2); 2-D grid: i = gid.x + gid.y · num_workgroups.x · WG.
// Bindings (group 0):
//   0 params  uniform     { n: u32 (= B·T·nHeads·D/2), T: u32, nHeads: u32, half: u32 (= D/2) }
//   1 cosT    read        array<f32>  [T, D/2]
//   2 sinT    read        array<f32>  [T, D/2]
//   3 x       read_write  array<f32>  [B, T, nHeads, D]  (x in forward, dy → dx in backward)

override WG: u32 = 256u;

struct Params { n: u32, T: u32, nHeads: u32, half: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> cosT: array<f32>;
@group(0) @binding(2) var<storage, read> sinT: array<f32>;
@group(0) @binding(3) var<storage, read_write> x: array<f32>;

// Rotates the pair of thread i by the table angle (sign = +1) or its negative (sign = −1).
fn rotate(i: u32, sign: f32) {
  let d = i % p.half;
  let row = i / p.half;              // (b·T + t)·nHeads + head
  let t = (row / p.nHeads) % p.T;
  let base = row * 2u * p.half + d;
  let c = cosT[t * p.half + d];
  let s = sign * sinT[t * p.half + d];
  let x1 = x[base];
  let x2 = x[base + p.half];
  x[base] = x1 * c - x2 * s;
  x[base + p.half] = x2 * c + x1 * s;
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  rotate(i, 1.0);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  rotate(i, -1.0);
}
