// The Hugging Face peer of `kiln tokenize` as a whole process (bench/google.sh): reads a text
// file, encodes each line with the npm package tokenizers (Rust) one line at a time on one
// thread (encode, BERT WordPiece from a vocab.txt, uncased, no special tokens added) and writes
// the ids of each line, space separated, one line per input line, as `kiln tokenize` does.
// Usage: NODE_PATH=tools/peers/node_modules node bench/tokenize_cli_hf.js VOCAB FILE > ids.txt
const fs = require('fs');
const tk = require('tokenizers');

async function main() {
  const [vocab, file] = process.argv.slice(2);
  const model = await tk.WordPiece.fromFile(vocab, { unkToken: '[UNK]' });
  const tok = new tk.Tokenizer(model);
  tok.setNormalizer(tk.bertNormalizer({ lowercase: true, stripAccents: true }));
  tok.setPreTokenizer(tk.bertPreTokenizer());
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  let lines = fs.readFileSync(file, 'utf8').split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out = [];
  for (const line of lines) {
    const enc = await tok.encode(line.replace(/\r$/, ''), null, { addSpecialTokens: false });
    out.push(enc.getIds().join(' '));
  }
  out.push('');
  process.stdout.write(out.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
