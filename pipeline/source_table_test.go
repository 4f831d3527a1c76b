package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/kiln-bert/kiln/shards"
)

// tablePeer finds node and the peers that write Parquet and Arrow (nodejs-polars, Arrow JS)
// in tools/peers/node_modules. Without them the test skips, saying how to install them;
// under CI it fails.
func tablePeer(t *testing.T) (node, modules string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("table-format peer missing in CI: "+format, args...)
		}
		t.Skipf("table-format peer missing, skipping: "+format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not on PATH (install Node.js 20, then npm ci --prefix tools/peers)")
	}
	modules, err = filepath.Abs(filepath.Join("..", "tools", "peers", "node_modules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"nodejs-polars", "apache-arrow"} {
		if _, err := os.Stat(filepath.Join(modules, pkg, "package.json")); err != nil {
			missing("%s not installed in %s (npm ci --prefix tools/peers --no-audit --no-fund)", pkg, modules)
		}
	}
	return node, modules
}

// sampleJSONL writes the bundled sample corpus as a JSONL file, one document (a whole file's
// text) per line, with a null text every few lines, and returns its path and the number of
// nulls.
func sampleJSONL(t *testing.T, dir string) (string, int) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "cmd", "kiln", "sample", "corpus", "*.txt"))
	if err != nil || len(files) < 40 {
		t.Fatalf("sample corpus: %d files, %v", len(files), err)
	}
	sort.Strings(files)
	var b strings.Builder
	nulls := 0
	for i, f := range files {
		if i%9 == 4 {
			b.WriteString(`{"text": null}` + "\n")
			nulls++
		}
		text, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		line, err := json.Marshal(map[string]string{"text": string(text)})
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.Join(dir, "corpus.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, nulls
}

// peerTables has the peers write the documents of jsonl as Parquet and Arrow files in dir
// (testdata/write_tables.js) and returns their names.
func peerTables(t *testing.T, jsonl, dir string) []string {
	t.Helper()
	node, modules := tablePeer(t)
	cmd := exec.Command(node, filepath.Join("testdata", "write_tables.js"), jsonl, dir)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	out, err := cmd.Output()
	if err != nil {
		stderr := ""
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("write_tables.js: %v\n%s", err, stderr)
	}
	var res struct {
		Files map[string]struct{ Rows int } `json:"files"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("write_tables.js: %v: %s", err, out)
	}
	var names []string
	for n := range res.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func tableFormat(name string) Format {
	if strings.HasSuffix(name, ".parquet") {
		return Parquet
	}
	return Arrow
}

// tableParts counts the row groups of a Parquet file or the record batches of an Arrow file
// or stream, as the Arrow library reads them.
func tableParts(t *testing.T, path string) int {
	t.Helper()
	if strings.HasSuffix(path, ".parquet") {
		r, err := file.OpenParquetFile(path, false)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return r.NumRowGroups()
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fr, err := ipc.NewFileReader(f); err == nil {
		return fr.NumRecords()
	}
	f.Seek(0, 0)
	sr, err := ipc.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Release()
	n := 0
	for sr.Next() {
		n++
	}
	return n
}

// withoutFile returns docs with File cleared, to compare documents read from other files.
func withoutFile(docs []Document) []Document {
	out := make([]Document, len(docs))
	for i, d := range docs {
		d.File = ""
		out[i] = d
	}
	return out
}

// TestTableFormatsMatchJSONL reads the sample corpus as Parquet (uncompressed, snappy, zstd,
// gzip and brotli pages, one and several row groups) and Arrow IPC (file and stream; utf8,
// large_utf8 and utf8_view columns; uncompressed and zstd bodies) files that nodejs-polars
// and Arrow JS wrote, and checks that each gives the documents of the JSONL file they were
// written from: the same rows, texts, paragraphs, lines (rows) and document indexes, the
// null rows skipped and counted as the JSONL's null texts are.
func TestTableFormatsMatchJSONL(t *testing.T) {
	dir := t.TempDir()
	jsonl, nulls := sampleJSONL(t, dir)
	names := peerTables(t, jsonl, dir)
	want, wantStats, err := readAll(t, []Input{{Path: jsonl}}, SourceOptions{Format: JSONL})
	if err != nil {
		t.Fatal(err)
	}
	if wantStats.SkippedBadJSON != int64(nulls) || len(want) < 40 {
		t.Fatalf("jsonl: %d documents, %d skipped lines, want %d", len(want), wantStats.SkippedBadJSON, nulls)
	}
	several := 0
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if tableParts(t, path) > 1 {
				several++
			}
			got, st, err := readAll(t, []Input{{Path: path, Size: info.Size()}}, SourceOptions{Format: tableFormat(name)})
			if err != nil {
				t.Fatal(err)
			}
			if st.SkippedNullRows != int64(nulls) || st.Documents != int64(len(want)) {
				t.Errorf("%d documents, %d null rows; want %d and %d", st.Documents, st.SkippedNullRows, len(want), nulls)
			}
			if len(st.PerFile) != 1 || st.PerFile[0].Documents != st.Documents || st.PerFile[0].Skipped != int64(nulls) || st.BytesRead < info.Size()/2 {
				t.Errorf("per-file stats %+v, bytes read %d of %d", st.PerFile, st.BytesRead, info.Size())
			}
			if len(st.Problems) == 0 || !strings.Contains(st.Problems[0], name+": row 5: null") {
				t.Errorf("problems %q: want the first null row (row 5) named", st.Problems)
			}
			g, w := withoutFile(got), withoutFile(want)
			if len(g) != len(w) {
				t.Fatalf("%d documents, want %d", len(g), len(w))
			}
			for i := range w {
				if !reflect.DeepEqual(g[i], w[i]) {
					t.Fatalf("document %d: got line %d index %d, %d paragraphs %.60q...; want line %d index %d, %d paragraphs %.60q...",
						i, g[i].Line, g[i].Index, len(g[i].Units), g[i].Units, w[i].Line, w[i].Index, len(w[i].Units), w[i].Units)
				}
			}
		})
	}
	if several < 6 {
		t.Errorf("%d files with several row groups or record batches, want at least 6", several)
	}
}

// collectRows runs the example stages over cfg and returns every row, copied.
func collectRows(t *testing.T, cfg ExampleConfig) []shards.Row {
	t.Helper()
	ex, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rows []shards.Row
	if err := ex.Run(context.Background(), func(r *shards.Row) error {
		rows = append(rows, copyOf(*r))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestTablePrepMatchesJSONL checks that prep's rows (NSP pairs, static masks, the shuffle)
// from Parquet and Arrow files are those from the JSONL file of the same documents: a row's
// identity, and so its pairs and masks, depend on its file's position and the documents
// before it, not on the format; and that they do not depend on the number of workers or on
// where the file lies.
func TestTablePrepMatchesJSONL(t *testing.T) {
	dir := t.TempDir()
	jsonl, _ := sampleJSONL(t, dir)
	peerTables(t, jsonl, dir)
	// The same documents twice, in two files: the second file's documents have other
	// identities (ExpandInputs reads a file named twice once).
	data, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	jsonl2 := filepath.Join(dir, "corpus2.jsonl")
	if err := os.WriteFile(jsonl2, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := sampleConfig("jsonl", jsonl, jsonl2)
	cfg.ShuffleBuffer = 500
	want := collectRows(t, cfg)
	if len(want) < 1000 {
		t.Fatalf("%d rows from the sample: want more", len(want))
	}
	moved := filepath.Join(t.TempDir(), "elsewhere.parquet")
	data, err = os.ReadFile(filepath.Join(dir, "zstd.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(moved, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		format  Format
		inputs  []string
		workers int
	}{
		{Parquet, []string{filepath.Join(dir, "snappy.parquet"), filepath.Join(dir, "gzip.parquet")}, 1},
		{Parquet, []string{filepath.Join(dir, "zstd.parquet"), moved}, 2},
		{Arrow, []string{filepath.Join(dir, "polars_stream.arrow"), filepath.Join(dir, "arrowjs_file.arrow")}, 2},
	} {
		c := cfg
		c.Format, c.Inputs, c.Workers = tc.format, tc.inputs, tc.workers
		got := collectRows(t, c)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %v (workers %d): %d rows differ from the JSONL run's %d", tc.format, tc.inputs, tc.workers, len(got), len(want))
		}
	}
}

// TestTablePrepResume interrupts a prep of Parquet input after its first shards and runs it
// again: the shards must be those of an uninterrupted run.
func TestTablePrepResume(t *testing.T) {
	dir := t.TempDir()
	jsonl, _ := sampleJSONL(t, dir)
	peerTables(t, jsonl, dir)
	in := filepath.Join(dir, "snappy.parquet")
	cfg := sampleConfig("parquet", in, filepath.Join(dir, "zstd.parquet"), filepath.Join(dir, "gzip.parquet"))
	cfg.Workers = 1
	cfg.ShuffleBuffer = 200
	opts := func(dir string) ShardOptions {
		return ShardOptions{Dir: dir, Layout: shards.Layout{ShardBytes: 48 << 10, RowsPerBatch: 256}, Version: "test"}
	}
	ref := t.TempDir()
	runPrep(t, cfg, opts(ref))
	verifyDir(t, ref)

	out := t.TempDir()
	ctx, cancel := cancelAfterShards(out, 2)
	defer cancel()
	if _, _, err := tryPrep(ctx, cfg, opts(out)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled prep returned %v, want context.Canceled", err)
	}
	kept := checkInterrupted(t, out)
	runPrep(t, cfg, opts(out))
	checkKept(t, kept)
	verifyDir(t, out)
	sameOutput(t, ref, out)
}

// TestTableBadInput checks that table files that cannot be read as asked are errors naming
// the file and, where the problem is inside the data, the row group or record batch and the
// column: a missing column, a column that is not a string, a list column, a truncated file,
// a file over the memory bound. Nothing panics.
func TestTableBadInput(t *testing.T) {
	dir := t.TempDir()
	jsonl, _ := sampleJSONL(t, dir)
	peerTables(t, jsonl, dir)
	truncate := func(name string, keep float64) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "cut-"+name)
		if err := os.WriteFile(p, data[:int(float64(len(data))*keep)], 0o644); err != nil {
			t.Fatal(err)
		}
		return "cut-" + name
	}
	tests := []struct {
		file   string
		opts   SourceOptions
		want   []string // in the error, beside the file's path
		noDocs bool     // no document may come out before the error
	}{
		{"zstd.parquet", SourceOptions{TextColumn: "body"}, []string{`no column "body"`, `"text"`, `"n"`, "SourceOptions.TextColumn"}, true},
		{"polars_stream.arrow", SourceOptions{TextColumn: "body"}, []string{`no column "body"`, `"text"`, `"n"`}, true},
		{"zstd.parquet", SourceOptions{TextColumn: "n"}, []string{`column "n"`, "int64, not a string"}, true},
		{"polars_file.arrow", SourceOptions{TextColumn: "n"}, []string{`column "n"`, "int64, not a string"}, true},
		{"int_text.parquet", SourceOptions{}, []string{`column "text"`, "not a string"}, true},
		{"int_text.arrow", SourceOptions{}, []string{`column "text"`, "not a string"}, true},
		{"list_text.parquet", SourceOptions{}, []string{`column "text"`, "list"}, true},
		{"list_text.arrow", SourceOptions{}, []string{`column "text"`, "list", "not a string"}, true},
		{truncate("gzip.parquet", 0.6), SourceOptions{}, []string{"truncated or corrupt", "PAR1"}, true},
		{truncate("polars_file.arrow", 0.6), SourceOptions{}, []string{"truncated or corrupt", "footer"}, true},
		{truncate("polars_stream.arrow", 0.6), SourceOptions{}, []string{"record batch", `column "text"`, "truncated"}, false},
		{truncate("arrowjs_stream.arrow", 0.999), SourceOptions{}, []string{"record batch", "truncated"}, false},
		{"snappy.parquet", SourceOptions{MaxRowGroupBytes: 20 << 10}, []string{"row group 0", `column "text"`, "SourceOptions.MaxRowGroupBytes"}, true},
		{"polars_stream.arrow", SourceOptions{MaxRowGroupBytes: 100 << 10}, []string{"record batch 0", "SourceOptions.MaxRowGroupBytes"}, true},
		{"arrowjs_file.arrow", SourceOptions{MaxRowGroupBytes: 30 << 10}, []string{"record batch 0", "SourceOptions.MaxRowGroupBytes"}, true},
		// Arrow v15 cannot read polars' lz4 IPC bodies (it rejects their block checksums):
		// an error, not a panic or wrong text.
		{"polars_stream_lz4.arrow", SourceOptions{}, []string{"record batch 0", `column "text"`, "lz4"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			o := tc.opts
			o.Format = tableFormat(tc.file)
			docs, _, err := readAll(t, []Input{{Path: path}}, o)
			if err == nil {
				t.Fatalf("no error; %d documents", len(docs))
			}
			msg := err.Error()
			for _, w := range append([]string{path}, tc.want...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			if tc.noDocs && len(docs) > 0 {
				t.Errorf("%d documents before the error", len(docs))
			}
		})
	}
}

// TestTableMemoryBoundedByRowGroup reads files whose row groups and record batches each fit
// a bound far below the file's size: the bound holds one of them at a time, not the file.
func TestTableMemoryBoundedByRowGroup(t *testing.T) {
	dir := t.TempDir()
	jsonl, _ := sampleJSONL(t, dir)
	peerTables(t, jsonl, dir)
	for _, tc := range []struct {
		name  string
		bound int64
	}{
		{"snappy.parquet", 256 << 10}, // row groups of 7 documents; the file is 600 KB
		// Batches of 8 documents; the file is 990 KB. Arrow v15 holds a batch twice while it
		// reads it (the message body and the buffers copied out of it).
		// Whole, it would take 2 MB.
		{"arrowjs_file.arrow", 600 << 10},
		{"arrowjs_stream.arrow", 600 << 10},
	} {
		path := filepath.Join(dir, tc.name)
		info, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() <= tc.bound {
			t.Fatalf("%s: %d bytes, not more than the bound %d", tc.name, info.Size(), tc.bound)
		}
		docs, _, err := readAll(t, []Input{{Path: path}}, SourceOptions{Format: tableFormat(tc.name), MaxRowGroupBytes: tc.bound})
		if err != nil || len(docs) < 40 {
			t.Errorf("%s with --max-row-group-bytes %d: %d documents, %v", tc.name, tc.bound, len(docs), err)
		}
	}
}

// TestTableCutsLongRows reads the polars seed files (testdata/, no node needed) with a small
// --max-doc-bytes: rows longer are cut at paragraph boundaries into documents of at most
// that size (or one paragraph), counted, and no text is lost; the null row is skipped and
// counted.
func TestTableCutsLongRows(t *testing.T) {
	for _, name := range []string{"fuzz_seed.parquet", "fuzz_seed_zstd.parquet", "fuzz_seed.arrow", "fuzz_seed_stream.arrow"} {
		t.Run(name, func(t *testing.T) {
			in := []Input{{Path: filepath.Join("testdata", name)}}
			whole, st, err := readAll(t, in, SourceOptions{Format: tableFormat(name)})
			if err != nil || len(whole) != 5 || st.SkippedNullRows != 1 || whole[2].Line != 4 {
				t.Fatalf("%d documents, %d null rows, %v; want 5 and 1, the third at row 4", len(whole), st.SkippedNullRows, err)
			}
			cut, st, err := readAll(t, in, SourceOptions{Format: tableFormat(name), MaxDocBytes: 100})
			if err != nil {
				t.Fatal(err)
			}
			if st.CutDocuments == 0 || len(cut) != len(whole)+int(st.CutDocuments) {
				t.Errorf("%d documents, %d cut, from %d rows", len(cut), st.CutDocuments, len(whole))
			}
			if !reflect.DeepEqual(slicesConcat(units(cut)), slicesConcat(units(whole))) {
				t.Error("the cut documents do not hold the rows' paragraphs")
			}
			for i, d := range cut {
				if d.Index != i {
					t.Errorf("document %d has index %d", i, d.Index)
				}
				if d.Bytes > 100 && len(d.Units) > 1 {
					t.Errorf("document %d: %d bytes in %d paragraphs, over --max-doc-bytes 100", i, d.Bytes, len(d.Units))
				}
			}
		})
	}
}

func slicesConcat(u [][]string) []string {
	var out []string
	for _, s := range u {
		out = append(out, s...)
	}
	return out
}
