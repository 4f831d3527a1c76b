// Encodes every line of a text file with Hugging Face tokenizers (the npm package, a binding
// of the Rust library) and prints, per input line, the ids, a tab, and the word ids
// (space-separated), without special tokens. Lines are split on "\n" only.
// Usage: NODE_PATH=tools/peers/node_modules node hf_encode.js tokenizer.json input.txt > out.txt
const fs = require('fs');
const { Tokenizer } = require('tokenizers');

async function main() {
  const [jsonPath, inputPath] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(jsonPath);
  const lines = fs.readFileSync(inputPath, 'utf8').split('\n');
  const out = fs.createWriteStream(null, { fd: 1 });
  const chunk = 4096;
  for (let i = 0; i < lines.length; i += chunk) {
    const encs = await tok.encodeBatch(lines.slice(i, i + chunk), { addSpecialTokens: false });
    const text = encs.map((e) => e.getIds().join(' ') + '\t' + e.getWordIds().join(' ')).join('\n') + '\n';
    if (!out.write(text)) await new Promise((resolve) => out.once('drain', resolve));
  }
  await new Promise((resolve) => out.end(resolve));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
