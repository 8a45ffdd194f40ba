// matmul: out[M, N] = alpha · op(a) · op(w) (+ bias), or out[M, N] += alpha · op(a) · op(w) (+ bias) when ACCUMULATE.
//   op(a) = a, a [M, K] f32 row-major; or aᵀ when TRANS_A, a [K, M].
//   op(w) = wᵀ when TRANS_B, w [N, K] (nn.Linear layout, y = x·Wᵀ); else w, w [K, N].
//   w is a packed weight (u32 words, element dtype W_DTYPE: 0 = f32, 1 = bf16, 2 = f16; src/engine/gpu/weights.ts).
//   bias [N] f32, added to every row when HAS_BIAS. Accumulation over K in f32 (fma).
// Backward of a linear layer y = x·Wᵀ is this same op with other transposes (no separate entry point):
//   dx = dy·W (TRANS_B = false), dW = dyᵀ·x (TRANS_A = true, w = x as f32 [M, K], TRANS_B = false).
// Entry points:
//   forward — 64×64 output tile per workgroup of 16×16 threads, K in steps of 16 through workgroup memory;
//             thread (tx, ty) owns the 4×4 block at rows 4·ty.., cols 4·tx.. (vec4 reads of workgroup memory).
//             Tiles are linearised: tile = wg.x + wg.y·num_workgroups.x, so any tile count fits the grid.
//   lora    — forward plus a second product a2·op(w2) over R added in the epilogue (LoRA fused into the linear; below).
//   naive   — one thread per output, no workgroup memory (baseline for bench/matmul.bench.ts).
//   skinny  — for M ≤ 16 (e.g. the lm_head on a few tokens, where a 64-row tile would be mostly padding): one workgroup
//             of 64 threads per 64 output columns, thread li owns column col0 + li for every row m < M (SKINNY_ROWS4
//             vec4 accumulators); op(a)[0..M, k0..k0+64) is staged through workgroup memory (4 KiB), op(w) is read
//             directly (each thread streams its own column). Each output is the same fma sequence over k = 0..K−1 as `forward`, so
//             results are bit-identical to it.
// Bindings (group 0):
//   0 p     uniform     { M: u32, N: u32, K: u32, alpha: f32, tiles_n: u32, R: u32, alpha2: f32 } (R, alpha2: lora only)
//   1 a     read        array<f32>
//   2 w     read        array<u32>
//   3 bias  read        array<f32>   ([N] when HAS_BIAS, else any 1-word dummy)
//   4 out   read_write  array<f32>   [M, N]
//   5 a2    read        array<f32>   [M, R]            (lora only)
//   6 w2    read        array<f32>   [N, R] or [R, N]  (lora only)

override TRANS_A: bool = false;
override TRANS_B: bool = true;
override W_DTYPE: u32 = 0u;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;
override LORA_TRANS_B: bool = true; // lora: w2 is [N, R] (forward, lora_B) when true, [R, N] (backward, lora_A) when false

struct Params { M: u32, N: u32, K: u32, alpha: f32, tiles_n: u32, R: u32, alpha2: f32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> a2: array<f32>; // lora only
@group(0) @binding(6) var<storage, read> w2: array<f32>; // lora only

const BM: u32 = 64u;   // tile rows (M)
const BN: u32 = 64u;   // tile cols (N)
const BK: u32 = 16u;   // K step
const NT: u32 = 256u;  // threads per workgroup
const SV: u32 = 17u;   // row stride of As / Bs in vec4 (16 + 1 padding against bank conflicts on the staging store)

var<workgroup> As: array<vec4f, 272>; // [BK][SV] vec4: op(a)[row0 + m, k0 + k] at As[k·SV + m/4][m%4]
var<workgroup> Bs: array<vec4f, 272>; // [BK][SV] vec4: op(w)[k0 + k, col0 + n] at Bs[k·SV + n/4][n%4]

/** Element i of the packed weight, upcast exactly to f32. */
fn load_w(i: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(w[i]); }
  let word = w[i >> 1u];
  if (W_DTYPE == 1u) { return bitcast<f32>(((word >> (16u * (i & 1u))) & 0xffffu) << 16u); }
  return unpack2x16float(word)[i & 1u];
}

/** op(a)[m, k]. */
fn a_at(m: u32, k: u32) -> f32 {
  if (TRANS_A) { return a[k * p.M + m]; }
  return a[m * p.K + k];
}

/** op(w)[k, n]. */
fn w_at(k: u32, n: u32) -> f32 {
  if (TRANS_B) { return load_w(n * p.K + k); }
  return load_w(k * p.N + n);
}

/** Final value of out[m, n] given the dot product. */
fn epilogue(m: u32, n: u32, dot: f32) {
  let o = m * p.N + n;
  var v = p.alpha * dot;
  if (HAS_BIAS) { v = v + bias[n]; }
  if (ACCUMULATE) { v = v + out[o]; }
  out[o] = v;
}

/** A thread's 4×4 accumulators: r_i[j] = out[row0 + 4·ty + i, col0 + 4·tx + j]. */
struct Acc { r0: vec4f, r1: vec4f, r2: vec4f, r3: vec4f }

/** Stages op(a)[row0.., k0..] and op(w)[k0.., col0..] into As / Bs; consecutive threads read consecutive addresses. */
fn stage_main(k0: u32, row0: u32, col0: u32, li: u32) {
  for (var l = 0u; l < (BM * BK) / NT; l = l + 1u) {
    let t = li + l * NT;
    var m: u32; var k: u32;
    if (TRANS_A) { m = t % BM; k = t / BM; } else { k = t % BK; m = t / BK; }
    let gm = row0 + m;
    let gk = k0 + k;
    var v = 0.0;
    if (gm < p.M && gk < p.K) { v = a_at(gm, gk); }
    As[k * SV + (m >> 2u)][m & 3u] = v;
  }
  for (var l = 0u; l < (BN * BK) / NT; l = l + 1u) {
    let t = li + l * NT;
    var n: u32; var k: u32;
    if (TRANS_B) { k = t % BK; n = t / BK; } else { n = t % BN; k = t / BN; }
    let gn = col0 + n;
    let gk = k0 + k;
    var v = 0.0;
    if (gn < p.N && gk < p.K) { v = w_at(gk, gn); }
    Bs[k * SV + (n >> 2u)][n & 3u] = v;
  }
}

/** acc += As[.., ty] ⊗ Bs[.., tx] over the BK staged k (fma, k ascending). */
fn mac_tile(acc: Acc, lid: vec3u) -> Acc {
  var r = acc;
  for (var k = 0u; k < BK; k = k + 1u) {
    let av = As[k * SV + lid.y];
    let bv = Bs[k * SV + lid.x];
    r.r0 = fma(vec4f(av.x), bv, r.r0);
    r.r1 = fma(vec4f(av.y), bv, r.r1);
    r.r2 = fma(vec4f(av.z), bv, r.r2);
    r.r3 = fma(vec4f(av.w), bv, r.r3);
  }
  return r;
}

/** Tile index → (row0, col0), or the sentinel M when the workgroup is past the last tile. */
fn tile_origin(wid: vec3u, nwg: vec3u) -> vec2u {
  let tile = wid.x + wid.y * nwg.x;
  let tiles_m = (p.M + BM - 1u) / BM;
  if (tile >= tiles_m * p.tiles_n) { return vec2u(0xffffffffu, 0u); }
  return vec2u((tile / p.tiles_n) * BM, (tile % p.tiles_n) * BN);
}

/** Main product of one tile: Σ_k op(a)[m, k]·op(w)[k, n] over k = 0..K−1 in steps of BK. */
fn main_product(row0: u32, col0: u32, lid: vec3u, li: u32) -> Acc {
  var acc = Acc(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var k0 = 0u; k0 < p.K; k0 = k0 + BK) {
    stage_main(k0, row0, col0, li);
    workgroupBarrier();
    acc = mac_tile(acc, lid);
    workgroupBarrier();
  }
  return acc;
}

@compute @workgroup_size(16, 16)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = tile_origin(wid, nwg);
  if (o.x == 0xffffffffu) { return; } // whole workgroup leaves together (uniform)
  let acc = main_product(o.x, o.y, lid, li);
  let m = o.x + 4u * lid.y;
  let n = o.y + 4u * lid.x;
  store_row(m, n, acc.r0);
  store_row(m + 1u, n, acc.r1);
  store_row(m + 2u, n, acc.r2);
  store_row(m + 3u, n, acc.r3);
}

/** Writes a thread's 4 outputs of row m, columns n..n+3 (those inside the matrix). */
fn store_row(m: u32, n: u32, v: vec4f) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (n + j < p.N) { epilogue(m, n + j, v[j]); }
  }
}

/** Stages a2[row0.., r0..] ([M, R] row-major) and op(w2)[r0.., col0..] into As / Bs (zero outside R, M, N). */
fn stage_lora(r0: u32, row0: u32, col0: u32, li: u32) {
  for (var l = 0u; l < (BM * BK) / NT; l = l + 1u) {
    let t = li + l * NT;
    let k = t % BK;
    let m = t / BK;
    let gm = row0 + m;
    let gk = r0 + k;
    var v = 0.0;
    if (gm < p.M && gk < p.R) { v = a2[gm * p.R + gk]; }
    As[k * SV + (m >> 2u)][m & 3u] = v;
  }
  for (var l = 0u; l < (BN * BK) / NT; l = l + 1u) {
    let t = li + l * NT;
    var n: u32; var k: u32;
    if (LORA_TRANS_B) { k = t % BK; n = t / BK; } else { n = t % BN; k = t / BN; }
    let gn = col0 + n;
    let gk = r0 + k;
    var v = 0.0;
    if (gn < p.N && gk < p.R) {
      if (LORA_TRANS_B) { v = w2[gn * p.R + gk]; } else { v = w2[gk * p.N + gn]; }
    }
    Bs[k * SV + (n >> 2u)][n & 3u] = v;
  }
}

/** Writes row m, columns n..n+3 of the fused result: epilogue value + alpha2 · (a2·op(w2))[m, n]. */
fn store_row_lora(m: u32, n: u32, v: vec4f, v2: vec4f) {
  if (m >= p.M) { return; }
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (n + j >= p.N) { continue; }
    let o = m * p.N + n + j;
    var x = p.alpha * v[j];
    if (HAS_BIAS) { x = x + bias[n + j]; }
    if (ACCUMULATE) { x = x + out[o]; }
    out[o] = x + p.alpha2 * v2[j];
  }
}

// lora — the forward tile kernel followed by a second product over R in the same workgroup (LoRA fused into a linear):
//   out (=|+=) alpha·op(a)·op(w) (+ bias) + alpha2 · a2·op(w2),  a2 [M, R] f32, op(w2) = w2ᵀ (w2 [N, R]) when
//   LORA_TRANS_B else w2 [R, N]. Forward of a LoRA linear: a2 = u = x·Aᵀ, w2 = lora_B, alpha2 = s;
//   dx of its backward: a2 = du = s·dy·B, w2 = lora_A, alpha2 = 1. Each part is the same fma sequence as the
//   `forward` entry point on that product, and the sum is taken in the order of two `forward` calls (the second
//   accumulating), so it equals the unfused pair up to the driver's floating-point contraction.
@compute @workgroup_size(16, 16)
fn lora(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
        @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) li: u32) {
  let o = tile_origin(wid, nwg);
  if (o.x == 0xffffffffu) { return; } // whole workgroup leaves together (uniform)
  let acc = main_product(o.x, o.y, lid, li);
  var acc2 = Acc(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0));
  for (var r0 = 0u; r0 < p.R; r0 = r0 + BK) {
    stage_lora(r0, o.x, o.y, li);
    workgroupBarrier();
    acc2 = mac_tile(acc2, lid);
    workgroupBarrier();
  }
  let m = o.x + 4u * lid.y;
  let n = o.y + 4u * lid.x;
  store_row_lora(m, n, acc.r0, acc2.r0);
  store_row_lora(m + 1u, n, acc.r1, acc2.r1);
  store_row_lora(m + 2u, n, acc.r2, acc2.r2);
  store_row_lora(m + 3u, n, acc.r3, acc2.r3);
}

override SKINNY_ROWS4: u32 = 4u;         // skinny: ⌈M / 4⌉ (1..4) vec4 row groups kept in registers
const SK: u32 = 64u;                      // K step of the skinny entry point
var<workgroup> Ask: array<vec4f, 256>;    // [SK][4] vec4: op(a)[m, k0 + k] at Ask[k·4 + m/4][m%4]

@compute @workgroup_size(64)
fn skinny(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) li: u32) {
  let tile = wid.x + wid.y * nwg.x;
  if (tile >= p.tiles_n) { return; } // whole workgroup leaves together (uniform)
  let n = tile * BN + li;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  for (var k0 = 0u; k0 < p.K; k0 = k0 + SK) {
    for (var l = 0u; l < SKINNY_ROWS4 * 4u * SK / 64u; l = l + 1u) {
      let t = li + l * 64u;
      let m = t / SK;
      let k = t % SK;
      var v = 0.0;
      if (m < p.M && k0 + k < p.K) { v = a_at(m, k0 + k); }
      Ask[k * 4u + (m >> 2u)][m & 3u] = v;
    }
    workgroupBarrier();
    if (n < p.N) {
      let kEnd = min(SK, p.K - k0);
      for (var k = 0u; k < kEnd; k = k + 1u) {
        let b = vec4f(w_at(k0 + k, n));
        acc0 = fma(Ask[k * 4u], b, acc0);
        if (SKINNY_ROWS4 > 1u) { acc1 = fma(Ask[k * 4u + 1u], b, acc1); }
        if (SKINNY_ROWS4 > 2u) { acc2 = fma(Ask[k * 4u + 2u], b, acc2); }
        if (SKINNY_ROWS4 > 3u) { acc3 = fma(Ask[k * 4u + 3u], b, acc3); }
      }
    }
    workgroupBarrier();
  }
  if (n >= p.N) { return; }
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (j < p.M) { epilogue(j, n, acc0[j]); }
    if (4u + j < p.M) { epilogue(4u + j, n, acc1[j]); }
    if (8u + j < p.M) { epilogue(8u + j, n, acc2[j]); }
    if (12u + j < p.M) { epilogue(12u + j, n, acc3[j]); }
  }
}

@compute @workgroup_size(64)
fn naive(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = gid.x + gid.y * nwg.x * 64u;
  if (o >= p.M * p.N) { return; }
  let m = o / p.N;
  let n = o % p.N;
  var dot = 0.0;
  for (var k = 0u; k < p.K; k = k + 1u) { dot = fma(a_at(m, k), w_at(k, n), dot); }
  epilogue(m, n, dot);
}

// thin — for rank-r shapes (N ≤ 16 or M ≤ 16, e.g. u = x·Aᵀ, du = s·dy·B, dB = s·dyᵀ·u, dA = duᵀ·x): no workgroup
//   memory and no barriers. THIN_ROWS = false: thread t owns row m and the 4·THIN_G4 columns n0.. (one op(a) load feeds
//   THIN_G4 vec4 fma); THIN_ROWS = true: thread t owns column n (consecutive threads, consecutive n) and the 4·THIN_G4
//   rows m0... Each output is the same fma sequence over k = 0..K−1 from 0 as `forward`, so results are bit-identical.
override THIN_ROWS: bool = false;
override THIN_G4: u32 = 1u; // 1..4

/** op(w)[k, n..n+3], zero past N. */
fn w4(k: u32, n: u32) -> vec4f {
  var v = vec4f(0.0);
  for (var j = 0u; j < 4u; j = j + 1u) { if (n + j < p.N) { v[j] = w_at(k, n + j); } }
  return v;
}

/** op(a)[m..m+3, k], zero past M. */
fn a4(m: u32, k: u32) -> vec4f {
  var v = vec4f(0.0);
  for (var j = 0u; j < 4u; j = j + 1u) { if (m + j < p.M) { v[j] = a_at(m + j, k); } }
  return v;
}

@compute @workgroup_size(64)
fn thin(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 64u;
  let span = 4u * THIN_G4;
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  if (!THIN_ROWS) {
    let groups = (p.N + span - 1u) / span;
    if (t >= p.M * groups) { return; }
    let m = t / groups;
    let n0 = (t % groups) * span;
    for (var k = 0u; k < p.K; k = k + 1u) {
      let av = vec4f(a_at(m, k));
      acc0 = fma(av, w4(k, n0), acc0);
      if (THIN_G4 > 1u) { acc1 = fma(av, w4(k, n0 + 4u), acc1); }
      if (THIN_G4 > 2u) { acc2 = fma(av, w4(k, n0 + 8u), acc2); }
      if (THIN_G4 > 3u) { acc3 = fma(av, w4(k, n0 + 12u), acc3); }
    }
    store_row(m, n0, acc0);
    if (THIN_G4 > 1u) { store_row(m, n0 + 4u, acc1); }
    if (THIN_G4 > 2u) { store_row(m, n0 + 8u, acc2); }
    if (THIN_G4 > 3u) { store_row(m, n0 + 12u, acc3); }
    return;
  }
  if (t >= p.N * ((p.M + span - 1u) / span)) { return; }
  let n = t % p.N;
  let m0 = (t / p.N) * span;
  for (var k = 0u; k < p.K; k = k + 1u) {
    let wv = vec4f(w_at(k, n));
    acc0 = fma(a4(m0, k), wv, acc0);
    if (THIN_G4 > 1u) { acc1 = fma(a4(m0 + 4u, k), wv, acc1); }
    if (THIN_G4 > 2u) { acc2 = fma(a4(m0 + 8u, k), wv, acc2); }
    if (THIN_G4 > 3u) { acc3 = fma(a4(m0 + 12u, k), wv, acc3); }
  }
  for (var j = 0u; j < 4u; j = j + 1u) {
    if (m0 + j < p.M) { epilogue(m0 + j, n, acc0[j]); }
    if (THIN_G4 > 1u && m0 + 4u + j < p.M) { epilogue(m0 + 4u + j, n, acc1[j]); }
    if (THIN_G4 > 2u && m0 + 8u + j < p.M) { epilogue(m0 + 8u + j, n, acc2[j]); }
    if (THIN_G4 > 3u && m0 + 12u + j < p.M) { epilogue(m0 + 12u + j, n, acc3[j]); }
  }
}
