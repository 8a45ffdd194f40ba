/**
 * Independent readers for the streaming tests (no src/io code): safetensors files through a FileHandle with their
 * own header parsing, sharded folders through model.safetensors.index.json, and stored zip entries through the
 * central directory (PKWARE APPNOTE.TXT 4.3.12–4.3.16 and the zip64 records 4.3.14/4.3.15/4.5.3).
 */
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/** Throws `what` unless `ok`. */
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** A safetensors file read with a FileHandle (own header parsing, independent of src/io). */
export interface RawSt {
  readonly fh: FileHandle;
  readonly data: number;
  readonly header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
}
/** Opens a safetensors file and parses its header (tensor name → dtype, shape, data_offsets). */
export async function openRaw(path: string): Promise<RawSt> {
  const fh = await open(path, 'r');
  const len = Buffer.alloc(8);
  await fh.read(len, 0, 8, 0);
  const n = Number(len.readBigUInt64LE(0));
  const json = Buffer.alloc(n);
  await fh.read(json, 0, n, 8);
  const header = JSON.parse(json.toString('utf8')) as RawSt['header'];
  delete header.__metadata__;
  return { fh, data: 8 + n, header };
}
/** Bytes [begin, end) of one tensor's data (default: all of it). @throws Error on a short read. */
export async function rawBytes(f: RawSt, name: string, begin = 0, end?: number): Promise<Buffer> {
  const [a, b] = f.header[name]?.data_offsets as [number, number];
  const len = (end ?? b - a) - begin;
  const buf = Buffer.alloc(len);
  const { bytesRead } = await f.fh.read(buf, 0, len, f.data + a + begin);
  check(bytesRead === len, `${name}: read ${bytesRead} bytes, expected ${len}`);
  return buf;
}
/** Opens every shard of a sharded folder; tensor name → its file. */
export async function openShards(dir: string): Promise<{ files: Map<string, RawSt>; of: Map<string, RawSt> }> {
  const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
  const files = new Map<string, RawSt>();
  for (const s of new Set(Object.values(index.weight_map))) files.set(s, await openRaw(join(dir, s)));
  return { files, of: new Map(Object.entries(index.weight_map).map(([t, s]) => [t, files.get(s) as RawSt])) };
}

/** One stored (uncompressed) zip entry: name, size and where its data starts in the archive. */
export interface ZipEntry {
  readonly name: string;
  readonly size: number;
  readonly dataOffset: number;
}
/**
 * Lists a zip's entries from its central directory (zip64 aware; APPNOTE.TXT 4.3.12–4.3.16, 4.5.3).
 * @throws Error when a record is malformed or an entry is compressed (the exports store files uncompressed).
 */
export async function zipEntries(path: string): Promise<ZipEntry[]> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const at = async (pos: number, n: number): Promise<Buffer> => {
      const b = Buffer.alloc(n);
      await fh.read(b, 0, n, pos);
      return b;
    };
    const tail = await at(Math.max(0, size - 65_557), Math.min(size, 65_557));
    const e = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    check(e >= 0, `${path}: no end-of-central-directory record`);
    let count = tail.readUInt16LE(e + 10);
    let cdSize = tail.readUInt32LE(e + 12);
    let cdOff = tail.readUInt32LE(e + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOff === 0xffffffff) {
      const z64 = await at(Number(tail.readBigUInt64LE(e - 20 + 8)), 56);
      check(z64.readUInt32LE(0) === 0x06064b50, `${path}: bad zip64 end-of-central-directory record`);
      count = Number(z64.readBigUInt64LE(32));
      cdSize = Number(z64.readBigUInt64LE(40));
      cdOff = Number(z64.readBigUInt64LE(48));
    }
    const cd = await at(cdOff, cdSize);
    const out: ZipEntry[] = [];
    for (let p = 0, k = 0; k < count; k++) {
      check(cd.readUInt32LE(p) === 0x02014b50, `${path}: bad central directory entry ${k}`);
      const [nl, xl, cl] = [cd.readUInt16LE(p + 28), cd.readUInt16LE(p + 30), cd.readUInt16LE(p + 32)];
      const name = cd.toString('utf8', p + 46, p + 46 + nl);
      let fields = [cd.readUInt32LE(p + 24), cd.readUInt32LE(p + 20), cd.readUInt32LE(p + 42)];
      for (let x = p + 46 + nl; x < p + 46 + nl + xl; x += 4 + cd.readUInt16LE(x + 2)) {
        if (cd.readUInt16LE(x) !== 1) continue;
        let q = x + 4;
        fields = fields.map((v) => (v === 0xffffffff ? Number(cd.readBigUInt64LE((q += 8) - 8)) : v));
      }
      const [usize, csize, local] = fields as [number, number, number];
      check(cd.readUInt16LE(p + 10) === 0 && csize === usize, `${path}: ${name} is not stored uncompressed`);
      const lh = await at(local, 30);
      check(lh.readUInt32LE(0) === 0x04034b50, `${path}: bad local header for ${name}`);
      out.push({ name, size: usize, dataOffset: local + 30 + lh.readUInt16LE(26) + lh.readUInt16LE(28) });
      p += 46 + nl + xl + cl;
    }
    return out;
  } finally {
    await fh.close();
  }
}

