// embedding: out[m, c] = table[input_ids[m] − row0, c] · SCALE  (torch nn.Embedding / HF embed_tokens forward; SCALE ≠ 1
// for HF Gemma3TextScaledWordEmbedding, embed_scale = sqrt(hidden_size) as an f32 value, multiplied in f32 after the
// exact upcast of the table element; SCALE = 1 skips the multiply).
// Shapes: input_ids [M] i32, table [V, C] packed weight holding rows row0..row0+V−1 of the full embedding
// (u32 words, element dtype W_DTYPE: 0 = f32, 1 = bf16, 2 = f16; src/engine/gpu/weights.ts), out [M, C] f32.
// An id outside [row0, row0 + V) writes a zero row when PARTIAL is false (the CPU side validates ids and names the
// row); when PARTIAL is true (the table is one row chunk of a split embedding, src/engine/model/vocabTable.ts) that
// row is left untouched, for another chunk's dispatch to write. No backward entry: embeddings are frozen.
// One thread per output element, i = gid.x + gid.y·num_workgroups.x·WG (2-D grid for > 65535 workgroups).
// Bindings (group 0):
//   0 p      uniform     { M: u32, C: u32, V: u32, row0: u32 }
//   1 ids    read        array<i32>
//   2 table  read        array<u32>
//   3 out    read_write  array<f32>

override WG: u32 = 256u;
override W_DTYPE: u32 = 0u;
override PARTIAL: bool = false;
override SCALE: f32 = 1.0;

struct Params { M: u32, C: u32, V: u32, row0: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> ids: array<i32>;
@group(0) @binding(2) var<storage, read> table: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

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
