// add: y[i] += x[i] over n f32 values — the residual add of a normed branch (Gemma 3 sandwich norms:
// x = x + post_attention_layernorm(o_proj(attn)), modeling_gemma3.py Gemma3DecoderLayer.forward).
// One thread per element, i = gid.x + gid.y·num_workgroups.x·WG (2-D grid for > 65535 workgroups).
// Bindings (group 0), entry point forward:
//   0 p  uniform     { n: u32 }
//   1 x  read        array<f32>  [n]
//   2 y  read_write  array<f32>  [n]

override WG: u32 = 256u;

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  y[i] = y[i] + x[i];
}
