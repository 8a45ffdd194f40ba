// bias gradient of a linear y = x Wᵀ + b (torch nn.Linear backward): db[n] (+)= Σ_m dy[m, n], the column sums of dy.
// Shapes: dy [M, N] f32, db [N] f32. One thread per column n = gid.x + gid.y·num_workgroups.x·WG, summing its M rows
// in row order (deterministic, no atomics; M·N reads spread over N threads). db += … when ACCUMULATE
// (micro-batches add up; the optimizer zeroes the gradients once per step).
// Bindings (group 0):
//   0 p   uniform     { M: u32, N: u32 }
//   1 dy  read        array<f32>
//   2 db  read_write  array<f32>

override WG: u32 = 64u;
override ACCUMULATE: bool = false;

struct Params { M: u32, N: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> db: array<f32>;

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = gid.x + gid.y * nwg.x * WG;
  if (n >= p.N) { return; }
  var acc = 0.0;
  for (var m = 0u; m < p.M; m++) { acc = acc + dy[m * p.N + n]; }
  if (ACCUMULATE) { acc = acc + db[n]; }
  db[n] = acc;
}
