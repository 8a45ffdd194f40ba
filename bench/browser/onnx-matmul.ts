/**
 * A one-node ONNX model, Y[M, N] = MatMul(A[M, K], B[K, N]) with B an f32 initializer, serialised in memory for
 * bench/browser/matmul-ort.bench.spec.ts (onnxruntime-web's WebGPU MatMul).
 *
 * Hand-written protobuf writer rather than protobufjs: the model needs five messages and a dozen fields, all of
 * them varints, strings, packed bytes or sub-messages, so ~60 lines of wire format are smaller than loading onnx.proto
 * (onnxruntime-web ships no .proto file) or generating static code. Field numbers are those of onnx/onnx.proto
 * (IR version 8, default-domain opset 13, the MatMul definition since opset 13):
 *   ModelProto      ir_version 1 (int64), producer_name 2, graph 7, opset_import 8
 *   OperatorSetId   domain 1, version 2 (int64)
 *   GraphProto      node 1, name 2, initializer 5, input 11, output 12
 *   NodeProto       input 1, output 2, name 3, op_type 4
 *   TensorProto     dims 1 (int64), data_type 2 (FLOAT = 1), name 8, raw_data 9 (little-endian)
 *   ValueInfoProto  name 1, type 2;  TypeProto tensor_type 1;  TypeProto.Tensor elem_type 1, shape 2
 *   TensorShapeProto dim 1;  Dimension dim_value 1 (int64)
 */

/** Protobuf message builder: fields appended in order, each as tag + payload (wire types 0 and 2 only). */
class Msg {
  private readonly parts: Uint8Array[] = [];

  /** Varint field (wire type 0): int32/int64/enum values ≥ 0 below 2^53. */
  int(field: number, value: number): this {
    this.parts.push(varint(field * 8), varint(value));
    return this;
  }

  /** Length-delimited field (wire type 2): bytes, a UTF-8 string or an embedded message. */
  bytes(field: number, value: Uint8Array | string | Msg): this {
    const b = typeof value === 'string' ? new TextEncoder().encode(value) : value instanceof Msg ? value.finish() : value;
    this.parts.push(varint(field * 8 + 2), varint(b.byteLength), b);
    return this;
  }

  /** The serialised message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((s, p) => s + p.byteLength, 0));
    let o = 0;
    for (const p of this.parts) {
      out.set(p, o);
      o += p.byteLength;
    }
    return out;
  }
}

/** Base-128 varint of a non-negative integer below 2^53 (arithmetic, not 32-bit shifts). */
function varint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`varint: ${n} is not a non-negative safe integer`);
  const out: number[] = [];
  while (n >= 128) {
    out.push((n % 128) | 128);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** ValueInfoProto of an f32 tensor with fixed dims. */
function f32Info(name: string, dims: readonly number[]): Msg {
  const shape = new Msg();
  for (const d of dims) shape.bytes(1, new Msg().int(1, d));
  return new Msg().bytes(1, name).bytes(2, new Msg().bytes(1, new Msg().int(1, 1).bytes(2, shape)));
}

/**
 * Serialises the model Y = MatMul(A, B): graph input "A" f32 [M, K], initializer "B" f32 [K, N] holding `b`
 * (row-major), output "Y" f32 [M, N].
 * @throws Error when b.length ≠ K·N.
 */
export function matmulModel(M: number, N: number, K: number, b: Float32Array): Uint8Array {
  if (b.length !== K * N) throw new Error(`matmulModel: B has ${b.length} values but [K ${K}, N ${N}] needs ${K * N}`);
  const raw = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  const init = new Msg().int(1, K).int(1, N).int(2, 1).bytes(8, 'B').bytes(9, raw);
  const node = new Msg().bytes(1, 'A').bytes(1, 'B').bytes(2, 'Y').bytes(3, 'matmul').bytes(4, 'MatMul');
  const graph = new Msg().bytes(1, node).bytes(2, 'matmul_bench').bytes(5, init).bytes(11, f32Info('A', [M, K])).bytes(12, f32Info('Y', [M, N]));
  return new Msg().int(1, 8).bytes(2, 'shadowft-bench').bytes(7, graph).bytes(8, new Msg().bytes(1, '').int(2, 13)).finish();
}
