package shards

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCorruptShardNoPanic flips one byte of a shard at a time (200
// deterministic offsets, each format) and checks what each corrupt copy does:
// Verify names the shard and its checksum every time (train, loss and
// --eval-data check that checksum before they read a row); Open and Next
// never panic, an error from them names the shard, and they never give more
// rows than were written. Reading a corrupt shard without the checksum may
// succeed: the record batch bodies carry no checksum of their own, so a flip
// inside one can give other rows, even rows with ids outside the vocabulary;
// the test counts those.
func TestCorruptShardNoPanic(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 1500, true, 1)
	for _, format := range []string{"file", "stream"} {
		t.Run(format, func(t *testing.T) {
			dir := t.TempDir()
			o := baseOptions(dir, true)
			o.Format = IPCFormat(format)
			o.ShardBytes = 1 << 30
			m := writeAll(t, o, rows)
			if len(m.Shards) != 1 {
				t.Fatalf("%d shards, want one", len(m.Shards))
			}
			p := filepath.Join(dir, m.Shards[0].File)
			orig, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			r, err := Open(p)
			if err != nil {
				t.Fatal(err)
			}
			info := r.Info() // the settings the rows were written with
			r.Close()
			rng := rand.New(rand.NewPCG(1, 2))
			var openErrs, readErrs, same, changed, invalid int
			for k := 0; k < 200; k++ {
				b := append([]byte(nil), orig...)
				off := rng.IntN(len(b))
				b[off] ^= byte(1 + rng.IntN(255))
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
				rep, err := Verify(dir)
				if err != nil {
					t.Fatalf("flip at %d: verify: %v", off, err)
				}
				if len(rep.Failures) == 0 || rep.Failures[0].File != m.Shards[0].File || !strings.Contains(rep.Failures[0].String(), "sha256") {
					t.Errorf("flip at %d: verify failures %v, want the shard's sha256 named", off, rep.Failures)
				}
				got, err := readCorrupt(p)
				switch {
				case err != nil && got < 0:
					openErrs++
				case err != nil:
					readErrs++
				}
				if err != nil {
					if !strings.Contains(err.Error(), p) {
						t.Errorf("flip at %d: error %q does not name the shard", off, err)
					}
					continue
				}
				bad, differ, broken := checkRead(p, rows, info)
				if bad != "" {
					t.Errorf("flip at %d: %s", off, bad)
				}
				if broken {
					invalid++
				}
				if differ {
					changed++
				} else {
					same++
				}
			}
			t.Logf("%s, %d bytes: of 200 flips, %d failed Open, %d failed Next, %d read the rows written, %d read other rows (%d with a row that CheckRow refuses)",
				format, len(orig), openErrs, readErrs, same, changed, invalid)
			if openErrs+readErrs == 0 {
				t.Errorf("no flip of 200 gave an error: the reader checks nothing")
			}
		})
	}
}

// readCorrupt reads every row of the shard at p: it returns the rows read
// (-1 when Open failed) and the first error other than io.EOF.
func readCorrupt(p string) (int, error) {
	r, err := Open(p)
	if err != nil {
		return -1, err
	}
	defer r.Close()
	n := 0
	var row Row
	for {
		if err := r.Next(&row); errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return n, err
		}
		n++
	}
}

// checkRead reads the shard at p again, which read without error, and compares
// it with the rows written: it returns a description of what is wrong (an
// error on the second read, more rows than written), whether the rows read
// differ from the rows written, and whether one of them breaks an invariant of
// in, the settings of the uncorrupted shard (CheckRow).
func checkRead(p string, rows []Row, in Info) (bad string, differ, broken bool) {
	r, err := Open(p)
	if err != nil {
		return "second open: " + err.Error(), true, false
	}
	defer r.Close()
	var row Row
	var problems []string
	for i := 0; ; i++ {
		err := r.Next(&row)
		if errors.Is(err, io.EOF) {
			return "", differ || i != len(rows), broken
		}
		if err != nil {
			return "second read: " + err.Error(), true, broken
		}
		if i >= len(rows) {
			return "more rows read than written", true, broken
		}
		if problems = CheckRow(&row, in, problems[:0]); len(problems) > 0 {
			broken = true
		}
		if !sameRow(&row, &rows[i]) {
			differ = true
		}
	}
}
