// Reads a vocab.txt with Hugging Face tokenizers' WordPiece.fromFile (the npm package, a
// binding of the Rust library), builds an uncased BERT tokenizer on it (BertNormalizer,
// BertPreTokenizer, no added tokens) and prints, first, the vocabulary as one JSON array of
// [token, id] pairs sorted by id, then per line of the input file the ids, a tab, and the word
// ids (space-separated), without special tokens. Lines are split on "\n" only.
// Usage: NODE_PATH=tools/peers/node_modules node hf_vocab.js vocab.txt input.txt > out.txt
const fs = require('fs');
const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer } = require('tokenizers');

async function main() {
  const [vocabPath, inputPath] = process.argv.slice(2);
  const model = await WordPiece.fromFile(vocabPath, {
    unkToken: '[UNK]',
    continuingSubwordPrefix: '##',
    maxInputCharsPerWord: 100,
  });
  const tok = new Tokenizer(model);
  tok.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  tok.setPreTokenizer(bertPreTokenizer());
  const vocab = Object.entries(tok.getVocab(false)).sort((a, b) => a[1] - b[1]);
  let text = JSON.stringify(vocab) + '\n';
  const lines = fs.readFileSync(inputPath, 'utf8').split('\n');
  const encs = await tok.encodeBatch(lines, { addSpecialTokens: false });
  text += encs.map((e) => e.getIds().join(' ') + '\t' + e.getWordIds().join(' ')).join('\n') + '\n';
  process.stdout.write(text);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
