// mkfixture.js writes corpus.ids.gz, the real-text fixture for the pairing and
// masking tests: token ids made by the real Hugging Face tokenizer (npm
// tokenizers) with the bert-base-uncased WordPiece setup, from the shared
// corpora. See README.md in this folder for the format and how to run it.
'use strict';
const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const { Tokenizer } = require('tokenizers');

const shared = process.argv[2] || path.join(__dirname, '../../../shared/data');
const out = process.argv[3] || path.join(__dirname, 'corpus.ids.gz');
const SOTU_EVERY = 4; // every 4th State of the Union address keeps the fixture < 2 MB

const vocabLines = fs.readFileSync(path.join(shared, 'vocab/bert-base-uncased-vocab.txt'), 'utf8').split('\n');
if (vocabLines[vocabLines.length - 1] === '') vocabLines.pop();
const vocab = {};
vocabLines.forEach((t, i) => { vocab[t] = i; });
const special = (t) => ({ id: vocab[t], content: t, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
// The tokenizer.json that Hugging Face ships for bert-base-uncased, built here from vocab.txt.
const tokJSON = {
  version: '1.0', truncation: null, padding: null,
  added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
  normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  pre_tokenizer: { type: 'BertPreTokenizer' },
  post_processor: null, decoder: null,
  model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
};
const tok = Tokenizer.fromString(JSON.stringify(tokJSON));

// Naive sentence split: after . ! or ? followed by white space. Test input only.
const sentences = (para) => para.split(/(?<=[.!?])\s+/).map((s) => s.trim()).filter((s) => s.length > 0);

function docs() {
  const list = [];
  const md = path.join(shared, 'corpora/moby-dick');
  for (const f of fs.readdirSync(md).sort()) list.push(path.join(md, f));
  const sotu = path.join(shared, 'corpora/sotu');
  fs.readdirSync(sotu).sort().forEach((f, i) => { if (i % SOTU_EVERY === 0) list.push(path.join(sotu, f)); });
  return list;
}

(async () => {
  const words = [];
  let nDocs = 0; let nSents = 0; let nTokens = 0;
  for (const file of docs()) {
    const text = fs.readFileSync(file, 'utf8');
    const sents = [];
    for (const line of text.split('\n')) sents.push(...sentences(line));
    let kept = 0;
    for (const s of sents) {
      const enc = await tok.encode(s, null, { addSpecialTokens: false });
      const ids = enc.getIds();
      if (ids.length === 0) continue;
      for (const id of ids) words.push(id);
      words.push(0xffff); // end of sentence
      kept++; nTokens += ids.length;
    }
    if (kept > 0) { words.push(0xfffe); nDocs++; nSents += kept; } // end of document
  }
  const buf = Buffer.alloc(words.length * 2);
  words.forEach((w, i) => buf.writeUInt16LE(w, i * 2));
  fs.writeFileSync(out, zlib.gzipSync(buf, { level: 9 }));
  console.log(`${out}: ${nDocs} documents, ${nSents} sentences, ${nTokens} tokens, ${fs.statSync(out).size} bytes`);
})();
