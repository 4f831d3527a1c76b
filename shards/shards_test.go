package shards

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/pairing"
)

func baseOptions(dir string, static bool) Options {
	return Options{
		Dir: dir, VocabSize: 30522, MaxSeqLen: 128, Special: bertSpecial, Task: pairing.NSP,
		Static: static, MaxPredictions: 20, Layout: Layout{RowsPerBatch: 256, ShardBytes: 64 << 10},
		Metadata: map[string]string{MetaVersion: "test", MetaVocabSHA256: "abc"},
		Config:   json.RawMessage(`{"max_seq_len":128,"seed":1}`),
	}
}

func writeAll(t testing.TB, o Options, rows []Row) *Manifest {
	t.Helper()
	w, err := NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// readAll reads the rows of every shard listed in the manifest, in order.
func readAll(t testing.TB, dir string, m *Manifest) []Row {
	t.Helper()
	var out []Row
	for _, sh := range m.Shards {
		r, err := Open(filepath.Join(dir, sh.File))
		if err != nil {
			t.Fatal(err)
		}
		for {
			var row Row
			err := r.Next(&row)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, row)
		}
		r.Close()
	}
	return out
}

func sameRow(a, b *Row) bool {
	return reflect.DeepEqual(a.InputIDs, b.InputIDs) && reflect.DeepEqual(a.TokenTypeIDs, b.TokenTypeIDs) &&
		a.NextSentenceLabel == b.NextSentenceLabel &&
		len(a.MaskedPositions) == len(b.MaskedPositions) && len(a.MaskedIDs) == len(b.MaskedIDs) &&
		(len(a.MaskedPositions) == 0 || reflect.DeepEqual(a.MaskedPositions, b.MaskedPositions) && reflect.DeepEqual(a.MaskedIDs, b.MaskedIDs))
}

func TestRoundTrip(t *testing.T) {
	fx := loadFixture(t)
	static := fx.rows(t, "sotu", 128, 3000, true, 1)
	dynamic := fx.rows(t, "sotu", 128, 3000, false, 1)
	tests := []struct {
		name, format, compression string
		static, wide              bool
	}{
		{"file-zstd-static", "file", "zstd", true, false},
		{"stream-zstd-static", "stream", "zstd", true, false},
		{"file-lz4-dynamic", "file", "lz4", false, false},
		{"stream-none-dynamic", "stream", "none", false, false},
		{"file-zstd-wide", "file", "zstd", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			o := baseOptions(dir, tc.static)
			o.Format, o.Compression = IPCFormat(tc.format), Compression(tc.compression)
			if tc.wide {
				o.VocabSize = 70000
			}
			rows := dynamic
			if tc.static {
				rows = static
			}
			m := writeAll(t, o, rows)
			if len(m.Shards) < 2 {
				t.Fatalf("%d shards: rotation not exercised", len(m.Shards))
			}
			if m.Rows != int64(len(rows)) {
				t.Fatalf("manifest rows %d, wrote %d", m.Rows, len(rows))
			}
			got := readAll(t, dir, m)
			if len(got) != len(rows) {
				t.Fatalf("read %d rows, wrote %d", len(got), len(rows))
			}
			for i := range rows {
				if !sameRow(&got[i], &rows[i]) {
					t.Fatalf("row %d differs:\n got %+v\nwant %+v", i, got[i], rows[i])
				}
			}
			rep, err := Verify(dir)
			if err != nil || !rep.OK() {
				t.Fatalf("verify: %v %v", err, rep.Failures)
			}
			if rep.Rows != int64(len(rows)) {
				t.Fatalf("verify read %d rows", rep.Rows)
			}
			r, err := Open(filepath.Join(dir, m.Shards[0].File))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if v, _ := r.Metadata(MetaConfig); v != `{"max_seq_len":128,"seed":1}` {
				t.Errorf("config metadata %q", v)
			}
			if v, _ := r.Metadata(MetaVocabSHA256); v != "abc" {
				t.Errorf("vocab sha metadata %q", v)
			}
			if n, err := r.NumRows(); err != nil || n != m.Shards[0].Rows {
				t.Errorf("NumRows %d %v, manifest %d", n, err, m.Shards[0].Rows)
			}
			if _, err := os.Stat(filepath.Join(dir, ProgressName)); !os.IsNotExist(err) {
				t.Errorf("progress file left after Close: %v", err)
			}
		})
	}
}

func TestRandomAccess(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "moby-dick", 128, 1000, true, 2)
	dir := t.TempDir()
	o := baseOptions(dir, true)
	o.ShardBytes = 1 << 30
	o.RowsPerBatch = 300
	m := writeAll(t, o, rows)
	r, err := Open(filepath.Join(dir, m.Shards[0].File))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.NumBatches() != 4 {
		t.Fatalf("%d batches, want 4", r.NumBatches())
	}
	if _, err := r.Batch(r.NumBatches()); err == nil {
		t.Fatal("Batch(NumBatches()) gave no error")
	}
	var row Row
	for _, i := range []int64{999, 0, 300, 299, 650} {
		if err := r.ReadRow(i, &row); err != nil {
			t.Fatal(err)
		}
		if !sameRow(&row, &rows[i]) {
			t.Fatalf("ReadRow(%d) differs", i)
		}
	}
	if err := r.ReadRow(1000, &row); err == nil {
		t.Fatal("ReadRow past the end gave no error")
	}
}

func TestDeterministicAndResume(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 4000, true, 3)
	for _, format := range []string{"file", "stream"} {
		t.Run(format, func(t *testing.T) {
			ref := t.TempDir()
			o := baseOptions(ref, true)
			o.Format = IPCFormat(format)
			want := writeAll(t, o, rows)

			// Interrupted run: stop mid-shard without Close, as kill -9 would
			// leave it (a temporary shard and the progress file).
			dir := t.TempDir()
			o.Dir = dir
			w, err := NewWriter(o)
			if err != nil {
				t.Fatal(err)
			}
			for i := range rows[:2500] {
				if err := w.Write(&rows[i]); err != nil {
					t.Fatal(err)
				}
			}
			tmps, _ := filepath.Glob(filepath.Join(dir, ".shard-*.tmp"))
			if len(tmps) != 1 {
				t.Fatalf("temporary shards %v, want one", tmps)
			}
			if _, err := NewWriter(o); err == nil {
				t.Fatal("NewWriter without Resume accepted a directory holding a run")
			}
			prog, err := readManifestFile(filepath.Join(dir, ProgressName))
			if err != nil || len(prog.Shards) < 2 || len(prog.Shards) >= len(want.Shards) {
				t.Fatalf("progress after the interruption: %v, %d of %d shards", err, len(prog.Shards), len(want.Shards))
			}
			o.Resume = true
			m := writeAll(t, o, rows)
			if !reflect.DeepEqual(m, want) {
				t.Fatalf("resumed manifest differs:\n got %+v\nwant %+v", m.Shards, want.Shards)
			}
			for _, sh := range m.Shards {
				a, _ := os.ReadFile(filepath.Join(ref, sh.File))
				b, _ := os.ReadFile(filepath.Join(dir, sh.File))
				if string(a) != string(b) {
					t.Fatalf("%s differs from the uninterrupted run", sh.File)
				}
			}
			if tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(tmps) > 0 {
				t.Fatalf("stale temporary files: %v", tmps)
			}
			a, _ := os.ReadFile(filepath.Join(ref, ManifestName))
			b, _ := os.ReadFile(filepath.Join(dir, ManifestName))
			if string(a) != string(b) {
				t.Fatal("manifest.json differs from the uninterrupted run")
			}
		})
	}
}

func TestResumeRejectsDifferentRows(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 2000, true, 4)
	other := fx.rows(t, "sotu", 128, 2000, true, 5)
	dir := t.TempDir()
	o := baseOptions(dir, true)
	w, err := NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	} // abandoned, not closed
	o.Resume = true
	w, err = NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	var werr error
	for i := range other {
		if werr = w.Write(&other[i]); werr != nil {
			break
		}
	}
	if werr == nil || !strings.Contains(werr.Error(), "differ") {
		t.Fatalf("resume with other rows: %v", werr)
	}
	o.Config = json.RawMessage(`{"seed":2}`)
	if _, err := NewWriter(o); err == nil || !strings.Contains(err.Error(), "different settings") || !strings.Contains(err.Error(), "config.seed ") {
		t.Fatalf("resume with another config: %v (want the seed named)", err)
	}
}

// TestResumeRejectsOneChange checks that the rows hash of a completed shard
// catches a single changed value that leaves every length and the token count
// as they were, in each column.
func TestResumeRejectsOneChange(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 2000, true, 4)
	dir := t.TempDir()
	o := baseOptions(dir, true)
	w, err := NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	} // abandoned, not closed: the first shards are complete
	const k = 10 // a row of the first shard, with masked positions
	if len(rows[k].MaskedPositions) < 2 {
		t.Fatalf("row %d has %d masked positions", k, len(rows[k].MaskedPositions))
	}
	tests := []struct {
		name   string
		change func(r *Row)
	}{
		{"input id", func(r *Row) { r.InputIDs[3] ^= 1 }},
		{"token type", func(r *Row) { r.TokenTypeIDs[1] ^= 1 }},
		{"label", func(r *Row) { r.NextSentenceLabel ^= 1 }},
		{"masked position", func(r *Row) { r.MaskedPositions[0]++ }},
		{"masked id", func(r *Row) { r.MaskedIDs[1] ^= 1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Row{
				InputIDs:          append([]int32(nil), rows[k].InputIDs...),
				TokenTypeIDs:      append([]int8(nil), rows[k].TokenTypeIDs...),
				NextSentenceLabel: rows[k].NextSentenceLabel,
				MaskedPositions:   append([]int32(nil), rows[k].MaskedPositions...),
				MaskedIDs:         append([]int32(nil), rows[k].MaskedIDs...),
			}
			tc.change(&r)
			o := o
			o.Resume = true
			w, err := NewWriter(o)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			var werr error
			for i := range rows {
				row := &rows[i]
				if i == k {
					row = &r
				}
				if werr = w.Write(row); werr != nil {
					break
				}
			}
			if werr == nil || !strings.Contains(werr.Error(), "differ") {
				t.Fatalf("resume with one %s changed: %v", tc.name, werr)
			}
		})
	}
}

func TestResumeRewritesCorruptShard(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 3000, true, 6)
	ref, dir := t.TempDir(), t.TempDir()
	o := baseOptions(ref, true)
	want := writeAll(t, o, rows)
	o.Dir = dir
	w, _ := NewWriter(o)
	for i := range rows[:2000] {
		w.Write(&rows[i])
	}
	flipByte(t, filepath.Join(dir, "shard-00001.arrow"), 200)
	o.Resume = true
	m := writeAll(t, o, rows)
	if !reflect.DeepEqual(m.Shards, want.Shards) {
		t.Fatal("resume over a corrupt shard did not reproduce the uninterrupted run")
	}
}

func TestBinning(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 3000, true, 7)
	dir := t.TempDir()
	o := baseOptions(dir, true)
	o.Bins = []int{32, 64, 128}
	m := writeAll(t, o, rows)
	seen := map[int]int64{}
	for _, sh := range m.Shards {
		if !strings.HasPrefix(sh.File, binDir(sh.Bin)+"/shard-") {
			t.Fatalf("shard %s not in its bin directory", sh.File)
		}
		for _, r := range readAll(t, dir, &Manifest{Shards: []ShardInfo{sh}}) {
			lo := map[int]int{32: 0, 64: 32, 128: 64}[sh.Bin]
			if n := len(r.InputIDs); n <= lo || n > sh.Bin {
				t.Fatalf("%s holds a row of length %d", sh.File, n)
			}
		}
		seen[sh.Bin] += sh.Rows
	}
	if seen[32]+seen[64]+seen[128] != int64(len(rows)) || seen[32] == 0 || seen[128] == 0 {
		t.Fatalf("rows per bin %v", seen)
	}
	if rep, err := Verify(dir); err != nil || !rep.OK() {
		t.Fatalf("verify: %v %v", err, rep.Failures)
	}
}

func TestWriterRejectsBadRows(t *testing.T) {
	tests := []struct {
		name string
		row  Row
		want string
	}{
		{"too long", Row{InputIDs: make([]int32, 129), TokenTypeIDs: make([]int8, 129)}, "exceeds max_seq_len"},
		{"types", Row{InputIDs: []int32{101, 5, 102}, TokenTypeIDs: []int8{0}}, "token_type_ids"},
		{"vocab", Row{InputIDs: []int32{101, 40000, 102}, TokenTypeIDs: make([]int8, 3)}, "outside vocabulary"},
		{"masked lengths", Row{InputIDs: []int32{101, 5, 102}, TokenTypeIDs: make([]int8, 3), MaskedPositions: []int32{1}}, "masked ids"},
		{"empty", Row{}, "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := NewWriter(baseOptions(t.TempDir(), true))
			if err != nil {
				t.Fatal(err)
			}
			defer w.Abort()
			if err := w.Write(&tc.row); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0x5a
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
