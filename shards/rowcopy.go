package shards

// CopyFrom makes r a copy of src with slices of its own, reusing r's storage (a Reader reuses
// the slices of the row it fills, and a shuffle buffer its slots').
func (r *Row) CopyFrom(src *Row) {
	r.InputIDs = append(r.InputIDs[:0], src.InputIDs...)
	r.TokenTypeIDs = append(r.TokenTypeIDs[:0], src.TokenTypeIDs...)
	r.NextSentenceLabel = src.NextSentenceLabel
	r.MaskedPositions = append(r.MaskedPositions[:0], src.MaskedPositions...)
	r.MaskedIDs = append(r.MaskedIDs[:0], src.MaskedIDs...)
}
