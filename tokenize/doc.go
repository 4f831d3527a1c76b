// Package tokenize turns text into BERT word-piece ids, identical to Hugging Face tokenizers
// (the Rust library, checked against its npm binding 0.23.2) for the same vocabulary and
// settings, and much faster.
//
// The pipeline is Hugging Face's, in the same separate parts:
//
//   - special tokens ([CLS], [SEP], ...) written literally in the text are matched first, on
//     the raw text, as Hugging Face's added tokens are (Options.EncodeSpecialTokens turns this
//     off);
//   - the normaliser (BertNormalizer): clean text (drop control characters, NUL and U+FFFD,
//     turn whitespace into spaces), space out CJK ideographs, strip accents (NFD, then drop
//     Mn marks), lowercase;
//   - the pre-tokenizer (BertPreTokenizer): split on whitespace, and make every punctuation
//     character (Unicode P* plus the ASCII symbols) a word of its own;
//   - the model (WordPiece): greedy longest-match-first pieces, "##" marking a continuation;
//     a word that cannot be covered, or is longer than 100 characters, is one [UNK].
//
// Hugging Face takes its character properties from several Unicode versions; kiln matches
// them exactly, every code point checked against the real library (see unicode.go).
//
// On the hot path the parts are fused into one pass over the bytes: a precomputed table
// says, for every character of the Basic Multilingual Plane, what the normaliser makes of it
// and how the pre-tokenizer splits it, ASCII words are copied byte by byte, and word pieces are
// found with one hash lookup for a whole-word token, else by walking double-array tries of
// the vocabulary. Nothing is allocated per word; Encode writes into a caller-owned Encoding.
// A Tokenizer is immutable and safe for concurrent use; EncodeBatch spreads texts over
// workers. Building one is fast: the character table is computed 256 characters at a time
// when text first needs them, and the tries (one per first byte with many tokens, one for the
// rest) when a word that is not a token first needs one, each in time linear in its tokens'
// bytes, however long a token is.
//
// Text that is not valid UTF-8 is read with each invalid byte as U+FFFD (which clean text
// removes) and the bytes are counted in Encoding.Invalid; input never makes it panic.
//
// LoadVocab reads a vocab.txt exactly as Hugging Face's WordPiece does (a repeated token keeps
// its last id, a blank line is the token ""); Vocab.Warnings reports such lines. Only [UNK] is
// needed to tokenize; Vocab.RequireSpecial is for the stages that need all five special tokens.
//
// LoadJSON reads a Hugging Face tokenizer.json, after checking its structure itself; a BERT
// WordPiece one gets the fast tokenizer, anything else runs, slowly, through
// github.com/sugarme/tokenizer (only tokenize/internal/general imports it; its failures, and
// only its, are the errors Encode returns).
//
// WriteVocab, WriteTokenizerJSON and WriteHF write a vocabulary back out: vocab.txt, a
// tokenizer.json with the whole BERT pipeline, and the files transformers' save_pretrained
// writes for a BertTokenizerFast (for checkpoints). WordSplitter runs the normaliser and the
// pre-tokenizer alone, for the vocabulary trainer (tokenize/wordpiece).
//
// This package is not: a sentence splitter (see tokenize/sentence), a post-processor (it adds
// no [CLS]/[SEP], pads and truncates nothing: pairing/ does that), a trainer of vocabularies
// (see tokenize/wordpiece), or a general tokenizer for BPE or Unigram models at speed. Offsets into the text are not
// kept.
package tokenize
