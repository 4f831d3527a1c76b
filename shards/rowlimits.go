package shards

import (
	"errors"
	"fmt"
)

// RowLimits are the bounds a row's shape is held to: a Writer holds the rows it is given to
// its Options (max_seq_len, the vocabulary, static masking), and the trainer holds each row of
// a batch to its model (max_position_embeddings, vocab_size, type_vocab_size). CheckRow, which
// kiln verify and the trainer's loader run, checks the BERT layout of a row beyond its shape.
type RowLimits struct {
	MaxLen    int    // the most tokens a row may hold
	LenName   string // what MaxLen is called in errors (max_seq_len, max_position_embeddings)
	VocabSize int    // ids and masked ids are in [0, VocabSize)
	TypeVocab int    // token types are in [0, TypeVocab); 0: only non-negative
	NoMasks   bool   // rows may not carry masked positions (dynamic masking)
}

// CheckCounts returns an error for the first of the row's lengths and its label that break
// l: no tokens, more than MaxLen, as many token types as tokens, as many masked ids as masked
// positions (none with NoMasks), and a label of -1, 0 or 1. It reads no element of the row.
func (l RowLimits) CheckCounts(r *Row) error {
	n := len(r.InputIDs)
	switch {
	case n == 0:
		return errors.New("empty input_ids")
	case n > l.MaxLen:
		return fmt.Errorf("length %d exceeds %s %d", n, l.LenName, l.MaxLen)
	case len(r.TokenTypeIDs) != n:
		return fmt.Errorf("%d token_type_ids for %d input_ids", len(r.TokenTypeIDs), n)
	case len(r.MaskedPositions) != len(r.MaskedIDs):
		return fmt.Errorf("%d masked positions but %d masked ids", len(r.MaskedPositions), len(r.MaskedIDs))
	case l.NoMasks && len(r.MaskedPositions) > 0:
		return errors.New("masked positions given for a dynamic-masking row")
	case r.NextSentenceLabel < -1 || r.NextSentenceLabel > 1:
		return fmt.Errorf("next sentence label %d not in {-1, 0, 1}", r.NextSentenceLabel)
	}
	return nil
}

// Check is CheckCounts, then every element: ids and masked ids inside the vocabulary, token
// types inside the type vocabulary, masked positions inside the row. (The Writer checks the
// elements as it converts them, in the same pass.)
func (l RowLimits) Check(r *Row) error {
	if err := l.CheckCounts(r); err != nil {
		return err
	}
	for j, id := range r.InputIDs {
		if uint32(id) >= uint32(l.VocabSize) {
			return fmt.Errorf("input id %d (token %d) outside vocabulary of %d", id, j, l.VocabSize)
		}
		if t := r.TokenTypeIDs[j]; t < 0 || l.TypeVocab > 0 && int(t) >= l.TypeVocab {
			return fmt.Errorf("token %d: token type %d outside [0, %d)", j, t, l.TypeVocab)
		}
	}
	for j, p := range r.MaskedPositions {
		if p < 0 || int(p) >= len(r.InputIDs) {
			return fmt.Errorf("masked position %d outside row of %d tokens", p, len(r.InputIDs))
		}
		if id := r.MaskedIDs[j]; uint32(id) >= uint32(l.VocabSize) {
			return fmt.Errorf("masked id %d outside vocabulary of %d", id, l.VocabSize)
		}
	}
	return nil
}
