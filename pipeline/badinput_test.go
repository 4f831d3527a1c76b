package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/trainer"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// TestPrepBadInputs runs Prep over inputs that are broken in the ways the issue lists: each
// is reported with the file named, or skipped and counted, never silently dropped.
func TestPrepBadInputs(t *testing.T) {
	sotu, err := os.ReadFile(sotuFiles(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	compress := func(ext string, data []byte) []byte {
		var b bytes.Buffer
		if ext == ".gz" {
			w := gzip.NewWriter(&b)
			w.Write(data)
			w.Close()
		} else {
			w, _ := zstd.NewWriter(&b)
			w.Write(data)
			w.Close()
		}
		return b.Bytes()
	}
	for _, ext := range []string{".gz", ".zst"} {
		t.Run("truncated"+ext, func(t *testing.T) {
			in := t.TempDir()
			good := filepath.Join(in, "a.txt"+ext)
			bad := filepath.Join(in, "b.txt"+ext)
			z := compress(ext, sotu)
			writeFile(t, good, z)
			writeFile(t, bad, z[:len(z)/2])
			dir := filepath.Join(t.TempDir(), "out")
			_, _, err := tryPrep(context.Background(), testConfig(t, "text", in), ShardOptions{Dir: dir})
			if err == nil || !strings.Contains(err.Error(), bad) {
				t.Fatalf("prep over a truncated %s: error %v, want one naming %s", ext, err, bad)
			}
			t.Logf("error: %v", err)
			if _, err := os.Stat(filepath.Join(dir, shards.ManifestName)); err == nil {
				t.Error("a manifest was written for a failed run")
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		in := t.TempDir()
		writeFile(t, filepath.Join(in, "a.txt"), sotu)
		missing := filepath.Join(in, "no-such-file.txt")
		cfg := testConfig(t, "text", filepath.Join(in, "a.txt"), missing)
		_, err := NewExamples(cfg)
		if err == nil || !strings.Contains(err.Error(), missing) {
			t.Fatalf("NewExamples with a missing input: %v, want an error naming %s", err, missing)
		}
	})

	t.Run("nul-document", func(t *testing.T) {
		in := filepath.Join(t.TempDir(), "docs.txt")
		writeFile(t, in, []byte("The first document has a sentence.\nAnd another one.\n\n"+
			"This one is \x00binary\x00 junk.\nStill the second document.\n\n"+
			"The third document is fine.\nIt has two sentences.\n"))
		dir := t.TempDir()
		sum, _ := runPrep(t, testConfig(t, "lines", in), ShardOptions{Dir: dir})
		src := sum.Examples.Source
		if src.Documents != 2 || src.SkippedBinary != 1 {
			t.Errorf("%d documents, %d skipped as binary: want 2 and 1", src.Documents, src.SkippedBinary)
		}
		if len(src.Problems) != 1 || !strings.Contains(src.Problems[0], in+":4") {
			t.Errorf("problems %q: want one naming %s:4", src.Problems, in)
		}
		m, err := shards.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Inputs) != 1 || m.Inputs[0].Documents != 2 || m.Inputs[0].Skipped != 1 {
			t.Errorf("manifest inputs %+v: want 2 documents, 1 skipped", m.Inputs)
		}
		verifyDir(t, dir)
	})

	t.Run("long-line", func(t *testing.T) {
		// A 32 MiB line (compressed to almost nothing) between two documents, with a 1 MiB
		// limit: skipped and counted, and never held in memory.
		in := filepath.Join(t.TempDir(), "long.txt.gz")
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		w.Write([]byte("A short first document.\nWith two lines.\n\n"))
		chunk := bytes.Repeat([]byte("a"), 64<<10)
		for range 512 {
			w.Write(chunk)
		}
		w.Write([]byte("\n\nThe last document.\nIt is short too.\n"))
		w.Close()
		writeFile(t, in, b.Bytes())

		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		docs, stats, err := readAll(t, []Input{{Path: in}}, SourceOptions{Format: Lines, MaxLineBytes: 1 << 20})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		if len(docs) != 2 || stats.SkippedLongLine != 1 {
			t.Errorf("%d documents, %d long lines skipped: want 2 and 1", len(docs), stats.SkippedLongLine)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("reading a 32 MiB line with a 1 MiB limit allocated %d MiB", alloc>>20)
		}

		dir := t.TempDir()
		cfg := testConfig(t, "lines", in)
		cfg.MaxLineBytes = 1 << 20
		sum, _ := runPrep(t, cfg, ShardOptions{Dir: dir})
		if s := sum.Examples.Source; s.SkippedLongLine != 1 || s.Documents != 2 || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], in+":4") {
			t.Errorf("prep: %d long lines, %d documents, problems %q: want 1, 2 and one naming %s:4", s.SkippedLongLine, s.Documents, s.Problems, in)
		}
		verifyDir(t, dir)
	})

	t.Run("invalid-utf8", func(t *testing.T) {
		in := filepath.Join(t.TempDir(), "latin1.txt")
		// Four bytes of Latin-1 in otherwise English text: not binary, four replacements.
		text := "The caf\xe9 on the corner was closed. We walked to the na\xefve painter's house.\n\n" +
			"He said \xabgood evening\xbb and smiled. " + string(sotu[:2000]) + "\n"
		writeFile(t, in, []byte(text))
		dir := t.TempDir()
		sum, _ := runPrep(t, testConfig(t, "text", in), ShardOptions{Dir: dir})
		if sum.Examples.InvalidUTF8 != 4 || sum.Examples.Source.SkippedBinary != 0 || sum.Examples.Rows == 0 {
			t.Errorf("%d invalid UTF-8 sequences counted, %d binary documents, %d rows: want 4, 0 and some rows",
				sum.Examples.InvalidUTF8, sum.Examples.Source.SkippedBinary, sum.Examples.Rows)
		}
		verifyDir(t, dir)
	})
}

// TestNoSequences: a corpus that makes no sequence at all (empty, blank, every line bad) is an
// error that says why, from prep (no manifest is written) and from a pretrain stream (which
// would otherwise read the empty corpus again and again, waiting for a first batch).
func TestNoSequences(t *testing.T) {
	for _, tc := range []struct {
		name, format, file, data, want string
	}{
		{"empty", "text", "empty.txt", "", "0 document(s)"},
		{"blank-lines", "lines", "blank.txt", "\n\n   \n\t\n", "0 document(s)"},
		{"bad-json", "jsonl", "bad.jsonl", "{\"text\": 1}\nnot json\n", "2 bad JSON line(s)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := filepath.Join(t.TempDir(), tc.file)
			writeFile(t, in, []byte(tc.data))
			cfg := testConfig(t, tc.format, in)
			dir := filepath.Join(t.TempDir(), "out")
			_, _, err := tryPrep(context.Background(), cfg, ShardOptions{Dir: dir})
			if !errors.Is(err, ErrNoSequences) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("prep: error %v, want ErrNoSequences saying %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, shards.ManifestName)); err == nil {
				t.Error("a manifest was written for a run that made no sequence")
			}

			cfg.Masking = masking.Dynamic
			ex, err := NewExamples(cfg)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			s, err := NewStream(ctx, ex, StreamConfig{BatchSize: 4}, trainer.Position{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if _, err := s.Next(ctx); !errors.Is(err, ErrNoSequences) {
				t.Errorf("stream: Next returned %v, want ErrNoSequences", err)
			}
		})
	}
}
