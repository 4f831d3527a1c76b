package tokenize

// Options configure a Tokenizer. The fields mirror Hugging Face's BertNormalizer, WordPiece
// model and added special tokens.
type Options struct {
	// CleanText removes NUL, U+FFFD and control characters (Cc, Cf, Co, Cs except tab,
	// newline and carriage return) and turns every whitespace character into a space.
	CleanText bool
	// HandleChineseChars makes each CJK ideograph a word of its own.
	HandleChineseChars bool
	// StripAccents decomposes characters (NFD) and removes nonspacing marks (Mn). In Hugging
	// Face it follows Lowercase unless set; BertOptions does the same.
	StripAccents bool
	// Lowercase lowercases every character (full Unicode mapping, as Rust's to_lowercase).
	Lowercase bool
	// MaxInputCharsPerWord: a word longer than this many characters (after normalisation)
	// becomes one unknown token. Zero means 100, the BERT default.
	MaxInputCharsPerWord int
	// UnkToken is the unknown token; "" means "[UNK]". It must be in the vocabulary.
	UnkToken string
	// ContinuingSubwordPrefix marks word pieces that continue a word; "" means "##".
	ContinuingSubwordPrefix string
	// SpecialTokens are matched in the raw text before normalisation, each match becoming its
	// id and a word of its own (Hugging Face's added special tokens). Nil means those of
	// [PAD], [UNK], [CLS], [SEP], [MASK] that the vocabulary has; an empty, non-nil slice
	// means none.
	SpecialTokens []string
	// EncodeSpecialTokens tokenizes special-token strings found in the text as ordinary text
	// (Hugging Face's encode_special_tokens) instead of mapping them to their ids.
	EncodeSpecialTokens bool
}

// BertOptions returns the settings of Hugging Face's BertTokenizerFast: uncased (lowercase
// and strip accents) or cased (neither); both clean text and isolate CJK ideographs.
func BertOptions(cased bool) Options {
	return Options{
		CleanText:          true,
		HandleChineseChars: true,
		StripAccents:       !cased,
		Lowercase:          !cased,
	}
}

// withDefaults fills the zero fields that have defaults.
func (o Options) withDefaults() Options {
	if o.MaxInputCharsPerWord == 0 {
		o.MaxInputCharsPerWord = 100
	}
	if o.UnkToken == "" {
		o.UnkToken = "[UNK]"
	}
	if o.ContinuingSubwordPrefix == "" {
		o.ContinuingSubwordPrefix = "##"
	}
	return o
}
