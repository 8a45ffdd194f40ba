// embedding: out[m, c] = table[input_ids[m] − row0, c] · SCALE  (torch nn.Embedding / HF embed_tokens forward; SCALE ≠ 1
// for HF Gemma3TextScaledWordEmbedding, embed_scale = sqrt(hidden_size) as an f32 value, multiplied in f32 after the
// exact upcast of the table element; SCALE = 1 skips the multiply).
// Shapes: input_ids [M] i32, table [V, C] packed weight holding rows row0..row0+V−1 of the full embedding
// (u32 words, element dtype W_DTYPE: 0 = f32, 1 = bf16, 2 = f16; src/engine/gpu/weights.ts), out [M, C] f32.
// An id outside [row0, row0 + V) writes a zero row when PARTIAL is false (the CPU side validates ids and names the
// row); when PARTIAL is true (the table is one row chunk of a split embedding, src/engine/model/vocabTable.ts) that
// row is left untouched, for another chunk's dispatch to write.
// One thread per output element, i = gid.x + gid.y·num_workgroups.x·WG (2-D grid for > 65535 workgroups).
// Backward (entry point `backward`, full-parameter training): dE[id, c] += SCALE · Σ_{m : ids[m] = id} dx[m, c] as a
// deterministic scatter-add without atomics: the CPU groups the positions by token id (a counting sort of the M ids,
// src/engine/kernels/embeddingGrad.ts) into `index` = [ids of the U distinct tokens (U) | segment starts (U + 1) |
// positions (M), ascending within a segment]; one thread per (distinct token u, column c) owns dE[ids[u], c] and sums
// its positions in order. Cost: M·C reads + U·C read-modify-writes (no V-sized pass). Tokens outside
// [row0, row0 + V) are skipped (another row chunk of a split table owns them). dE is f32 [V, C] (the chunk's rows).
// Bindings (group 0), entry point forward:
//   0 p      uniform     { M: u32, C: u32, V: u32, row0: u32, U: u32 }
//   1 ids    read        array<i32>
//   2 table  read        array<u32>
//   3 out    read_write  array<f32>
// Bindings (group 0), entry point backward:
//   0 p      uniform     { M: u32, C: u32, V: u32, row0: u32, U: u32 }
//   1 index  read        array<u32>  [U + (U + 1) + M]
//   2 dx     read        array<f32>  [M, C]
//   3 dE     read_write  array<f32>  [V, C]

override WG: u32 = 256u;
override W_DTYPE: u32 = 0u;
override PARTIAL: bool = false;
override SCALE: f32 = 1.0;

struct Params { M: u32, C: u32, V: u32, row0: u32, U: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(1) var<storage, read> index: array<u32>;
@group(0) @binding(2) var<storage, read> dx: array<f32>;
@group(0) @binding(3) var<storage, read_write> dE: array<f32>;

/** Element i of the packed table, upcast exactly to f32. */
fn load_w(i: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(table[i]); }
  let word = table[i >> 1u];
  if (W_DTYPE == 1u) { return bitcast<f32>(((word >> (16u * (i & 1u))) & 0xffffu) << 16u); }
  return unpack2x16float(word)[i & 1u];
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.M * p.C) { return; }
  let m = i / p.C;
  let c = i % p.C;
  let id = ids[m];
  let inside = id >= 0 && u32(id) >= p.row0 && u32(id) - p.row0 < p.V;
  if (PARTIAL && !inside) { return; }
  var v = 0.0;
  if (inside) { v = load_w((u32(id) - p.row0) * p.C + c); }
  if (SCALE != 1.0) { v = v * SCALE; }
  out[i] = v;
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.U * p.C) { return; }
  let u = i / p.C;
  let c = i % p.C;
  let id = index[u];
  if (id < p.row0 || id - p.row0 >= p.V) { return; }
  let start = index[p.U + u];
  let end = index[p.U + u + 1u];
  var acc = 0.0;
  for (var k = start; k < end; k++) { acc = acc + dx[index[2u * p.U + 1u + k] * p.C + c]; }
  if (SCALE != 1.0) { acc = acc * SCALE; }
  let o = (id - p.row0) * p.C + c;
  dE[o] = dE[o] + acc;
}
