package shards

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestCorruptShardNoPanic flips bytes of a shard (deterministic offsets)
// and reads it: every flip must give rows or an error, never a panic.
func TestCorruptShardNoPanic(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 1500, true, 1)
	for _, format := range []string{"file", "stream"} {
		dir := t.TempDir()
		o := baseOptions(dir, true)
		o.Format = format
		o.ShardBytes = 1 << 30
		m := writeAll(t, o, rows)
		p := filepath.Join(dir, m.Shards[0].File)
		orig, _ := os.ReadFile(p)
		rng := rand.New(rand.NewPCG(1, 2))
		errs := 0
		for k := 0; k < 200; k++ {
			b := append([]byte(nil), orig...)
			b[rng.IntN(len(b))] ^= byte(1 + rng.IntN(255))
			os.WriteFile(p, b, 0o644)
			r, err := Open(p)
			if err != nil {
				errs++
				continue
			}
			var row Row
			for {
				err = r.Next(&row)
				if err != nil {
					break
				}
			}
			if !errors.Is(err, io.EOF) {
				errs++
			}
			r.Close()
		}
		t.Logf("%s: %d of 200 flips gave errors", format, errs)
	}
}
