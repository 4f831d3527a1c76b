// Reads a kiln shard with nodejs-polars and prints its row count and, per
// column, the number of values and their sum, as JSON.
// Usage: NODE_PATH=tools/peers/node_modules node read_polars.js SHARD file|stream
"use strict";
const fs = require("fs");
const pl = require("nodejs-polars");

const [path, format] = process.argv.slice(2);
// A string is taken as a path only when it ends in .ipc: pass the bytes.
const body = fs.readFileSync(path);
const df = format === "stream" ? pl.readIPCStream(body) : pl.readIPC(body);
const lists = new Set(["input_ids", "token_type_ids", "masked_lm_positions", "masked_lm_ids"]);
const out = { reader: "nodejs-polars", rows: df.height, columns: {} };
for (const name of df.columns) {
  let e = pl.col(name);
  if (lists.has(name)) e = e.explode();
  const r = df.select(e.cast(pl.Float64).sum().alias("sum"), e.count().alias("count"));
  out.columns[name] = {
    sum: Number(r.getColumn("sum").get(0)),
    count: Number(r.getColumn("count").get(0)),
    type: String(df.getColumn(name).dtype),
  };
}
console.log(JSON.stringify(out));
