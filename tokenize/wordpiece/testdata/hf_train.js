// Trains a WordPiece vocabulary with Hugging Face tokenizers (npm), as kiln's parity tests
// use it: node hf_train.js OUT.txt cased|uncased FILE...
// The tokenizer is BERT's (BertNormalizer, BertPreTokenizer) with an empty WordPiece model;
// Tokenizer.train uses WordPieceTrainer's built-in defaults (vocab_size 30000,
// min_frequency 0, no special tokens, no alphabet limit). OUT.txt gets the vocabulary in id
// order, one token a line, as vocab.txt.
const tk = require('tokenizers');
const fs = require('fs');
const [out, casing, ...files] = process.argv.slice(2);
const uncased = casing === 'uncased';
const tok = new tk.Tokenizer(tk.WordPiece.empty());
tok.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: uncased, lowercase: uncased }));
tok.setPreTokenizer(tk.bertPreTokenizer());
tok.train(files);
const vocab = tok.getVocab(true);
const byId = [];
for (const [token, id] of Object.entries(vocab)) byId[id] = token;
for (let i = 0; i < byId.length; i++) if (byId[i] === undefined) throw new Error('no token for id ' + i);
fs.writeFileSync(out, byId.map((t) => t + '\n').join(''));
