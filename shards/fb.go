package shards

import (
	"errors"
	"fmt"

	"github.com/kiln-bert/kiln/internal/arrowfb"
)

// This file checks a shard's schema flatbuffer (read with internal/arrowfb) before the Arrow
// library decodes it.

// Limits on a shard's schema flatbuffer, far above kiln's own (3 or 5 columns of depth 2,
// a few metadata keys), checked before Arrow, which allocates by the declared vector lengths.
const (
	maxSchemaFields   = 16
	maxSchemaMetadata = 1024
	maxFieldMetadata  = 64
)

// checkSchemaFB checks the Arrow Schema table s: at most maxSchemaFields columns, each of
// nesting depth at most 2 (a list and its item), none dictionary-encoded, and bounded
// metadata; every vector inside the bytes.
func checkSchemaFB(s arrowfb.Table) error {
	n, err := s.Tables(1)
	if err != nil {
		return fmt.Errorf("schema fields: %w", err)
	}
	if len(n) > maxSchemaFields {
		return fmt.Errorf("schema declares %d columns (kiln shards have at most 5)", len(n))
	}
	md, err := s.Tables(2)
	if err != nil {
		return fmt.Errorf("schema metadata: %w", err)
	}
	if len(md) > maxSchemaMetadata {
		return fmt.Errorf("schema declares %d metadata keys (at most %d)", len(md), maxSchemaMetadata)
	}
	if err := arrowfb.CheckKeyValues(s.Bytes(), md); err != nil {
		return fmt.Errorf("schema metadata: %w", err)
	}
	for i, p := range n {
		f, err := arrowfb.At(s.Bytes(), p)
		if err != nil {
			return fmt.Errorf("schema column %d: %w", i, err)
		}
		if err := checkFieldFB(f, 2); err != nil {
			return fmt.Errorf("schema column %d: %w", i, err)
		}
	}
	return nil
}

// checkFieldFB checks a Field table and its children, down to depth more levels.
func checkFieldFB(f arrowfb.Table, depth int) error {
	if f.Field(4) != 0 {
		return errors.New("dictionary-encoded column (kiln shards have none)")
	}
	md, err := f.Tables(6)
	if err != nil {
		return err
	}
	if len(md) > maxFieldMetadata {
		return fmt.Errorf("%d metadata keys (at most %d)", len(md), maxFieldMetadata)
	}
	if err := arrowfb.CheckKeyValues(f.Bytes(), md); err != nil {
		return err
	}
	kids, err := f.Tables(5)
	if err != nil {
		return err
	}
	if len(kids) > 1 || len(kids) > 0 && depth <= 1 {
		return fmt.Errorf("%d child columns at depth %d (kiln's columns are lists of integers or integers)", len(kids), 3-depth)
	}
	for _, p := range kids {
		c, err := arrowfb.At(f.Bytes(), p)
		if err != nil {
			return err
		}
		if err := checkFieldFB(c, depth-1); err != nil {
			return err
		}
	}
	return nil
}
