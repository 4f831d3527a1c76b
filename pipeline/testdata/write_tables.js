// Writes the documents of a JSONL file (one {"text": ...} object a line, text may be null)
// as the Parquet and Arrow IPC files that kiln's table-format tests read, with the real
// writers: nodejs-polars (Parquet in several row groups and compressions, Arrow IPC file and
// stream) and Arrow JS (Arrow IPC with a plain utf8 column, as Hugging Face datasets writes).
// It also writes the bad-input files (a non-string column, a list column).
//
// usage: node write_tables.js CORPUS.jsonl OUTDIR
// prints: {"files": {"name": {"rows": N}}, ...}
const fs = require("fs");
const path = require("path");
const pl = require("nodejs-polars");
const arrow = require("apache-arrow");

async function main() {
  const [src, out] = process.argv.slice(2);
  const texts = fs.readFileSync(src, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l).text);
  const n = texts.length;
  const textSeries = pl.Series("text", texts, pl.Utf8);
  const df = pl.DataFrame([textSeries, pl.Series("n", [...Array(n).keys()], pl.Int64)]);
  // A frame of three chunks: polars writes one IPC record batch per chunk.
  const third = Math.ceil(n / 3);
  const chunked = df.slice(0, third).vstack(df.slice(third, third)).vstack(df.slice(2 * third, n - 2 * third));
  const files = {};
  const done = (name) => { files[name] = { rows: n }; };

  df.writeParquet(path.join(out, "plain.parquet"), { compression: "uncompressed" }); done("plain.parquet");
  const sinks = [
    ["snappy.parquet", { compression: "snappy", rowGroupSize: 7, dataPagesizeLimit: 8192 }],
    ["zstd.parquet", { compression: "zstd", rowGroupSize: 10 }],
    ["gzip.parquet", { compression: "gzip", rowGroupSize: 5 }],
    ["brotli.parquet", { compression: "brotli", rowGroupSize: 16 }],
  ];
  for (const [name, opts] of sinks) {
    await df.lazy().sinkParquet(path.join(out, name), opts).collect();
    done(name);
  }
  chunked.writeIPC(path.join(out, "polars_file.arrow")); done("polars_file.arrow");
  chunked.writeIPC(path.join(out, "polars_file_zstd.arrow"), { compression: "zstd" }); done("polars_file_zstd.arrow");
  chunked.writeIPCStream(path.join(out, "polars_stream.arrow")); done("polars_stream.arrow");
  // lz4 bodies: Arrow v15's Go reader rejects polars' lz4 block checksums (a bad-input case).
  chunked.writeIPCStream(path.join(out, "polars_stream_lz4.arrow"), { compression: "lz4" });

  // Arrow JS: a utf8 column in record batches of 8 rows, file and stream.
  const batches = [];
  for (let i = 0; i < n; i += 8) {
    const v = arrow.vectorFromArray(texts.slice(i, i + 8), new arrow.Utf8());
    batches.push(new arrow.RecordBatch({ text: v.data[0] }));
  }
  const table = new arrow.Table(batches);
  fs.writeFileSync(path.join(out, "arrowjs_file.arrow"), arrow.tableToIPC(table, "file")); done("arrowjs_file.arrow");
  fs.writeFileSync(path.join(out, "arrowjs_stream.arrow"), arrow.tableToIPC(table, "stream")); done("arrowjs_stream.arrow");

  // Bad inputs: the text in a column of integers, and in a list column.
  const bad = pl.DataFrame([pl.Series("text", [...Array(n).keys()], pl.Int64)]);
  bad.writeParquet(path.join(out, "int_text.parquet"));
  bad.writeIPC(path.join(out, "int_text.arrow"));
  const lists = pl.DataFrame([pl.Series("text", texts.map((t) => [t ?? ""]))]);
  lists.writeParquet(path.join(out, "list_text.parquet"));
  lists.writeIPCStream(path.join(out, "list_text.arrow"));
  process.stdout.write(JSON.stringify({ files }) + "\n");
}

main().catch((e) => { console.error(e); process.exit(1); });
