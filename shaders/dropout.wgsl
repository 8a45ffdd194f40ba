// dropout: the LoRA branch input of PEFT lora.Linear (nn.Dropout(p) on x before lora_A), N = M·in elements.
//   forward:  out[i] = keep(i) ? x[i] / (1 − p) : 0
//   backward: dx[i] += keep(i) ? dy[i] / (1 − p) : 0        (accumulates into the input gradient)
// keep(i) = pcg(pcg(i) ^ seed) ≥ threshold, threshold = floor(p · 2^32): a counter-based mask, so the backward (and an
// activation-recomputing forward) regenerate the same mask from (seed, i) without storing it.
// Bindings (group 0):
//   0 params  uniform     { n: u32, seed: u32, threshold: u32, scale: f32 }
//   1 src     read        array<f32>   (forward: x; backward: dy)
//   2 dst     read_write  array<f32>   (forward: out, overwritten; backward: dx, accumulated)

override WG: u32 = 256u;

struct Params { n: u32, seed: u32, threshold: u32, scale: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

// PCG hash (O'Neill; "Hash Functions for GPU Rendering", Jarzynski & Olano 2020).
fn pcg(v: u32) -> u32 {
  let state = v * 747796405u + 2891336453u;
  let word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

fn factor(i: u32) -> f32 {
  return select(0.0, p.scale, pcg(pcg(i) ^ p.seed) >= p.threshold);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[i] = src[i] * factor(i);
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  dst[i] = dst[i] + src[i] * factor(i);
}
