package pipeline

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/tokenize"
)

// memOpener is an Opener over files held in memory by name, as an object store holds them.
func memOpener(files map[string][]byte) Opener {
	return func(name string) (io.ReadCloser, error) {
		b, ok := files[name]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return io.NopCloser(bytes.NewReader(b)), nil
	}
}

// tokenizeAll tokenizes every input of p with TokenizeFile and returns the documents (by
// partition, in order) and the files' results.
func tokenizeAll(t *testing.T, p *Partitioner) (map[int][]PartDoc, []FileResult) {
	t.Helper()
	docs := map[int][]PartDoc{}
	var res []FileResult
	for i, in := range p.Inputs() {
		r, err := p.TokenizeFile(context.Background(), i, in, func(part int, d PartDoc) error {
			docs[part] = append(docs[part], d)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		res = append(res, r)
	}
	return docs, res
}

// TestNewExamplesFrom reads the same files from the local file system (NewExamples) and
// through an Opener under other names (NewExamplesFrom, as kiln-beam does with gs:// or
// memfs://): the same documents go to the same partitions, and the run records and reports
// the names given, never a local path.
func TestNewExamplesFrom(t *testing.T) {
	cases := []struct {
		name   string
		format Format
		files  []string
	}{
		{"text", Text, sotuFiles(t)[:4]},
		{"parquet", Parquet, []string{"testdata/fuzz_seed.parquet", "testdata/fuzz_seed_zstd.parquet"}},
		{"arrow", Arrow, []string{"testdata/fuzz_seed.arrow", "testdata/fuzz_seed_stream.arrow"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultExampleConfig()
			cfg.Format, cfg.Workers = c.format, 1
			cfg.Inputs, cfg.Vocab = c.files, vocabFile(t)
			ex, err := NewExamples(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, err := NewPartitioner(ex, 3, ShardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			wantDocs, wantFiles := tokenizeAll(t, p)

			mem := map[string][]byte{}
			var ins []Input
			rename := map[string]string{}
			for _, f := range c.files {
				b, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				name := "mem://bucket/corpus/" + filepath.Base(f)
				mem[name], rename[f] = b, name
				ins = append(ins, Input{Path: name, Size: int64(len(b))})
			}
			vb, err := os.ReadFile(vocabFile(t))
			if err != nil {
				t.Fatal(err)
			}
			mem["mem://bucket/vocab.txt"] = vb
			cfg.Inputs, cfg.Vocab = []string{"mem://bucket/corpus/"}, "mem://bucket/vocab.txt"
			ex, err = NewExamplesFrom(cfg, ExampleFiles{Inputs: ins, Open: memOpener(mem)})
			if err != nil {
				t.Fatal(err)
			}
			if got := ex.Config(); got.Vocab != "mem://bucket/vocab.txt" || !reflect.DeepEqual(got.Inputs, cfg.Inputs) {
				t.Errorf("recorded vocab %q and inputs %q, want them as given", got.Vocab, got.Inputs)
			}
			p, err = NewPartitioner(ex, 3, ShardOptions{})
			if err != nil {
				t.Fatal(err)
			}
			gotDocs, gotFiles := tokenizeAll(t, p)
			if len(gotDocs) == 0 || !reflect.DeepEqual(gotDocs, wantDocs) {
				t.Errorf("the documents read through the Opener differ from the local files' (%d and %d partitions)", len(gotDocs), len(wantDocs))
			}
			for i := range wantFiles {
				if gotFiles[i].File.Path != rename[wantFiles[i].File.Path] {
					t.Errorf("file %d reported as %q, want %q", i, gotFiles[i].File.Path, rename[wantFiles[i].File.Path])
				}
				wantFiles[i].File.Path = gotFiles[i].File.Path
				for j, pr := range wantFiles[i].Source.Problems { // they name the file too
					for from, to := range rename {
						pr = strings.ReplaceAll(pr, from, to)
					}
					wantFiles[i].Source.Problems[j] = pr
				}
			}
			if !reflect.DeepEqual(gotFiles, wantFiles) {
				t.Errorf("file results differ:\n got %+v\nwant %+v", gotFiles, wantFiles)
			}
		})
	}
}

// TestNewExamplesFromErrors checks that what cannot be read through the Opener is reported by
// the name the run gives it.
func TestNewExamplesFromErrors(t *testing.T) {
	vb, err := os.ReadFile(vocabFile(t))
	if err != nil {
		t.Fatal(err)
	}
	mem := map[string][]byte{"mem://b/vocab.txt": vb, "mem://b/a.txt.gz": []byte("not gzip at all")}
	cfg := DefaultExampleConfig()
	cfg.Inputs, cfg.Vocab, cfg.Workers = []string{"mem://b/"}, "mem://b/missing-vocab.txt", 1
	files := ExampleFiles{Inputs: []Input{{Path: "mem://b/a.txt.gz"}}, Open: memOpener(mem)}
	if _, err := NewExamplesFrom(cfg, files); err == nil || !strings.Contains(err.Error(), "vocabulary mem://b/missing-vocab.txt") {
		t.Errorf("missing vocabulary: error %v, want one naming it", err)
	}
	cfg.Vocab = "mem://b/vocab.txt"
	ex, err := NewExamplesFrom(cfg, files)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPartitioner(ex, 2, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.TokenizeFile(context.Background(), 0, p.Inputs()[0], func(int, PartDoc) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "input mem://b/a.txt.gz") || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("a corrupt .gz input: error %v, want one naming mem://b/a.txt.gz", err)
	}
}

// TestNewExamplesFromTokenizerJSON reads a tokenizer.json (and the vocab.txt it must agree
// with) through an Opener: the same documents as the local files give, and a vocab.txt that
// disagrees is refused, naming both.
func TestNewExamplesFromTokenizerJSON(t *testing.T) {
	v, err := tokenize.LoadVocab(vocabFile(t))
	if err != nil {
		t.Fatal(err)
	}
	tj, err := tokenize.TokenizerJSON(v, tokenize.BertOptions(false))
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(t.TempDir(), "tokenizer.json")
	if err := os.WriteFile(local, tj, 0o644); err != nil {
		t.Fatal(err)
	}
	files := sotuFiles(t)[:3]
	cfg := DefaultExampleConfig()
	cfg.Workers, cfg.Inputs, cfg.Tokenizer, cfg.Vocab = 1, files, local, vocabFile(t)
	ex, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPartitioner(ex, 2, ShardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tokenizeAll(t, p)

	vb, err := os.ReadFile(vocabFile(t))
	if err != nil {
		t.Fatal(err)
	}
	mem := map[string][]byte{"mem://b/tokenizer.json": tj, "mem://b/vocab.txt": vb, "mem://b/other.txt": []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")}
	var ins []Input
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		mem["mem://b/"+filepath.Base(f)] = b
		ins = append(ins, Input{Path: "mem://b/" + filepath.Base(f)})
	}
	cfg.Tokenizer, cfg.Vocab = "mem://b/tokenizer.json", "mem://b/vocab.txt"
	ex, err = NewExamplesFrom(cfg, ExampleFiles{Inputs: ins, Open: memOpener(mem)})
	if err != nil {
		t.Fatal(err)
	}
	if p, err = NewPartitioner(ex, 2, ShardOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := tokenizeAll(t, p); len(got) == 0 || !reflect.DeepEqual(got, want) {
		t.Errorf("the documents tokenized with the tokenizer.json read through the Opener differ from the local run's")
	}
	cfg.Vocab = "mem://b/other.txt"
	if _, err := NewExamplesFrom(cfg, ExampleFiles{Inputs: ins, Open: memOpener(mem)}); err == nil ||
		!strings.Contains(err.Error(), "mem://b/other.txt") || !strings.Contains(err.Error(), "mem://b/tokenizer.json") {
		t.Errorf("a vocab.txt that disagrees with the tokenizer.json: error %v, want one naming both", err)
	}
}
