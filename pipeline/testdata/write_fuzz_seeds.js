// Writes the small seed files of FuzzTableSource with nodejs-polars: the first paragraphs of
// a few sample documents, with a null, as Parquet (snappy and zstd, row groups of 2 rows)
// and Arrow IPC (file and stream).
//
// usage (from pipeline/): NODE_PATH=../tools/peers/node_modules node testdata/write_fuzz_seeds.js
const fs = require("fs");
const path = require("path");
const pl = require("nodejs-polars");

async function main() {
  const dir = path.join("..", "cmd", "kiln", "sample", "corpus");
  const names = fs.readdirSync(dir).filter((n) => n.endsWith(".txt")).sort().slice(0, 5);
  const texts = names.map((n) => fs.readFileSync(path.join(dir, n), "utf8").split("\n\n").slice(0, 2).join("\n\n").slice(0, 400));
  texts.splice(2, 0, null);
  const df = pl.DataFrame([pl.Series("text", texts, pl.Utf8), pl.Series("n", texts.map((_, i) => i), pl.Int64)]);
  await df.lazy().sinkParquet(path.join("testdata", "fuzz_seed.parquet"), { compression: "snappy", rowGroupSize: 2 }).collect();
  await df.lazy().sinkParquet(path.join("testdata", "fuzz_seed_zstd.parquet"), { compression: "zstd", rowGroupSize: 2 }).collect();
  const chunked = df.slice(0, 3).vstack(df.slice(3, 3));
  chunked.writeIPC(path.join("testdata", "fuzz_seed.arrow"));
  chunked.writeIPCStream(path.join("testdata", "fuzz_seed_stream.arrow"));
}

main().catch((e) => { console.error(e); process.exit(1); });
