// Gated MLP activation, elementwise over n values: h = act(g)·u, the act_fn(gate_proj(x)) * up_proj(x) of
//   ACT = 0: SwiGLU (HF LlamaMLP, act_fn = SiLU): silu(z) = z·σ(z),  σ(z) = 1 / (1 + e^{−z})  (evaluated without overflow)
//   ACT = 1: GeGLU (HF Gemma3MLP, hidden_activation "gelu_pytorch_tanh", transformers activations.py
//            PytorchGELUTanh = torch gelu(approximate="tanh")):
//            gelu_tanh(z) = 0.5·z·(1 + tanh(u)) = z·σ(2u),  u = √(2/π)·(z + 0.044715·z³)
//            (0.5·(1 + tanh u) = σ(2u) exactly, so no tanh is taken: drivers' tanh can give NaN for large |u|)
//   forward:  h = act(g)·u
//   backward: dg = dh·u·act'(g),  du = dh·act(g)
//             silu'(z)      = σ(z)·(1 + z·(1 − σ(z)))
//             gelu_tanh'(z) = σ(2u) + z·σ(2u)·(1 − σ(2u))·2√(2/π)·(1 + 3·0.044715·z²)
//             (σ(1 − σ) = e^{−|x|}/(1 + e^{−|x|})², no cancellation near σ = 1)
//   In the GeGLU polynomial z is clamped to ±12: beyond it σ(2u) is exactly 0 or 1 in f32 (2|u| > 142), and z³
//   cannot overflow.
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
override ACT: u32 = 0u;             // 0 = silu (SwiGLU), 1 = gelu_tanh (GeGLU)

const GELU_K: f32 = 0.7978845608028654;  // √(2/π)
const GELU_C: f32 = 0.044715;
const GELU_CLAMP: f32 = 12.0;

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

/** (σ(x), σ(x)·(1 − σ(x))) from one e^{−|x|} ≤ 1. */
fn sigmoid_slope(x: f32) -> vec2f {
  let e = exp(-abs(x));
  let r = 1.0 / (1.0 + e);
  return vec2f(select(e * r, r, x >= 0.0), e * r * r);
}

/** 2u = 2√(2/π)·(z + 0.044715·z³) of the GeGLU gate, z clamped to ±GELU_CLAMP. */
fn gelu_2u(z: f32) -> f32 {
  let zc = clamp(z, -GELU_CLAMP, GELU_CLAMP);
  return 2.0 * GELU_K * zc * (1.0 + GELU_C * zc * zc);
}

@compute @workgroup_size(WG)
fn forward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  if (ACT == 1u) {
    out[i] = g * sigmoid(gelu_2u(g)) * up[i];
    return;
  }
  out[i] = g * sigmoid(g) * up[i];
}

@compute @workgroup_size(WG)
fn backward(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let i = gid.x + gid.y * nwg.x * WG;
  if (i >= p.n) { return; }
  let g = gate[i];
  let d = dout[i];
  if (ACT == 1u) {
    let zc = clamp(g, -GELU_CLAMP, GELU_CLAMP);
    let ss = sigmoid_slope(gelu_2u(g));
    let da = ss.x + g * ss.y * (2.0 * GELU_K) * (1.0 + 3.0 * GELU_C * zc * zc);
    dgate[i] = d * up[i] * da;
    dup[i] = d * g * ss.x;
    return;
  }
  let s = sigmoid(g);
  dgate[i] = d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] = d * g * s;
}
