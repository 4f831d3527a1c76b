package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// polarsParquet is a small Parquet file nodejs-polars wrote (pipeline/testdata/
// write_fuzz_seeds.js): six rows of sample text in a column "text", one of them null, and an
// integer column "n", in row groups of two rows.
const polarsParquet = "../../pipeline/testdata/fuzz_seed.parquet"

// TestTableFlagValues: the flags of the table formats out of range are usage errors (exit 2)
// naming the flag.
func TestTableFlagValues(t *testing.T) {
	prep := func(extra ...string) []string {
		out := filepath.Join(t.TempDir(), "out")
		return append([]string{"prep", "--input", polarsParquet, "--vocab", sampleVocab, "--output", out, "--no-progress"}, extra...)
	}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{prep("--format", "parquet", "--text-column", " "), "--text-column"},
		{prep("--format", "arrow", "--json-field", "body"), "--json-field"},
		{prep("--format", "text", "--text-column", "body"), "--text-column"},
		{prep("--format", "jsonl", "--text-column", "a", "--json-field", "b"), "--text-column"},
		{prep("--format", "parquet", "--max-row-group-bytes", "0"), "--max-row-group-bytes"},
		{prep("--format", "orc"), "--format"},
	} {
		code, _, stderr := kiln(t, tc.args...)
		if code != 2 || !strings.Contains(stderr, tc.flag) {
			t.Errorf("kiln %s: exit %d, stderr %q; want exit 2 naming %s", strings.Join(tc.args, " "), code, stderr, tc.flag)
		}
	}
}

// TestPrepParquet runs kiln prep over a Parquet file written by nodejs-polars: the summary
// counts its documents and its null row, the manifest records the text column; another
// column that is not text is an error naming the file and the column (exit 1).
func TestPrepParquet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	code, stdout, stderr := kiln(t, "prep", "--format", "parquet", "--input", polarsParquet, "--vocab", sampleVocab, "--output", out, "--no-progress")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, w := range []string{"1 files, 5 documents", "1 null rows", "row 3: null"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("summary %q does not say %q", stdout, w)
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Config struct {
			Format     string `json:"format"`
			TextColumn string `json:"text_column"`
		} `json:"config"`
	}
	if err := json.Unmarshal(data, &m); err != nil || m.Config.Format != "parquet" || m.Config.TextColumn != "text" {
		t.Errorf("manifest config %+v (%v): want format parquet, text_column text", m.Config, err)
	}

	code, _, stderr = kiln(t, "prep", "--format", "parquet", "--text-column", "n", "--input", polarsParquet, "--vocab", sampleVocab, "--output", filepath.Join(t.TempDir(), "o"), "--no-progress")
	if code != 1 || !strings.Contains(stderr, polarsParquet) || !strings.Contains(stderr, `column "n" is int64, not a string`) {
		t.Errorf("--text-column n: exit %d, stderr %q; want exit 1 naming the file and the column", code, stderr)
	}
}

// TestJSONLTextColumn: for jsonl, --text-column is --json-field: the same shards.
func TestJSONLTextColumn(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "c.jsonl")
	text, err := os.ReadFile("sample/corpus/moby_dick_chapter_001.txt")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, para := range strings.Split(string(text), "\n\n") {
		line, _ := json.Marshal(map[string]string{"body": para})
		b.Write(line)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var shards [2][]byte
	for i, flag := range []string{"--json-field", "--text-column"} {
		out := filepath.Join(dir, flag)
		code, _, stderr := kiln(t, "prep", "--format", "jsonl", flag, "body", "--input", in, "--vocab", sampleVocab, "--output", out, "--no-progress")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", flag, code, stderr)
		}
		if shards[i], err = os.ReadFile(filepath.Join(out, "shard-00000.arrow")); err != nil {
			t.Fatal(err)
		}
	}
	if string(shards[0]) != string(shards[1]) {
		t.Error("--text-column body and --json-field body give different shards")
	}
}
