// matmul_reg: the same op as matmul.wgsl (out (=|+=) alpha·op(a)·op(w) (+ bias) (+ alpha2·a2·op(w2))) as a
// register-blocked kernel WITHOUT workgroup memory or barriers, for small reduction dims (K ≤ 256, e.g. every linear
// of a small model): thread t owns the 4×4 output block rows m0..m0+3, cols n0..n0+3 and streams op(a) and op(w) from
// storage. Packed 16-bit weights (W_DTYPE 1 = bf16, 2 = f16) are read a u32 word — two elements — at a time:
//   TRANS_B (w [N, K]): the word holds k and k+1 of one column (needs K even: PAIR_K);
//   else    (w [K, N]): two words hold columns n0..n0+3 of one k (needs N even: PAIR_N).
// On software adapters (SwiftShader, lavapipe) the per-element word loads and barriers of the tiled kernel dominate at
// these shapes (bench/matmul-shapes.bench.ts). Every output is the same fma sequence over k = 0..K−1 from 0 as the
// tiled `forward` (and the second product over r = 0..R−1 as `lora`), with the same epilogue, so the results are
// bit-identical to matmul.wgsl (tests/gpu/matmul-reg.test.ts).
// Entry points: reg, reg4 (bindings 0–4); reg_lora, reg4_lora, reg4_lorav (bindings 0–6); reg4* read op(a) rows as
// vec4s (K % 4 == 0, a not transposed), reg4_lorav also a2 and w2 (R % 4 == 0; N % 4 == 0 when w2 is [R, N]). Bindings as matmul.wgsl:
//   0 p uniform { M, N, K: u32, alpha: f32, tiles_n: u32 (unused), R: u32, alpha2: f32, chunk: u32 }  1 a
//   2 w (u32 words)  3 bias  4 out  5 a2 [M, R] f32  6 w2 [N, R] (LORA_TRANS_B) or [R, N] f32
// Split-K, for few outputs over a long reduction (LoRA weight gradients dA = duᵀ·x, dB = s·dyᵀ·u: K = tokens), in two
// dispatches over the same bindings (splitk_partial writes `out` = a scratch [S, M, N]; splitk_reduce reads it as `a`):
//   splitk_partial  thread (s, block): part[s, m, n] = Σ_{k in [s·chunk, min(K, (s+1)·chunk))} op(a)[m, k]·op(w)[k, n]
//                   (the same blocked fma sequence as `reg`, restricted to chunk s), S = ceil(K / chunk) chunks;
//   splitk_reduce   thread (m, n): out[m, n] (=|+=) alpha·(((0 + part[0]) + part[1]) + …) (+ bias), s ascending.
// The sum over k is then regrouped by chunk, so results differ from `reg` / matmul.wgsl in the last bits; every sum
// still runs in a fixed order, so they are deterministic run to run.

override TRANS_A: bool = false;
override TRANS_B: bool = true;
override W_DTYPE: u32 = 0u;
override HAS_BIAS: bool = false;
override ACCUMULATE: bool = false;
override LORA_TRANS_B: bool = true;
override PAIR_K: bool = false; // TRANS_B, 16-bit weights, K even
override PAIR_N: bool = false; // !TRANS_B, 16-bit weights, N even

struct Params { M: u32, N: u32, K: u32, alpha: f32, tiles_n: u32, R: u32, alpha2: f32, chunk: u32 }

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> a4: array<vec4f>; // the same `a` as vec4s: reg4 / reg4_lora only
@group(0) @binding(2) var<storage, read> w: array<u32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read> a2: array<f32>;
@group(0) @binding(6) var<storage, read> w2: array<f32>;
@group(0) @binding(5) var<storage, read> a2v: array<vec4f>; // a2 as vec4s: reg4_lorav only
@group(0) @binding(6) var<storage, read> w2v: array<vec4f>; // w2 as vec4s: reg4_lorav only

/** The two 16-bit elements of a weight word, upcast exactly: (low, high). */
fn unpack_word(word: u32) -> vec2f {
  if (W_DTYPE == 1u) { return vec2f(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u)); }
  return unpack2x16float(word);
}

/** Element i of the packed weight, upcast exactly to f32. */
fn load_w(i: u32) -> f32 {
  if (W_DTYPE == 0u) { return bitcast<f32>(w[i]); }
  return unpack_word(w[i >> 1u])[i & 1u];
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

/** op(a)[mm[i], k] for the four (clamped) rows of the block. */
fn a_col(mm: vec4u, k: u32) -> vec4f {
  return vec4f(a_at(mm.x, k), a_at(mm.y, k), a_at(mm.z, k), a_at(mm.w, k));
}

/** The block's 4×4 accumulators: c[i][j] = out[m0 + i, n0 + j]. */
struct Block { c: array<vec4f, 4> }

/**
 * b.c[i] = fma(av[i], wv, b.c[i]) for rows i = 0..3, written out (constant indices: SwiftShader runs a loop over
 * dynamically indexed registers several times slower).
 */
fn rank1(b: ptr<function, Block>, av: vec4f, wv: vec4f) {
  (*b).c[0] = fma(vec4f(av.x), wv, (*b).c[0]);
  (*b).c[1] = fma(vec4f(av.y), wv, (*b).c[1]);
  (*b).c[2] = fma(vec4f(av.z), wv, (*b).c[2]);
  (*b).c[3] = fma(vec4f(av.w), wv, (*b).c[3]);
}

/**
 * Four rank-1 updates in k order: b.c[i] += a[i][j]·w[j] for j = 0..3 (a[i]: row i at k..k+3; w[j]: op(w) row k+j),
 * each an fma, written out with constant indices (see {@link rank1}).
 */
fn rank4(b: ptr<function, Block>, a: array<vec4f, 4>, w: array<vec4f, 4>) {
  (*b).c[0] = fma(vec4f(a[0].w), w[3], fma(vec4f(a[0].z), w[2], fma(vec4f(a[0].y), w[1], fma(vec4f(a[0].x), w[0], (*b).c[0]))));
  (*b).c[1] = fma(vec4f(a[1].w), w[3], fma(vec4f(a[1].z), w[2], fma(vec4f(a[1].y), w[1], fma(vec4f(a[1].x), w[0], (*b).c[1]))));
  (*b).c[2] = fma(vec4f(a[2].w), w[3], fma(vec4f(a[2].z), w[2], fma(vec4f(a[2].y), w[1], fma(vec4f(a[2].x), w[0], (*b).c[2]))));
  (*b).c[3] = fma(vec4f(a[3].w), w[3], fma(vec4f(a[3].z), w[2], fma(vec4f(a[3].y), w[1], fma(vec4f(a[3].x), w[0], (*b).c[3]))));
}

/**
 * Σ_k op(a)[m0+i, k]·op(w)[k, n0+j] over k = k0..k1−1 (fma, k ascending; k0 even when PAIR_K); rows/cols past M/N
 * read clamped data.
 */
fn product(m0: u32, n0: u32, k0: u32, k1: u32) -> Block {
  var b = Block(array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)));
  let mm = min(vec4u(m0, m0 + 1u, m0 + 2u, m0 + 3u), vec4u(p.M - 1u));
  let nn = min(vec4u(n0, n0 + 1u, n0 + 2u, n0 + 3u), vec4u(p.N - 1u));
  if (PAIR_K) {
    for (var k = k0; k < k1; k = k + 2u) {
      let a0 = a_col(mm, k);
      let a1 = a_col(mm, k + 1u);
      let q0 = unpack_word(w[(nn.x * p.K + k) >> 1u]);
      let q1 = unpack_word(w[(nn.y * p.K + k) >> 1u]);
      let q2 = unpack_word(w[(nn.z * p.K + k) >> 1u]);
      let q3 = unpack_word(w[(nn.w * p.K + k) >> 1u]);
      let w0 = vec4f(q0.x, q1.x, q2.x, q3.x);
      let w1 = vec4f(q0.y, q1.y, q2.y, q3.y);
      rank1(&b, a0, w0);
      rank1(&b, a1, w1);
    }
    return b;
  }
  let lastWord = (p.K * p.N) / 2u - 1u;
  for (var k = k0; k < k1; k = k + 1u) {
    let av = a_col(mm, k);
    var wv: vec4f;
    if (PAIR_N) {
      let lo = unpack_word(w[(k * p.N + n0) >> 1u]);
      let hi = unpack_word(w[min((k * p.N + n0 + 2u) >> 1u, lastWord)]);
      wv = vec4f(lo, hi);
    } else {
      wv = vec4f(w_at(k, nn.x), w_at(k, nn.y), w_at(k, nn.z), w_at(k, nn.w));
    }
    rank1(&b, av, wv);
  }
  return b;
}

/**
 * The same sums as {@link product} over k = 0..K−1 for !TRANS_A and K % 4 == 0, reading each row of op(a) four k at a
 * time (one vec4 load instead of four scalar loads); same fma order, so bit-identical.
 */
fn product4(m0: u32, n0: u32) -> Block {
  var b = Block(array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)));
  let mm = min(vec4u(m0, m0 + 1u, m0 + 2u, m0 + 3u), vec4u(p.M - 1u)) * (p.K / 4u);
  let nn = min(vec4u(n0, n0 + 1u, n0 + 2u, n0 + 3u), vec4u(p.N - 1u));
  for (var k = 0u; k < p.K; k = k + 4u) {
    let kq = k / 4u;
    let r0 = a4[mm.x + kq];
    let r1 = a4[mm.y + kq];
    let r2 = a4[mm.z + kq];
    let r3 = a4[mm.w + kq];
    // wj = op(w)[k + j, n0..n0+3]
    var w0: vec4f; var w1: vec4f; var w2: vec4f; var w3: vec4f;
    if (PAIR_K) {
      let c0 = vec4f(unpack_word(w[(nn.x * p.K + k) >> 1u]), unpack_word(w[((nn.x * p.K + k) >> 1u) + 1u]));
      let c1 = vec4f(unpack_word(w[(nn.y * p.K + k) >> 1u]), unpack_word(w[((nn.y * p.K + k) >> 1u) + 1u]));
      let c2 = vec4f(unpack_word(w[(nn.z * p.K + k) >> 1u]), unpack_word(w[((nn.z * p.K + k) >> 1u) + 1u]));
      let c3 = vec4f(unpack_word(w[(nn.w * p.K + k) >> 1u]), unpack_word(w[((nn.w * p.K + k) >> 1u) + 1u]));
      w0 = vec4f(c0.x, c1.x, c2.x, c3.x);
      w1 = vec4f(c0.y, c1.y, c2.y, c3.y);
      w2 = vec4f(c0.z, c1.z, c2.z, c3.z);
      w3 = vec4f(c0.w, c1.w, c2.w, c3.w);
    } else if (PAIR_N) {
      let lastWord = (p.K * p.N) / 2u - 1u;
      let o0 = k * p.N + n0;
      let o1 = o0 + p.N;
      let o2 = o1 + p.N;
      let o3 = o2 + p.N;
      w0 = vec4f(unpack_word(w[o0 >> 1u]), unpack_word(w[min((o0 + 2u) >> 1u, lastWord)]));
      w1 = vec4f(unpack_word(w[o1 >> 1u]), unpack_word(w[min((o1 + 2u) >> 1u, lastWord)]));
      w2 = vec4f(unpack_word(w[o2 >> 1u]), unpack_word(w[min((o2 + 2u) >> 1u, lastWord)]));
      w3 = vec4f(unpack_word(w[o3 >> 1u]), unpack_word(w[min((o3 + 2u) >> 1u, lastWord)]));
    } else {
      w0 = vec4f(w_at(k, nn.x), w_at(k, nn.y), w_at(k, nn.z), w_at(k, nn.w));
      w1 = vec4f(w_at(k + 1u, nn.x), w_at(k + 1u, nn.y), w_at(k + 1u, nn.z), w_at(k + 1u, nn.w));
      w2 = vec4f(w_at(k + 2u, nn.x), w_at(k + 2u, nn.y), w_at(k + 2u, nn.z), w_at(k + 2u, nn.w));
      w3 = vec4f(w_at(k + 3u, nn.x), w_at(k + 3u, nn.y), w_at(k + 3u, nn.z), w_at(k + 3u, nn.w));
    }
    rank4(&b, array<vec4f, 4>(r0, r1, r2, r3), array<vec4f, 4>(w0, w1, w2, w3));
  }
  return b;
}

/** Σ_r a2[m0+i, r]·op(w2)[r, n0+j] over r = 0..R−1 (fma, r ascending). */
fn product2(m0: u32, n0: u32) -> Block {
  var b = Block(array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)));
  let mm = min(vec4u(m0, m0 + 1u, m0 + 2u, m0 + 3u), vec4u(p.M - 1u));
  let nn = min(vec4u(n0, n0 + 1u, n0 + 2u, n0 + 3u), vec4u(p.N - 1u));
  for (var r = 0u; r < p.R; r = r + 1u) {
    let av = vec4f(a2[mm.x * p.R + r], a2[mm.y * p.R + r], a2[mm.z * p.R + r], a2[mm.w * p.R + r]);
    var wv: vec4f;
    if (LORA_TRANS_B) { wv = vec4f(w2[nn.x * p.R + r], w2[nn.y * p.R + r], w2[nn.z * p.R + r], w2[nn.w * p.R + r]); }
    else { wv = vec4f(w2[r * p.N + nn.x], w2[r * p.N + nn.y], w2[r * p.N + nn.z], w2[r * p.N + nn.w]); }
    rank1(&b, av, wv);
  }
  return b;
}

/**
 * The same sums as {@link product2} (bit-identical: r ascending) reading a2 and w2 as vec4s: needs R % 4 == 0, and
 * N % 4 == 0 when !LORA_TRANS_B (w2 [R, N] rows read four columns at a time).
 */
fn product2v(m0: u32, n0: u32) -> Block {
  var b = Block(array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)));
  let R4 = p.R / 4u;
  let mm = min(vec4u(m0, m0 + 1u, m0 + 2u, m0 + 3u), vec4u(p.M - 1u)) * R4;
  let nn = min(vec4u(n0, n0 + 1u, n0 + 2u, n0 + 3u), vec4u(p.N - 1u));
  for (var rq = 0u; rq < R4; rq = rq + 1u) {
    let x0 = a2v[mm.x + rq];
    let x1 = a2v[mm.y + rq];
    let x2 = a2v[mm.z + rq];
    let x3 = a2v[mm.w + rq];
    // wj = op(w2)[4·rq + j, n0..n0+3]
    var w0: vec4f; var w1: vec4f; var w2r: vec4f; var w3: vec4f;
    if (LORA_TRANS_B) {
      let c0 = w2v[nn.x * R4 + rq];
      let c1 = w2v[nn.y * R4 + rq];
      let c2 = w2v[nn.z * R4 + rq];
      let c3 = w2v[nn.w * R4 + rq];
      w0 = vec4f(c0.x, c1.x, c2.x, c3.x);
      w1 = vec4f(c0.y, c1.y, c2.y, c3.y);
      w2r = vec4f(c0.z, c1.z, c2.z, c3.z);
      w3 = vec4f(c0.w, c1.w, c2.w, c3.w);
    } else {
      let o = (4u * rq * p.N + n0) / 4u;
      let N4 = p.N / 4u;
      w0 = w2v[o];
      w1 = w2v[o + N4];
      w2r = w2v[o + 2u * N4];
      w3 = w2v[o + 3u * N4];
    }
    rank4(&b, array<vec4f, 4>(x0, x1, x2, x3), array<vec4f, 4>(w0, w1, w2r, w3));
  }
  return b;
}

/** The block of thread index t: (m0, n0), or m0 = M (sentinel) past the last block. */
fn block_of(t: u32) -> vec2u {
  let groups = (p.N + 3u) / 4u;
  if (t >= ((p.M + 3u) / 4u) * groups) { return vec2u(p.M, 0u); }
  return vec2u((t / groups) * 4u, (t % groups) * 4u);
}

/** The block of this thread: (m0, n0), or m0 = M (sentinel) past the last block. */
fn block_origin(gid: vec3u, nwg: vec3u) -> vec2u {
  return block_of(gid.x + gid.y * nwg.x * 64u);
}

/** Final value of out[m, n] from the dot product(s), in the order of matmul.wgsl's epilogue / store_row_lora. */
fn store(m: u32, n: u32, dot: f32, dot2: f32, fused: bool) {
  let o = m * p.N + n;
  var v = p.alpha * dot;
  if (HAS_BIAS) { v = v + bias[n]; }
  if (ACCUMULATE) { v = v + out[o]; }
  if (fused) { v = v + p.alpha2 * dot2; }
  out[o] = v;
}

/** Stores row m, columns n0..n0+3 (those < N) of a block (written out: constant component indices). */
fn store_row4(m: u32, n0: u32, v: vec4f, v2: vec4f, fused: bool) {
  if (m >= p.M) { return; }
  if (n0 < p.N) { store(m, n0, v.x, v2.x, fused); }
  if (n0 + 1u < p.N) { store(m, n0 + 1u, v.y, v2.y, fused); }
  if (n0 + 2u < p.N) { store(m, n0 + 2u, v.z, v2.z, fused); }
  if (n0 + 3u < p.N) { store(m, n0 + 3u, v.w, v2.w, fused); }
}

/** Stores the block at o = (m0, n0): out = epilogue(b) (+ alpha2·b2 when fused). */
fn store_block(o: vec2u, b: Block, b2: Block, fused: bool) {
  store_row4(o.x, o.y, b.c[0], b2.c[0], fused);
  store_row4(o.x + 1u, o.y, b.c[1], b2.c[1], fused);
  store_row4(o.x + 2u, o.y, b.c[2], b2.c[2], fused);
  store_row4(o.x + 3u, o.y, b.c[3], b2.c[3], fused);
}

const ZERO_BLOCK = Block(array<vec4f, 4>(vec4f(0.0), vec4f(0.0), vec4f(0.0), vec4f(0.0)));

@compute @workgroup_size(64)
fn reg(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = block_origin(gid, nwg);
  if (o.x >= p.M) { return; }
  store_block(o, product(o.x, o.y, 0u, p.K), ZERO_BLOCK, false);
}

@compute @workgroup_size(64)
fn reg_lora(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = block_origin(gid, nwg);
  if (o.x >= p.M) { return; }
  store_block(o, product(o.x, o.y, 0u, p.K), product2(o.x, o.y), true);
}

@compute @workgroup_size(64)
fn reg4(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = block_origin(gid, nwg);
  if (o.x >= p.M) { return; }
  store_block(o, product4(o.x, o.y), ZERO_BLOCK, false);
}

@compute @workgroup_size(64)
fn reg4_lora(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = block_origin(gid, nwg);
  if (o.x >= p.M) { return; }
  store_block(o, product4(o.x, o.y), product2(o.x, o.y), true);
}

@compute @workgroup_size(64)
fn reg4_lorav(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let o = block_origin(gid, nwg);
  if (o.x >= p.M) { return; }
  store_block(o, product4(o.x, o.y), product2v(o.x, o.y), true);
}

/** Writes row m, columns n0..n0+3 (those < N) of chunk partial sums to part[base + m·N + n]. */
fn store_partial4(base: u32, m: u32, n0: u32, v: vec4f) {
  if (m >= p.M) { return; }
  let o = base + m * p.N + n0;
  if (n0 < p.N) { out[o] = v.x; }
  if (n0 + 1u < p.N) { out[o + 1u] = v.y; }
  if (n0 + 2u < p.N) { out[o + 2u] = v.z; }
  if (n0 + 3u < p.N) { out[o + 3u] = v.w; }
}

@compute @workgroup_size(64)
fn splitk_partial(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let t = gid.x + gid.y * nwg.x * 64u;
  let blocks = ((p.M + 3u) / 4u) * ((p.N + 3u) / 4u);
  let s = t / blocks;
  let k0 = s * p.chunk;
  if (k0 >= p.K) { return; }
  let o = block_of(t % blocks);
  let b = product(o.x, o.y, k0, min(p.K, k0 + p.chunk));
  let base = s * p.M * p.N;
  store_partial4(base, o.x, o.y, b.c[0]);
  store_partial4(base, o.x + 1u, o.y, b.c[1]);
  store_partial4(base, o.x + 2u, o.y, b.c[2]);
  store_partial4(base, o.x + 3u, o.y, b.c[3]);
}

@compute @workgroup_size(64)
fn splitk_reduce(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * 64u;
  let mn = p.M * p.N;
  if (i >= mn) { return; }
  let S = (p.K + p.chunk - 1u) / p.chunk;
  var sum = 0.0;
  for (var s = 0u; s < S; s = s + 1u) { sum = sum + a[s * mn + i]; }
  store(i / p.N, i % p.N, sum, 0.0, false);
}
