package shards

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/pairing"
)

// writeFixture writes real-text static-masked rows in a few shards.
func writeFixture(t *testing.T, format string) (string, *Manifest, []Row) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 2000, true, 11)
	dir := t.TempDir()
	o := baseOptions(dir, true)
	o.Format = IPCFormat(format)
	return dir, writeAll(t, o, rows), rows
}

func TestVerifyDetectsCorruption(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		corrupt func(t *testing.T, dir string, m *Manifest)
		want    string // in some failure
		file    string // failure's file
	}{
		{"flipped byte", "file", func(t *testing.T, dir string, m *Manifest) {
			flipByte(t, filepath.Join(dir, m.Shards[1].File), m.Shards[1].Bytes/2)
		}, "sha256", "shard-00001.arrow"},
		{"flipped byte stream", "stream", func(t *testing.T, dir string, m *Manifest) {
			flipByte(t, filepath.Join(dir, m.Shards[0].File), m.Shards[0].Bytes-100)
		}, "sha256", "shard-00000.arrow"},
		{"truncated", "file", func(t *testing.T, dir string, m *Manifest) {
			os.Truncate(filepath.Join(dir, m.Shards[2].File), m.Shards[2].Bytes/3)
		}, "truncated", "shard-00002.arrow"},
		{"truncated stream", "stream", func(t *testing.T, dir string, m *Manifest) {
			os.Truncate(filepath.Join(dir, m.Shards[2].File), m.Shards[2].Bytes/3)
		}, "reading", "shard-00002.arrow"},
		{"missing", "file", func(t *testing.T, dir string, m *Manifest) {
			os.Remove(filepath.Join(dir, m.Shards[0].File))
		}, "no such file", "shard-00000.arrow"},
		{"unlisted", "file", func(t *testing.T, dir string, m *Manifest) {
			os.WriteFile(filepath.Join(dir, "shard-00099.arrow"), []byte("x"), 0o644)
		}, "not listed", "shard-00099.arrow"},
		{"rows count", "file", func(t *testing.T, dir string, m *Manifest) {
			m.Shards[0].Rows++
			m.Rows++
			if err := atomicfile.WriteJSON(filepath.Join(dir, ManifestName), m); err != nil {
				t.Fatal(err)
			}
		}, "manifest says", "shard-00000.arrow"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir, m, _ := writeFixture(t, tc.format)
			if rep, err := Verify(dir); err != nil || !rep.OK() {
				t.Fatalf("clean run fails verify: %v %v", err, rep.Failures)
			}
			tc.corrupt(t, dir, m)
			rep, err := Verify(dir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("verify passed a corrupt directory")
			}
			for _, f := range rep.Failures {
				if f.File == tc.file && strings.Contains(f.String(), tc.want) {
					return
				}
			}
			t.Fatalf("no failure on %s mentioning %q: %v", tc.file, tc.want, rep.Failures)
		})
	}
}

// TestVerifyDetectsBadRow writes a shard holding one row that breaks an
// invariant and checks that Verify names its shard and row.
func TestVerifyDetectsBadRow(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 600, true, 12)
	rows[437].InputIDs[0] = 2023 // "this" instead of [CLS]
	dir := t.TempDir()
	o := baseOptions(dir, true)
	o.ShardBytes = 1 << 30
	writeAll(t, o, rows)
	rep, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures) != 1 || rep.Failures[0].Row != 437 || rep.Failures[0].File != "shard-00000.arrow" ||
		!strings.Contains(rep.Failures[0].Msg, "[CLS]") {
		t.Fatalf("failures %v, want one on row 437", rep.Failures)
	}
}

func TestCheckRow(t *testing.T) {
	nsp := Info{VocabSize: 30522, MaxSeqLen: 16, Special: bertSpecial, Task: pairing.NSP, Static: true, MaxPredictions: 3, RowsPerBatch: 1}
	none := nsp
	none.Task = pairing.None
	dyn := nsp
	dyn.Static = false
	// [CLS] the [MASK] sat [SEP] on mats [SEP]; "cat" (4937) masked at 2.
	good := func() Row {
		return Row{
			InputIDs:          []int32{101, 1996, 103, 2938, 102, 2006, 13523, 102},
			TokenTypeIDs:      []int8{0, 0, 0, 0, 0, 1, 1, 1},
			NextSentenceLabel: 1,
			MaskedPositions:   []int32{2, 6},
			MaskedIDs:         []int32{4937, 13523},
		}
	}
	tests := []struct {
		name   string
		info   Info
		mutate func(r *Row)
		want   string // "" for a valid row
	}{
		{"valid", nsp, func(r *Row) {}, ""},
		{"valid random replacement", nsp, func(r *Row) { r.InputIDs[6] = 7592 }, ""},
		{"first not CLS", nsp, func(r *Row) { r.InputIDs[0] = 1996 }, "not [CLS]"},
		{"last not SEP", nsp, func(r *Row) { r.InputIDs[7] = 1012 }, "not [SEP]"},
		{"three SEP", nsp, func(r *Row) { r.InputIDs[3] = 102 }, "3 [SEP]"},
		{"empty B", nsp, func(r *Row) {
			r.InputIDs = []int32{101, 1996, 2938, 102, 102}
			r.TokenTypeIDs = []int8{0, 0, 0, 0, 1}
			r.MaskedPositions, r.MaskedIDs = nil, nil
		}, "segment B is empty"},
		{"types", nsp, func(r *Row) { r.TokenTypeIDs[4] = 1 }, "token type"},
		{"types B", nsp, func(r *Row) { r.TokenTypeIDs[6] = 0 }, "token type"},
		{"label", nsp, func(r *Row) { r.NextSentenceLabel = 2 }, "label 2"},
		{"label none", none, func(r *Row) {
			r.InputIDs = []int32{101, 1996, 103, 2938, 102}
			r.TokenTypeIDs = make([]int8, 5)
			r.MaskedPositions, r.MaskedIDs = []int32{2}, []int32{4937}
		}, "want -1"},
		{"none ok", none, func(r *Row) {
			r.InputIDs = []int32{101, 1996, 103, 2938, 102}
			r.TokenTypeIDs = make([]int8, 5)
			r.MaskedPositions, r.MaskedIDs = []int32{2}, []int32{4937}
			r.NextSentenceLabel = -1
		}, ""},
		{"too long", nsp, func(r *Row) {
			r.InputIDs = append([]int32{101}, append(make([]int32, 20), 102)...)
		}, "exceeds max_seq_len"},
		{"position at SEP", nsp, func(r *Row) { r.MaskedPositions[1] = 7 }, "outside"},
		{"position at CLS", nsp, func(r *Row) { r.MaskedPositions[0] = 0 }, "outside"},
		{"position at middle SEP", nsp, func(r *Row) { r.MaskedPositions[1] = 4 }, "special token"},
		{"not increasing", nsp, func(r *Row) { r.MaskedPositions = []int32{6, 2}; r.MaskedIDs = []int32{13523, 4937} }, "increasing"},
		{"lengths", nsp, func(r *Row) { r.MaskedIDs = r.MaskedIDs[:1] }, "masked ids"},
		{"special label", nsp, func(r *Row) { r.MaskedIDs[0] = 102 }, "special"},
		{"stray MASK", nsp, func(r *Row) { r.InputIDs[3] = 103 }, "not masked"},
		{"too many", nsp, func(r *Row) {
			r.MaskedPositions = []int32{1, 2, 3, 6}
			r.MaskedIDs = []int32{1996, 4937, 2938, 13523}
		}, "max_predictions"},
		{"PAD", nsp, func(r *Row) { r.InputIDs[5] = 0 }, "[PAD]"},
		{"dynamic with MASK", dyn, func(r *Row) { r.MaskedPositions, r.MaskedIDs = nil, nil }, "not masked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.mutate(&r)
			got := CheckRow(&r, tc.info, nil)
			if tc.want == "" {
				if len(got) > 0 {
					t.Fatalf("valid row rejected: %v", got)
				}
				return
			}
			if !strings.Contains(strings.Join(got, "; "), tc.want) {
				t.Fatalf("got %v, want a message with %q", got, tc.want)
			}
		})
	}
}

func TestStats(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 3000, true, 13)
	dir := t.TempDir()
	m := writeAll(t, baseOptions(dir, true), rows)
	// Expected figures counted here from the rows as generated.
	var tokens, cand, masked, asMask, kept, notNext int64
	for _, r := range rows {
		tokens += int64(len(r.InputIDs))
		cand += int64(len(r.InputIDs) - 3)
		for k, p := range r.MaskedPositions {
			masked++
			if r.InputIDs[p] == bertSpecial.MASK {
				asMask++
			} else if r.InputIDs[p] == r.MaskedIDs[k] {
				kept++
			}
		}
		notNext += int64(r.NextSentenceLabel)
	}
	s, err := Stats(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != int64(len(rows)) || s.Tokens != tokens || s.Candidates != cand || s.Masked != masked ||
		s.MaskedAsMask != asMask || s.MaskedKept != kept || s.NotNext != notNext || s.Shards != len(m.Shards) || s.Bytes != m.Bytes {
		t.Fatalf("stats %+v", s)
	}
	var hist int64
	for _, c := range s.Lengths {
		hist += c
	}
	if hist != s.Rows || s.Lengths[128] == 0 {
		t.Fatalf("length histogram sums to %d, %d rows at 128", hist, s.Lengths[128])
	}
	// On real text the fixture's 15% / 80-10-10 masking shows through.
	mk, kp, rd := s.Split()
	if r := s.MaskingRate(); r < 0.14 || r > 0.16 || mk < 0.78 || mk > 0.82 || kp < 0.08 || kp > 0.12 || rd < 0.08 || rd > 0.12 {
		t.Fatalf("masking rate %.4f split %.3f/%.3f/%.3f", r, mk, kp, rd)
	}
	var b strings.Builder
	if err := s.WriteText(&b, 16); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rows 3000", "NotNext", "[MASK] ", "112-127"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
	// One shard on its own gives that shard's figures.
	one, err := Stats(filepath.Join(dir, m.Shards[0].File))
	if err != nil || one.Rows != m.Shards[0].Rows {
		t.Fatalf("single shard stats: %v %+v", err, one)
	}
}

func TestFormatRow(t *testing.T) {
	fx := loadFixture(t)
	dir := t.TempDir()
	writeAll(t, baseOptions(dir, true), []Row{{
		// [CLS] the cat sat [SEP] on the mats [SEP]: "cat" -> [MASK], "sat" kept, "mats" -> "dog"
		InputIDs:          []int32{101, 1996, 103, 2938, 102, 2006, 1996, 3899, 102},
		TokenTypeIDs:      []int8{0, 0, 0, 0, 0, 1, 1, 1, 1},
		NextSentenceLabel: 1,
		MaskedPositions:   []int32{2, 3, 7},
		MaskedIDs:         []int32{4937, 2938, fx.ids["mat"]},
	}})
	rows, info, err := Sample(dir, 5)
	if err != nil || len(rows) != 1 {
		t.Fatalf("sample: %v %d", err, len(rows))
	}
	got := FormatRow(&rows[0], info, VocabLookup(fx.vocab))
	want := "NotNext (9 tokens, 3 masked) [CLS] the [MASK:cat] <sat> [SEP] | on the {dog→mat} [SEP]"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	b, _ := json.Marshal(info)
	if !strings.Contains(string(b), `"cls":101`) {
		t.Fatalf("info %s", b)
	}
}
