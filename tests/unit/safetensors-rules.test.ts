/**
 * safetensors reading and writing against the reference implementation (huggingface/safetensors
 * `safetensors/src/tensor.rs`): the writer's bytes are the reference's own test vectors (`test_serialization`,
 * `test_empty`, `test_serialization_forced_alignement`), the reader applies `read_metadata` + `Metadata::validate`
 * (every rule has a hand-built file), and a fast-check property says that any input either parses to a valid
 * header or throws SafetensorsError, nothing else.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeSafetensorsHeader, readSafetensorsHeader, safetensorsBlob, SafetensorsError, safetensorsOrder, type SafetensorsRule } from '../../src/io/safetensors';

/** A file from a header string (no padding added) and `dataBytes` zero data bytes; `n` overrides the length prefix. */
function file(header: string, dataBytes: number, n?: bigint): Blob {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.byteLength + dataBytes);
  new DataView(out.buffer).setBigUint64(0, n ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  return new Blob([out]);
}

const f32 = (xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer);

async function bytesOf(b: Blob): Promise<number[]> {
  return [...new Uint8Array(await b.arrayBuffer())];
}

async function ruleOf(b: Blob): Promise<{ rule: SafetensorsRule; tensor?: string; message: string }> {
  try {
    await readSafetensorsHeader(b, 'm.safetensors');
  } catch (e) {
    expect(e).toBeInstanceOf(SafetensorsError);
    const s = e as SafetensorsError;
    expect(s.message).toContain('m.safetensors');
    expect(s.file).toBe('m.safetensors');
    return { rule: s.rule, tensor: s.tensor, message: s.message };
  }
  throw new Error('expected a SafetensorsError');
}

describe('safetensors writer = reference writer', () => {
  it('test_serialization: attn.0 F32 [1,2,3], no metadata', async () => {
    const data = f32([0, 1, 2, 3, 4, 5]);
    const got = await bytesOf(safetensorsBlob([{ name: 'attn.0', dtype: 'F32', shape: [1, 2, 3], byteLength: 24, data }], null));
    expect(got).toEqual([
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100,
      116, 121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34,
      58, 91, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102, 115,
      101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0, 0, 0, 0, 0, 128, 63,
      0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ]);
  });

  it('test_serialization_forced_alignement: the header is padded with spaces to 8 bytes', async () => {
    const got = await bytesOf(safetensorsBlob([{ name: 'attn0', dtype: 'F32', shape: [1, 1, 2, 3], byteLength: 24, data: f32([0, 1, 2, 3, 4, 5]) }], null));
    expect(got).toEqual([
      72, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 48, 34, 58, 123, 34, 100, 116,
      121, 112, 101, 34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58,
      91, 49, 44, 49, 44, 50, 44, 51, 93, 44, 34, 100, 97, 116, 97, 95, 111, 102, 102,
      115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 32, 32, 32, 32, 32,
      32, 32, 0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0,
      160, 64,
    ]);
  });

  it('test_empty: no tensors, with and without metadata', async () => {
    expect(await bytesOf(safetensorsBlob([], null))).toEqual([8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32]);
    expect(await bytesOf(safetensorsBlob([], { framework: 'pt' }))).toEqual([
      40, 0, 0, 0, 0, 0, 0, 0, 123, 34, 95, 95, 109, 101, 116, 97, 100, 97, 116, 97, 95,
      95, 34, 58, 123, 34, 102, 114, 97, 109, 101, 119, 111, 114, 107, 34, 58, 34, 112,
      116, 34, 125, 125, 32, 32, 32, 32, 32,
    ]);
    // Both re-read as valid empty files.
    expect((await readSafetensorsHeader(safetensorsBlob([], { framework: 'pt' }), 'e')).metadata).toEqual({ framework: 'pt' });
  });

  it('lays tensors out by descending dtype alignment, then name (the reference prepare() sort)', async () => {
    const t = (name: string, dtype: 'I64' | 'F64' | 'F32' | 'BF16' | 'U8', bytes: number) => ({ name, dtype, shape: [bytes / { I64: 8, F64: 8, F32: 4, BF16: 2, U8: 1 }[dtype]], byteLength: bytes, data: new Uint8Array(bytes) });
    const blob = safetensorsBlob([t('a', 'BF16', 2), t('b', 'F32', 4), t('z', 'F64', 8), t('c', 'I64', 8), t('B', 'BF16', 2), t('u', 'U8', 1)], null);
    const n = Number(new DataView(await blob.slice(0, 8).arrayBuffer()).getBigUint64(0, true));
    const text = (await blob.slice(8, 8 + n).text()).trimEnd();
    expect(text).toBe('{"c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"z":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},'
      + '"b":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},"B":{"dtype":"BF16","shape":[1],"data_offsets":[20,22]},'
      + '"a":{"dtype":"BF16","shape":[1],"data_offsets":[22,24]},"u":{"dtype":"U8","shape":[1],"data_offsets":[24,25]}}');
    // Integer-like names keep their sorted place (a plain JS object would move them first).
    const h2 = encodeSafetensorsHeader(safetensorsOrder([{ name: 'x', dtype: 'F32', shape: [], byteLength: 4 }, { name: '1', dtype: 'BF16', shape: [], byteLength: 2 }]), null);
    expect(new TextDecoder().decode(h2.slice(8)).trimEnd()).toBe('{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"1":{"dtype":"BF16","shape":[],"data_offsets":[4,6]}}');
  });

  it('refuses duplicate names, the name __metadata__, out-of-order input and wrong byte lengths', () => {
    const a = { name: 'w', dtype: 'F32' as const, shape: [2], byteLength: 8 };
    expect(() => encodeSafetensorsHeader([a, { ...a }], null)).toThrow(/"w" is given twice.*rule: write/);
    expect(() => encodeSafetensorsHeader([{ ...a, name: '__metadata__' }], null)).toThrow(/reserved/);
    expect(() => encodeSafetensorsHeader([{ ...a, name: 'b' }, { ...a, name: 'a' }], null)).toThrow(/out of the reference order/);
    expect(() => encodeSafetensorsHeader([{ ...a, byteLength: 4 }], null)).toThrow(/4 bytes given, expected 8/);
    expect(() => safetensorsBlob([{ ...a, data: new Uint8Array(8) }, { ...a, data: new Uint8Array(8) }])).toThrow(SafetensorsError);
  });
});

describe('safetensors reader = reference read_metadata + validate', () => {
  const T = (name: string, b: number, e: number, shape = [(e - b) / 4], dtype = 'F32') => `${JSON.stringify(name)}:{"dtype":"${dtype}","shape":${JSON.stringify(shape)},"data_offsets":[${b},${e}]}`;

  it('reads the reference docs example (I32 [2,2], 16 data bytes) and unsorted-but-contiguous entries', async () => {
    const h = await readSafetensorsHeader(file('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}', 16), 'doc');
    expect(h.tensors.get('test')).toEqual({ name: 'test', dtype: 'I32', shape: [2, 2], begin: 68, end: 84 });
    const h2 = await readSafetensorsHeader(file(`{${T('b', 8, 16)},${T('a', 0, 8)},"__metadata__":null}`, 16), 'x');
    expect([...h2.tensors.keys()]).toEqual(['a', 'b']);
    expect(h2.metadata).toEqual({});
  });

  const cases: [string, Blob, SafetensorsRule, string?][] = [
    ['file shorter than 8 bytes', new Blob([new Uint8Array(5)]), 'header-too-small'],
    ['header over 100,000,000 bytes', file('{}', 0, 100_000_001n), 'header-too-large'],
    ['header length 2^64 − 1', file('{}', 0, 0xffffffffffffffffn), 'header-too-large'],
    ['header past the end of the file', file('{}', 0, 50n), 'header-length'],
    ['header not UTF-8', new Blob([new Uint8Array([2, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xfe])]), 'header-utf8'],
    ['header not JSON', file('{"a":', 0), 'header-json'],
    ['header a JSON array', file('[]', 0), 'header-json'],
    ['duplicate tensor name', file(`{${T('w', 0, 8)},${T('w', 8, 16)}}`, 16), 'duplicate-name', 'w'],
    ['gap between tensors', file(`{${T('a', 0, 8)},${T('b', 12, 20)}}`, 20), 'invalid-offset', 'b'],
    ['gap at the start', file(`{${T('a', 4, 12)}}`, 12), 'invalid-offset', 'a'],
    ['overlapping tensors', file(`{${T('a', 0, 8)},${T('b', 4, 12)}}`, 12), 'invalid-offset', 'b'],
    ['end before begin', file(`{${T('a', 0, 8)},${T('b', 8, 4, [0])}}`, 8), 'invalid-offset', 'b'],
    ['trailing bytes after the data', file(`{${T('a', 0, 8)}}`, 9), 'incomplete-buffer'],
    ['data truncated', file(`{${T('a', 0, 8)}}`, 7), 'incomplete-buffer'],
    ['bytes ≠ numel × dtype size', file(`{${T('a', 0, 8, [3])}}`, 8), 'size-mismatch', 'a'],
    ['negative offset', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', 0), 'offsets', 'a'],
    ['non-integer offset', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}', 4), 'offsets', 'a'],
    ['three offsets', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}', 4), 'offsets', 'a'],
    ['string offsets', file('{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}', 4), 'offsets', 'a'],
    ['negative dimension', file('{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), 'shape', 'a'],
    ['unknown dtype', file('{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', 4), 'dtype', 'a'],
    ['missing shape', file('{"a":{"dtype":"F32","data_offsets":[0,4]}}', 4), 'tensor-entry', 'a'],
    ['__metadata__ with a number', file(`{"__metadata__":{"format":"pt","step":3},${T('a', 0, 4)}}`, 4), 'metadata'],
    ['__metadata__ a string', file(`{"__metadata__":"pt",${T('a', 0, 4)}}`, 4), 'metadata'],
    ['duplicate field in an entry', file('{"a":{"dtype":"F32","dtype":"F16","shape":[1],"data_offsets":[0,4]}}', 4), 'duplicate-name'],
  ];
  for (const [what, blob, rule, tensor] of cases) {
    it(`refuses: ${what} (${rule})`, async () => {
      const got = await ruleOf(blob);
      expect(got.rule).toBe(rule);
      if (tensor !== undefined) {
        expect(got.tensor).toBe(tensor);
        expect(got.message).toContain(`"${tensor}"`);
      }
    });
  }
});

describe('fuzz: every input parses to a valid header or throws SafetensorsError', () => {
  /** Invariants of a returned header, checked independently of the reader's own code. */
  function checkValid(h: Awaited<ReturnType<typeof readSafetensorsHeader>>, size: number): void {
    const size1 = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;
    let at = h.dataStart;
    for (const t of h.tensors.values()) {
      expect(t.begin).toBe(at);
      expect(t.end - t.begin).toBe(t.shape.reduce((a, b) => a * b, 1) * size1[t.dtype]);
      at = t.end;
    }
    expect(at).toBe(size);
    for (const v of Object.values(h.metadata)) expect(typeof v).toBe('string');
  }
  async function property(bytes: Uint8Array): Promise<void> {
    const blob = new Blob([bytes as Uint8Array<ArrayBuffer>]);
    try {
      checkValid(await readSafetensorsHeader(blob, 'fuzz'), blob.size);
    } catch (e) {
      if (!(e instanceof SafetensorsError)) throw e;
    }
  }
  const withPrefix = (text: string, tail: Uint8Array, delta: number): Uint8Array => {
    const h = new TextEncoder().encode(text);
    const out = new Uint8Array(8 + h.byteLength + tail.byteLength);
    new DataView(out.buffer).setBigUint64(0, BigInt(Math.max(0, h.byteLength + delta)), true);
    out.set(h, 8);
    out.set(tail, 8 + h.byteLength);
    return out;
  };

  it('whatever the writer writes, the reader accepts with the same tensors and bytes', async () => {
    const dtypes = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32', 'I16', 'I8', 'U8', 'BOOL'] as const;
    const size = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 } as const;
    const tensor = fc.record({ dtype: fc.constantFrom(...dtypes), shape: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 3 }), seed: fc.integer({ min: 0, max: 255 }) });
    const meta = fc.option(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), { nil: null });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }).filter((n) => n !== '__metadata__'), tensor), { selector: (t) => t[0], maxLength: 6 }), meta, async (list, m) => {
        const ts = list.map(([name, t]) => {
          const n = t.shape.reduce((a, b) => a * b, 1) * size[t.dtype];
          return { name, dtype: t.dtype, shape: t.shape, byteLength: n, data: new Uint8Array(n).map((_, i) => (i * 31 + t.seed) & 255) };
        });
        const blob = safetensorsBlob(ts, m);
        const h = await readSafetensorsHeader(blob, 'rt');
        expect((h.dataStart - 8) % 8).toBe(0);
        expect(h.metadata).toEqual(m ?? {});
        expect(h.tensors.size).toBe(ts.length);
        for (const t of ts) {
          const got = h.tensors.get(t.name);
          expect(got?.dtype).toBe(t.dtype);
          expect(got?.shape).toEqual(t.shape);
          expect(new Uint8Array(await blob.slice(got?.begin, got?.end).arrayBuffer())).toEqual(t.data);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('random bytes', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), property), { numRuns: 300 });
  });

  it('random JSON values as headers', async () => {
    await fc.assert(fc.asyncProperty(fc.jsonValue(), fc.uint8Array({ maxLength: 64 }), fc.integer({ min: -3, max: 3 }), (v, tail, d) => property(withPrefix(JSON.stringify(v) ?? 'null', tail, d))), { numRuns: 300 });
  });

  it('near-valid headers: tensors with random dtypes, shapes and offsets', async () => {
    const dim = fc.oneof(fc.integer({ min: 0, max: 4 }), fc.constantFrom(-1, 1.5, 2 ** 60, '2' as unknown as number));
    const entry = fc.record({
      dtype: fc.constantFrom('F32', 'BF16', 'F16', 'I64', 'U8', 'BOOL', 'F8_E4M3', 'x'),
      shape: fc.array(dim, { maxLength: 3 }),
      data_offsets: fc.oneof(fc.tuple(fc.integer({ min: -2, max: 40 }), fc.integer({ min: -2, max: 40 })), fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 3 })),
    });
    const header = fc.dictionary(fc.constantFrom('a', 'b', 'c', '__metadata__', 'model.embed_tokens.weight'), fc.oneof(entry, fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer()))));
    await fc.assert(fc.asyncProperty(header, fc.integer({ min: 0, max: 48 }), (h, n) => property(withPrefix(JSON.stringify(h), new Uint8Array(n), 0))), { numRuns: 500 });
  });
});
