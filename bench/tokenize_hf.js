// The Hugging Face peer of bench/tokenize.sh: tokenizes one text per .txt file of a corpus with
// the npm package tokenizers (Rust), first with encode in a loop (one text at a time, one
// thread), then with encodeBatch (Rayon threads; RAYON_NUM_THREADS sets how many), and prints
// MB/s and the number of tokens. BERT WordPiece from a vocab.txt, no special tokens added.
// Usage: NODE_PATH=tools/peers/node_modules node bench/tokenize_hf.js VOCAB CORPUS_DIR [cased]
const fs = require('fs');
const path = require('path');
const tk = require('tokenizers');

async function main() {
  const [vocab, dir, cased] = process.argv.slice(2);
  const lower = cased !== 'cased';
  const model = await tk.WordPiece.fromFile(vocab, { unkToken: '[UNK]' });
  const tok = new tk.Tokenizer(model);
  tok.setNormalizer(tk.bertNormalizer({ lowercase: lower, stripAccents: lower }));
  tok.setPreTokenizer(tk.bertPreTokenizer());
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.txt')).sort();
  const texts = files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8'));
  const bytes = files.reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
  console.log(`# hf: ${texts.length} texts, ${(bytes / 1e6).toFixed(2)} MB, tokenizers ${require('tokenizers/package.json').version}, node ${process.version}`);

  let t0 = process.hrtime.bigint();
  let tokens = 0;
  for (const s of texts) tokens += (await tok.encode(s, null, { addSpecialTokens: false })).getIds().length;
  let secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`RESULT hf_encode_1 ${(bytes / 1e6 / secs).toFixed(2)} ${tokens}`);

  t0 = process.hrtime.bigint();
  const encs = await tok.encodeBatch(texts, { addSpecialTokens: false });
  secs = Number(process.hrtime.bigint() - t0) / 1e9;
  tokens = encs.reduce((n, e) => n + e.getIds().length, 0);
  console.log(`RESULT hf_batch ${(bytes / 1e6 / secs).toFixed(2)} ${tokens}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
