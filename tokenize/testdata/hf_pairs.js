// Encodes sentence pairs with a tokenizer.json in Hugging Face tokenizers (the npm package, a
// binding of the Rust library), special tokens added by the file's post-processor, as
// transformers' tokenizer(a, b) does. Input: one pair per line, the two sentences separated
// by a tab. Output, per pair: the ids, a tab, the type ids, a tab, the special tokens mask.
// Usage: NODE_PATH=tools/peers/node_modules node hf_pairs.js tokenizer.json pairs.tsv > out.txt
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

async function main() {
  const [jsonPath, inputPath] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(jsonPath);
  const lines = fs.readFileSync(inputPath, 'utf8').split('\n').filter((l) => l !== '');
  const out = [];
  for (const line of lines) {
    const [a, b] = line.split('\t');
    const e = await tok.encode(a, b, { addSpecialTokens: true });
    out.push(e.getIds().join(' ') + '\t' + e.getTypeIds().join(' ') + '\t' + e.getSpecialTokensMask().join(' '));
  }
  fs.writeFileSync(1, out.join('\n') + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
