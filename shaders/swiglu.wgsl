// swiglu (HF LlamaMLP act_fn(gate_proj(x)) * up_proj(x), act_fn = SiLU), elementwise over n values:
//   forward:  h = silu(g)·u,  silu(z) = z·σ(z),  σ(z) = 1 / (1 + e^{−z})  (evaluated without overflow)
//   backward: dg = dh·u·σ(g)·(1 + g·(1 − σ(g))),  du = dh·silu(g)
// Shapes: gate, up, out, dout, dgate, dup [n] f32 (n = M·I). One thread per element,
// i = gid.x + gid.y·num_workgroups.x·WG (2-D grid for > 65535 workgroups).
// Bindings (group 0), entry point forward:
//   0 p      uniform     { n: u32 }
//   1 gate   read        array<f32>
//   2 up     read        array<f32>
//   3 out    read_write  array<f32>
// Bindings (group 0), entry point backward:
//   0 p      uniform     { n: u32 }
//   1 gate   read        array<f32>
//   2 up     read        array<f32>
//   3 dout   read        array<f32>
//   4 dgate  read_write  array<f32>
//   5 dup    read_write  array<f32>

override WG: u32 = 256u;

struct Params { n: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> dout: array<f32>;
@group(0) @binding(4) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(5) var<storage, read_write> dup: array<f32>;

/** σ(z) without overflow: e^{−|z|} ≤ 1 is the only exponential taken. */
fn sigmoid(z: f32) -> f32 {
  let e = exp(-abs(z));
  if (z >= 0.0) { return 1.0 / (1.0 + e); }
  return e / (1.0 + e);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  out[i] = g * sigmoid(g) * up[i];
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  let s = sigmoid(g);
  let d = dout[i];
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;
}
