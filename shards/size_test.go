package shards

import (
	"testing"
)

// TestBytesPerToken measures the on-disk size of static-masked shards at
// max_seq_len 128 on real text (Google's TFRecords: 7.2 bytes per token) and
// holds it to kiln's target of at most 2.0 bytes per token with zstd.
func TestBytesPerToken(t *testing.T) {
	if testing.Short() {
		t.Skip("short: skipping the size measurement")
	}
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 20000, true, 21)
	tests := []struct {
		compression string
		limit       float64
	}{
		{"zstd", 2.0},
		{"lz4", 0},
		{"none", 0},
	}
	for _, tc := range tests {
		o := baseOptions(t.TempDir(), true)
		o.Compression = tc.compression
		o.RowsPerBatch = DefaultRowsPerBatch
		o.ShardBytes = DefaultShardBytes
		m := writeAll(t, o, rows)
		bpt := float64(m.Bytes) / float64(m.Tokens)
		t.Logf("%s: %d rows, %d tokens, %d bytes: %.3f bytes/token", tc.compression, m.Rows, m.Tokens, m.Bytes, bpt)
		if tc.limit > 0 && bpt > tc.limit {
			t.Errorf("%s: %.3f bytes/token, target <= %.1f", tc.compression, bpt, tc.limit)
		}
	}
}
