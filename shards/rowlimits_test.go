package shards

import (
	"strings"
	"testing"
)

func TestRowLimits(t *testing.T) {
	lim := RowLimits{MaxLen: 8, LenName: "max_position_embeddings", VocabSize: 100, TypeVocab: 2}
	good := func() Row {
		return Row{InputIDs: []int32{1, 7, 2, 9, 2}, TokenTypeIDs: []int8{0, 0, 0, 1, 1}, NextSentenceLabel: 1,
			MaskedPositions: []int32{1, 3}, MaskedIDs: []int32{50, 60}}
	}
	tests := []struct {
		name   string
		edit   func(*Row)
		want   string // "" for a row that passes
		counts bool   // CheckCounts alone finds it
	}{
		{"good", func(*Row) {}, "", true},
		{"empty", func(r *Row) { *r = Row{} }, "empty input_ids", true},
		{"long", func(r *Row) { r.InputIDs = make([]int32, 9); r.TokenTypeIDs = make([]int8, 9) }, "length 9 exceeds max_position_embeddings 8", true},
		{"types", func(r *Row) { r.TokenTypeIDs = r.TokenTypeIDs[:4] }, "4 token_type_ids for 5 input_ids", true},
		{"masked ids", func(r *Row) { r.MaskedIDs = r.MaskedIDs[:1] }, "2 masked positions but 1 masked ids", true},
		{"label", func(r *Row) { r.NextSentenceLabel = 2 }, "next sentence label 2", true},
		{"id", func(r *Row) { r.InputIDs[2] = 100 }, "input id 100 (token 2) outside vocabulary of 100", false},
		{"negative id", func(r *Row) { r.InputIDs[0] = -1 }, "outside vocabulary", false},
		{"type", func(r *Row) { r.TokenTypeIDs[4] = 2 }, "token type 2 outside [0, 2)", false},
		{"position", func(r *Row) { r.MaskedPositions[1] = 5 }, "masked position 5 outside row of 5 tokens", false},
		{"masked id", func(r *Row) { r.MaskedIDs[0] = 100 }, "masked id 100 outside vocabulary", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.edit(&r)
			err := lim.Check(&r)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Check: %v, want %q", err, tc.want)
			}
			if cerr := lim.CheckCounts(&r); (cerr != nil) != tc.counts {
				t.Errorf("CheckCounts: %v; want an error: %v", cerr, tc.counts)
			}
		})
	}
	dyn := RowLimits{MaxLen: 8, LenName: "max_seq_len", VocabSize: 100, NoMasks: true}
	r := good()
	if err := dyn.CheckCounts(&r); err == nil || !strings.Contains(err.Error(), "dynamic-masking") {
		t.Errorf("masks in a dynamic-masking row: %v", err)
	}
}
