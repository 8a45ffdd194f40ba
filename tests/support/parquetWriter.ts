/**
 * A minimal Parquet writer for test fixtures (no writer library is installed; hyparquet only reads): one row group,
 * one uncompressed PLAIN data page (v1) per column, string (BYTE_ARRAY, UTF8) columns, REQUIRED or OPTIONAL (null
 * allowed, definition levels RLE-encoded). Metadata in the Thrift compact protocol, following the Apache Parquet
 * format spec (parquet.thrift: FileMetaData, SchemaElement, RowGroup, ColumnChunk, ColumnMetaData, PageHeader).
 * Deterministic: the same rows give the same bytes.
 */

/** A string column; `optional` columns may hold null. */
export interface StringColumn {
  readonly name: string;
  readonly optional: boolean;
  readonly values: readonly (string | null)[];
}

class Out {
  bytes: number[] = [];
  varint(n: number | bigint): void {
    let v = BigInt(n);
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      this.bytes.push(b);
    } while (v > 0n);
  }
  zigzag(n: number): void {
    const v = BigInt(n);
    this.varint(v >= 0n ? v << 1n : ((-v) << 1n) - 1n);
  }
  raw(b: ArrayLike<number>): void {
    for (let i = 0; i < b.length; i++) this.bytes.push(b[i] as number);
  }
  u32(n: number): void {
    this.raw([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);
  }
}

/** Thrift compact struct writer (field ids ascending). */
class Struct {
  private last = 0;
  constructor(private readonly o: Out) {}
  private head(id: number, type: number): void {
    const d = id - this.last;
    if (d > 0 && d <= 15) this.o.bytes.push((d << 4) | type);
    else {
      this.o.bytes.push(type);
      this.o.zigzag(id);
    }
    this.last = id;
  }
  i32(id: number, v: number): this {
    this.head(id, 5);
    this.o.zigzag(v);
    return this;
  }
  i64(id: number, v: number): this {
    this.head(id, 6);
    this.o.zigzag(v);
    return this;
  }
  str(id: number, s: string): this {
    this.head(id, 8);
    const b = new TextEncoder().encode(s);
    this.o.varint(b.length);
    this.o.raw(b);
    return this;
  }
  struct(id: number, f: (s: Struct) => void): this {
    this.head(id, 12);
    const s = new Struct(this.o);
    f(s);
    s.end();
    return this;
  }
  list(id: number, elemType: number, n: number, f: (i: number) => void): this {
    this.head(id, 9);
    if (n < 15) this.o.bytes.push((n << 4) | elemType);
    else {
      this.o.bytes.push(0xf0 | elemType);
      this.o.varint(n);
    }
    for (let i = 0; i < n; i++) f(i);
    return this;
  }
  /** A list element that is a struct. */
  static elem(o: Out, f: (s: Struct) => void): void {
    const s = new Struct(o);
    f(s);
    s.end();
  }
  end(): void {
    this.o.bytes.push(0);
  }
}

/** RLE runs (bit width 1) of definition levels, prefixed by their byte length (data page v1). */
function defLevels(values: readonly (string | null)[]): number[] {
  const o = new Out();
  let i = 0;
  while (i < values.length) {
    const level = values[i] === null ? 0 : 1;
    let j = i;
    while (j < values.length && (values[j] === null ? 0 : 1) === level) j++;
    o.varint((j - i) << 1);
    o.bytes.push(level);
    i = j;
  }
  const len = new Out();
  len.u32(o.bytes.length);
  return [...len.bytes, ...o.bytes];
}

/**
 * Parquet file bytes for string columns of equal length.
 * @throws Error when the columns differ in length or a REQUIRED column holds null
 */
export function writeStringParquet(columns: readonly StringColumn[]): Uint8Array {
  const rows = columns[0]?.values.length ?? 0;
  const file = new Out();
  file.raw(new TextEncoder().encode('PAR1'));
  const chunks: { offset: number; size: number; col: StringColumn }[] = [];
  for (const col of columns) {
    if (col.values.length !== rows) throw new Error(`column ${col.name}: ${col.values.length} values, expected ${rows}`);
    if (!col.optional && col.values.some((v) => v === null)) throw new Error(`column ${col.name} is REQUIRED but holds null`);
    const data = new Out();
    if (col.optional) data.raw(defLevels(col.values));
    for (const v of col.values) {
      if (v === null) continue;
      const b = new TextEncoder().encode(v);
      data.u32(b.length);
      data.raw(b);
    }
    const header = new Out();
    new Struct(header)
      .i32(1, 0) // DATA_PAGE
      .i32(2, data.bytes.length)
      .i32(3, data.bytes.length)
      .struct(5, (s) => s.i32(1, rows).i32(2, 0).i32(3, 3).i32(4, 3)) // PLAIN values, RLE levels
      .end();
    const offset = file.bytes.length;
    file.raw(header.bytes);
    file.raw(data.bytes);
    chunks.push({ offset, size: file.bytes.length - offset, col });
  }
  const meta = new Out();
  new Struct(meta)
    .i32(1, 1)
    .list(2, 12, columns.length + 1, (i) =>
      Struct.elem(meta, (s) => {
        if (i === 0) s.str(4, 'schema').i32(5, columns.length);
        else s.i32(1, 6).i32(3, (columns[i - 1] as StringColumn).optional ? 1 : 0).str(4, (columns[i - 1] as StringColumn).name).i32(6, 0);
      }),
    )
    .i64(3, rows)
    .list(4, 12, 1, () =>
      Struct.elem(meta, (rg) => {
        rg.list(1, 12, chunks.length, (k) =>
          Struct.elem(meta, (cc) => {
            const c = chunks[k] as (typeof chunks)[number];
            cc.i64(2, c.offset).struct(3, (m) => {
              m.i32(1, 6).list(2, 5, 2, (e) => meta.zigzag(e === 0 ? 0 : 3)).list(3, 8, 1, () => {
                const b = new TextEncoder().encode(c.col.name);
                meta.varint(b.length);
                meta.raw(b);
              });
              m.i32(4, 0).i64(5, rows).i64(6, c.size).i64(7, c.size).i64(9, c.offset);
            });
          }),
        );
        rg.i64(2, chunks.reduce((n, c) => n + c.size, 0)).i64(3, rows);
      }),
    )
    .end();
  file.raw(meta.bytes);
  file.u32(meta.bytes.length);
  file.raw(new TextEncoder().encode('PAR1'));
  return Uint8Array.from(file.bytes);
}
