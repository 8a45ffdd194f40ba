// axpy: y[i] = y[i] + alpha * x[i], for i < N. Used for residual adds and gradient accumulation.
// Shapes: x [N] f32, y [N] f32. No backward entry: the op is linear (dx = alpha * dy, dy passes through).
// Bindings (group 0):
//   0 params  uniform     { n: u32, alpha: f32 }
//   1 x       read        array<f32>
//   2 y       read_write  array<f32>

override WG: u32 = 256u;

struct Params { n: u32, alpha: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  y[i] = y[i] + p.alpha * x[i];
}
