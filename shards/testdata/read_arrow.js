// Reads a kiln shard with Arrow JS (apache-arrow) and prints, as JSON, its
// format, schema metadata, row count and, per column, its type and every value
// of every row (a list column: one array per row). zstd bodies
// are decoded by fzstd and LZ4 frame bodies by the small decoder below, both
// registered through Arrow JS's compressionRegistry.
// Usage: NODE_PATH=tools/peers/node_modules node read_arrow.js SHARD
"use strict";
const fs = require("fs");
const arrow = require("apache-arrow");
const fzstd = require("fzstd");

// lz4FrameDecode decodes an LZ4 frame (https://github.com/lz4/lz4/blob/dev/doc/lz4_Frame_format.md).
function lz4FrameDecode(src) {
  const u32 = (i) => (src[i] | (src[i + 1] << 8) | (src[i + 2] << 16) | (src[i + 3] << 24)) >>> 0;
  if (u32(0) !== 0x184d2204) throw new Error("lz4: bad frame magic");
  const flg = src[4];
  let i = 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1; // FLG BD [size] [dict] HC
  let out = new Uint8Array(1 << 16);
  let n = 0;
  const grow = (k) => {
    if (n + k <= out.length) return;
    let size = out.length * 2;
    while (size < n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(out.subarray(0, n));
    out = next;
  };
  for (;;) {
    const word = u32(i);
    i += 4;
    if (word === 0) break; // end mark
    const size = word & 0x7fffffff;
    const end = i + size;
    if (word & 0x80000000) {
      grow(size);
      out.set(src.subarray(i, end), n);
      n += size;
    } else {
      while (i < end) {
        const token = src[i++];
        let lit = token >> 4;
        if (lit === 15) for (let b = 255; b === 255; lit += b) b = src[i++];
        grow(lit);
        out.set(src.subarray(i, i + lit), n);
        n += lit;
        i += lit;
        if (i >= end) break; // last sequence has literals only
        const offset = src[i] | (src[i + 1] << 8);
        i += 2;
        let len = token & 15;
        if (len === 15) for (let b = 255; b === 255; len += b) b = src[i++];
        len += 4;
        if (offset === 0 || offset > n) throw new Error("lz4: bad match offset");
        grow(len);
        for (let k = 0; k < len; k++, n++) out[n] = out[n - offset];
      }
    }
    i = end + (flg & 0x10 ? 4 : 0); // block checksum
  }
  return out.subarray(0, n);
}

arrow.compressionRegistry.set(arrow.CompressionType.ZSTD, { decode: (d) => fzstd.decompress(d) });
arrow.compressionRegistry.set(arrow.CompressionType.LZ4_FRAME, { decode: lz4FrameDecode });

const [path] = process.argv.slice(2);
const reader = arrow.RecordBatchReader.from(fs.readFileSync(path)).open();
const out = { reader: "apache-arrow", format: reader.isFile() ? "file" : "stream", rows: 0, batches: 0, columns: {}, metadata: {} };
for (const [k, v] of reader.schema.metadata) out.metadata[k] = v;
for (const batch of reader) {
  out.batches++;
  out.rows += batch.numRows;
  for (const field of batch.schema.fields) {
    const c = (out.columns[field.name] ||= { type: String(field.type), values: [] });
    for (const data of batch.getChild(field.name).data) {
      for (let r = data.offset; r < data.offset + data.length; r++) {
        if (data.nullBitmap && data.nullBitmap.length > 0 && !(data.nullBitmap[r >> 3] & (1 << (r & 7)))) {
          c.values.push(null);
        } else if (data.children.length > 0) { // list: the child values of row r
          const child = data.children[0];
          const row = [];
          for (let k = child.offset + data.valueOffsets[r]; k < child.offset + data.valueOffsets[r + 1]; k++) row.push(Number(child.values[k]));
          c.values.push(row);
        } else {
          c.values.push(Number(data.values[r]));
        }
      }
    }
  }
}
console.log(JSON.stringify(out));
