package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// linesOfSample writes the sample's text in the lines format (each non-blank line a sentence,
// a blank line between files' documents), plus one sentence longer than an arena chunk, and
// returns the file and its documents' sentences as read by plain string handling.
func linesOfSample(t *testing.T) (string, [][]string) {
	t.Helper()
	var b strings.Builder
	var want [][]string
	for _, f := range sotuFiles(t)[:6] {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc []string
		// One sentence per line, roughly: split at line ends and after full stops.
		text := strings.ReplaceAll(string(data), ". ", ".\n")
		for _, l := range strings.Split(text, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				doc = append(doc, l)
				b.WriteString(l + "\n")
			}
		}
		long := strings.Repeat("a long sentence, ", 3*unitChunk/16)
		doc = append(doc, long)
		b.WriteString(long + "\n\n")
		want = append(want, doc)
	}
	path := filepath.Join(t.TempDir(), "lines.txt")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, want
}

// TestUnitArenaLines reads the lines format and checks every sentence once the whole file is
// read (units held in the arena are not overwritten by later lines), and that reading costs
// far fewer allocations than sentences (no allocation per sentence).
func TestUnitArenaLines(t *testing.T) {
	path, want := linesOfSample(t)
	inputs, err := ExpandInputs([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	opts := SourceOptions{Format: Lines, MaxLineBytes: 1 << 20, MaxDocBytes: 64 << 20}
	docs, _, err := readAll(t, inputs, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(want) {
		t.Fatalf("%d documents, want %d", len(docs), len(want))
	}
	sentences := 0
	for i, d := range docs {
		if len(d.Units) != len(want[i]) {
			t.Fatalf("document %d: %d sentences, want %d", i, len(d.Units), len(want[i]))
		}
		for j, u := range d.Units {
			if u != want[i][j] {
				t.Fatalf("document %d sentence %d = %.60q, want %.60q", i, j, u, want[i][j])
			}
		}
		sentences += len(d.Units)
	}
	allocs := testing.AllocsPerRun(3, func() {
		src := NewSource(inputs, opts)
		if err := src.Run(context.Background(), func(Document) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > float64(sentences)/4 {
		t.Errorf("reading %d sentences took %.0f allocations: one or more per sentence", sentences, allocs)
	}
	t.Logf("%d sentences, %.0f allocations", sentences, allocs)
}
