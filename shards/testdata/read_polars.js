// Reads a kiln shard with nodejs-polars and prints, as JSON, its row count and,
// per column, its type and every value of every row (a list column: one array
// per row).
// Usage: NODE_PATH=tools/peers/node_modules node read_polars.js SHARD file|stream
"use strict";
const fs = require("fs");
const pl = require("nodejs-polars");

const [path, format] = process.argv.slice(2);
// A string is taken as a path only when it ends in .ipc: pass the bytes.
const body = fs.readFileSync(path);
const df = format === "stream" ? pl.readIPCStream(body) : pl.readIPC(body);
const out = { reader: "nodejs-polars", rows: df.height, columns: {} };
for (const name of df.columns) {
  const s = df.getColumn(name);
  const values = [];
  for (const v of s.toArray()) {
    if (v === null || v === undefined) values.push(null);
    else if (typeof v === "object") values.push(Array.from(v, Number)); // a list: array or Series
    else values.push(Number(v));
  }
  out.columns[name] = { type: String(s.dtype), values };
}
console.log(JSON.stringify(out));
