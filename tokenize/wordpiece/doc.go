// Package wordpiece trains a WordPiece vocabulary from a corpus, as Hugging Face's
// WordPieceTrainer does (the trainer behind BertWordPieceTokenizer.train): words counted
// after the tokenizer's own normaliser and pre-tokenizer, an alphabet of the most frequent
// characters, BPE merges with the "##" continuation prefix, special tokens first.
//
// Count streams the corpus through parallel workers into a Counter whose size is bounded
// (pruning rare words when it is full); Train turns the counts into the vocabulary, in the
// order of vocab.txt.
package wordpiece
