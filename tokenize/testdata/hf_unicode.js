// Prints, for every Unicode scalar value, how Hugging Face tokenizers' BertNormalizer parts and
// BertPreTokenizer treat it alone, one tab-separated line per code point:
//   hex code point, clean_text (D dropped, S becomes a space, K kept),
//   handle_chinese_chars (1 isolated, 0 not), strip_accents result, lowercase result
//   ("=" unchanged, else the hex code points of the output, comma-separated),
//   pre-tokenizer class of the character between two letters (W whitespace, P punctuation, O other).
// Used by TestUnicodeTables. Run: NODE_PATH=tools/peers/node_modules node hf_unicode.js > out.tsv
const tk = require('tokenizers');

const only = (o) => tk.bertNormalizer(Object.assign(
  { cleanText: false, handleChineseChars: false, stripAccents: false, lowercase: false }, o));
const clean = only({ cleanText: true });
const chinese = only({ handleChineseChars: true });
const strip = only({ stripAccents: true });
const lower = only({ lowercase: true });
const pre = tk.bertPreTokenizer();

const hex = (s) => Array.from(s).map((c) => c.codePointAt(0).toString(16)).join(',');
const out = [];
for (let cp = 0; cp < 0x110000; cp++) {
  if (cp >= 0xd800 && cp <= 0xdfff) continue;
  const c = String.fromCodePoint(cp);
  const cl = clean.normalizeString(c);
  const cleanClass = cl === '' ? 'D' : cl === c ? 'K' : cl === ' ' ? 'S' : '?' + hex(cl);
  const ch = chinese.normalizeString(c) !== c ? '1' : '0';
  const st = strip.normalizeString(c);
  const lo = lower.normalizeString(c);
  const n = pre.preTokenizeString('a' + c + 'a').length;
  const preClass = n === 2 ? 'W' : n === 3 ? 'P' : n === 1 ? 'O' : '?' + n;
  out.push([cp.toString(16), cleanClass, ch, st === c ? '=' : hex(st), lo === c ? '=' : hex(lo), preClass].join('\t'));
}
process.stdout.write(out.join('\n') + '\n');
