package trainer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
)

// Regression tests of issue 10's reading-side items in the trainer: checkpoints, manifests and
// vocabularies crafted as a hostile or careless user would. Each must be refused with an error
// naming the file, before anything large is allocated and without hanging.

// allocatedBy returns the bytes the process allocates while f runs.
func allocatedBy(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// within fails the test if f does not return in 20 s (a FIFO opened for reading blocks).
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%s hangs", what)
	}
}

// saveTiny saves a tiny model (vocabulary 120) in a new directory.
func saveTiny(t *testing.T) (string, Config) {
	t.Helper()
	cfg, err := Preset("tiny", 120)
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewModel(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

// TestParamShapesMatchModel: the layout CheckWeights checks against is NewModel's.
func TestParamShapesMatchModel(t *testing.T) {
	for _, name := range []string{"tiny", "mini"} {
		cfg, _ := Preset(name, 1000)
		m, err := NewModel(cfg, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		names, shapes := paramShapes(cfg)
		if len(names) != len(m.params) {
			t.Fatalf("%s: %d parameters, paramShapes lists %d", name, len(m.params), len(names))
		}
		for i, p := range m.params {
			if p.name != names[i] || !slices.Equal(p.shape, shapes[i]) {
				t.Errorf("%s: parameter %d is %s %v, paramShapes says %s %v", name, i, p.name, p.shape, names[i], shapes[i])
			}
		}
	}
}

// TestCheckpointConfigCheckedFirst: a config.json describing a 41M-parameter model beside the
// weights of a tiny one is refused from the weights file's header, allocating almost nothing;
// before the fix LoadModel allocated the whole model described (hundreds of MB) before
// finding out.
func TestCheckpointConfigCheckedFirst(t *testing.T) {
	dir, _ := saveTiny(t)
	big, _ := Preset("small", 30522)
	big.NumLayers = 8
	if err := WriteHFConfig(filepath.Join(dir, ConfigFile), big.HF()); err != nil {
		t.Fatal(err)
	}
	var err error
	if n := allocatedBy(func() { _, err = LoadModel(dir) }); n > 32<<20 {
		t.Errorf("LoadModel allocated %d bytes before refusing", n)
	}
	t.Logf("LoadModel: %v", err)
	wantErr(t, err, filepath.Join(dir, WeightsFile), "config.json and model.safetensors disagree")
}

// TestCheckpointSpecialFiles: config.json, trainer_state.json or model.safetensors that is a
// FIFO or a link to /dev/zero is refused at once, naming the file; before the fix a FIFO hung
// and /dev/zero was read until memory ran out.
func TestCheckpointSpecialFiles(t *testing.T) {
	for _, tc := range []struct{ file, kind string }{
		{ConfigFile, "zero"}, {ConfigFile, "fifo"},
		{StateFile, "zero"}, {StateFile, "fifo"},
		{WeightsFile, "zero"}, {WeightsFile, "fifo"},
	} {
		t.Run(tc.file+" "+tc.kind, func(t *testing.T) {
			dir, _ := saveTiny(t)
			p := filepath.Join(dir, tc.file)
			os.Remove(p)
			if tc.kind == "zero" {
				if err := os.Symlink("/dev/zero", p); err != nil {
					t.Fatal(err)
				}
			} else if err := syscall.Mkfifo(p, 0o644); err != nil {
				t.Skipf("mkfifo: %v", err)
			}
			var err error
			within(t, "LoadModel", func() { _, err = LoadModel(dir) })
			t.Logf("LoadModel: %v", err)
			wantErr(t, err, p, "not a regular file")
		})
	}
}

// writeVocabShards writes the tiny test rows as shards whose manifest names vocab (a path) in
// its config and records sha as the vocabulary's sha256, with the given vocab_size.
func writeVocabShards(t *testing.T, vocabSize int, vocab, sha string) string {
	t.Helper()
	dir := t.TempDir()
	rows := randomBatch(rand.New(rand.NewPCG(3, 4)), 40, 24, 120)
	cfg, _ := json.Marshal(map[string]string{"vocab": vocab})
	writeRows(t, shards.Options{Dir: dir, Layout: shards.Layout{RowsPerBatch: 16}, Static: true, VocabSize: vocabSize, MaxSeqLen: 64,
		Special: shards.Special{PAD: 0, CLS: 1, SEP: 2, MASK: 3}, Task: pairing.NSP,
		Metadata: map[string]string{shards.MetaVocabSHA256: sha}, Config: cfg}, rows)
	return dir
}

// TestShardsVocabulary: the manifest's vocab_size must be the size of the vocabulary it names,
// and a vocabulary is used only when its sha256 is the manifest's; a vocabulary path that is
// /dev/zero is refused, not read. Before the fix each of these passed CheckShards (and the
// trainer built a model of vocab_size rows, or read /dev/zero until memory ran out).
func TestShardsVocabulary(t *testing.T) {
	sample, err := filepath.Abs("../cmd/kiln/sample/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	v, err := tokenize.LoadVocab(sample)
	if err != nil {
		t.Fatal(err)
	}
	passwd := filepath.Join(t.TempDir(), "passwd")
	os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"), 0o644)

	ok := writeVocabShards(t, v.Size(), sample, v.SHA256())
	if _, err := CheckShards(ok); err != nil {
		t.Fatalf("shards with their own vocabulary: %v", err)
	}
	for _, tc := range []struct {
		name      string
		vocabSize int
		vocab     string
		want      []string
	}{
		{"vocab_size larger than the vocabulary", 40000, sample, []string{"vocab_size 40000", "30522 tokens"}},
		{"vocab_size 2,000,000", 2000000, sample, []string{"vocab size 2000000", "at most"}},
		{"another file as vocabulary", v.Size(), passwd, []string{passwd, "is not the vocabulary"}},
		{"/dev/zero as vocabulary", v.Size(), "/dev/zero", []string{"/dev/zero", "not a regular file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var dir string
			if tc.vocabSize <= shards.MaxVocabSize {
				dir = writeVocabShards(t, tc.vocabSize, tc.vocab, v.SHA256())
			} else {
				// The writer refuses such a size: write 1000000 and patch both the shard's schema
				// metadata and the manifest, restamping the shard's sha256, as an attacker would.
				dir = writeVocabShards(t, 1000000, tc.vocab, v.SHA256())
				m, _ := shards.ReadManifest(dir)
				p := filepath.Join(dir, m.Shards[0].File)
				b, _ := os.ReadFile(p)
				b = bytes.ReplaceAll(b, []byte(`"vocab_size":1000000`), []byte(`"vocab_size":2000000`))
				os.WriteFile(p, b, 0o644)
				sum := sha256.Sum256(b)
				m.Shards[0].SHA256 = hex.EncodeToString(sum[:])
				m.Info.VocabSize = tc.vocabSize
				mb, _ := json.Marshal(m)
				os.WriteFile(filepath.Join(dir, shards.ManifestName), mb, 0o644)
			}
			var err error
			within(t, "CheckShards", func() { _, err = CheckShards(dir) })
			t.Logf("CheckShards: %v", err)
			wantErr(t, err, tc.want...)
		})
	}
}

// TestManifestListedTwiceAndRows: CheckShards refuses a manifest that lists a shard twice
// (before the fix, train read it twice an epoch), and the loader fails, naming the shard, when
// a shard holds fewer rows than the manifest records (before the fix it trained on what it
// found).
func TestManifestListedTwiceAndRows(t *testing.T) {
	dir := t.TempDir()
	m := writeTestShards(t, dir, 100, "", "zstd")
	twice := *m
	twice.Shards = append(slices.Clone(m.Shards), m.Shards[0])
	twice.Rows, twice.Tokens, twice.Bytes = m.Rows+m.Shards[0].Rows, m.Tokens+m.Shards[0].Tokens, m.Bytes+m.Shards[0].Bytes
	write := func(m *shards.Manifest) {
		b, _ := json.Marshal(m)
		if err := os.WriteFile(filepath.Join(dir, shards.ManifestName), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(&twice)
	_, err := CheckShards(dir)
	t.Logf("CheckShards: %v", err)
	wantErr(t, err, "listed twice")

	more := *m
	more.Shards = slices.Clone(m.Shards)
	more.Shards[0].Rows += 7
	more.Rows += 7
	write(&more)
	l, err := NewLoader(context.Background(), LoaderConfig{Dir: dir, BatchSize: 8, Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for {
		_, err = l.Next(context.Background())
		if err != nil {
			break
		}
	}
	if errors.Is(err, io.EOF) {
		t.Fatalf("the loader read the shards to the end without noticing %d missing rows", 7)
	}
	t.Logf("loader: %v", err)
	wantErr(t, err, filepath.Join(dir, m.Shards[0].File), "holds 100 rows", "says 107")
	if strings.Contains(err.Error(), "data ended") {
		t.Errorf("error reads as the end of the data: %v", err)
	}
}
