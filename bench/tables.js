// The peer of bench/tables.sh. "write SRC.jsonl DIR": writes the JSONL corpus as Parquet
// (snappy and zstd, row groups of 256 rows) and Arrow IPC (file and stream, uncompressed) with
// nodejs-polars. "read FORMAT FILE": reads FILE with polars (readParquet, readIPC,
// readIPCStream, readJSON lines; the IPC and JSONL files read into a Buffer first, as polars
// 0.25 reads IPC files by path wrongly) and prints {"seconds", "documents", "text_bytes"}: the time
// to read it and have every text in memory.
const fs = require("fs");
const path = require("path");
const pl = require("nodejs-polars");

async function main() {
  const [cmd, a, b] = process.argv.slice(2);
  if (cmd === "write") {
    const df = pl.readJSON(fs.readFileSync(a), { format: "lines" });
    await df.lazy().sinkParquet(path.join(b, "corpus-snappy.parquet"), { compression: "snappy", rowGroupSize: 256 }).collect();
    await df.lazy().sinkParquet(path.join(b, "corpus-zstd.parquet"), { compression: "zstd", rowGroupSize: 256 }).collect();
    // Record batches of 256 rows, as datasets writes its cache files in batches.
    let chunked = df.slice(0, 256);
    for (let i = 256; i < df.height; i += 256) chunked = chunked.vstack(df.slice(i, 256));
    chunked.writeIPC(path.join(b, "corpus-file.arrow"));
    chunked.writeIPCStream(path.join(b, "corpus-stream.arrow"));
    return;
  }
  const start = process.hrtime.bigint();
  let df;
  switch (cmd === "read" ? a : "") {
    case "parquet": df = pl.readParquet(b); break;
    case "arrow-file": df = pl.readIPC(fs.readFileSync(b)); break; // by path, readIPC fails (InvalidFooter)
    case "arrow-stream": df = pl.readIPCStream(fs.readFileSync(b)); break;
    case "jsonl": df = pl.readJSON(fs.readFileSync(b), { format: "lines" }); break;
    default: throw new Error("usage: tables.js write SRC DIR | read parquet|arrow-file|arrow-stream|jsonl FILE");
  }
  const bytes = df.getColumn("text").str.lengths().sum();
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  process.stdout.write(JSON.stringify({ seconds: secs, documents: df.height, text_bytes: bytes }) + "\n");
}

main().catch((e) => { console.error(e); process.exit(1); });
