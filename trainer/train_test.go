package trainer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
)

// testConfig is a model small enough to train for a few steps in a unit test.
func testConfig() Config {
	return Config{VocabSize: 120, HiddenSize: 32, NumLayers: 2, NumHeads: 2, IntermediateSize: 64,
		MaxPositions: 64, TypeVocabSize: 2, HiddenDropout: 0.1, AttentionDropout: 0.1,
		LayerNormEps: 1e-12, InitializerRange: 0.02}
}

// writeShards writes n rows like randomBatch's into several small shards in dir; static keeps
// the masks, otherwise the rows are stored unmasked for dynamic masking.
func writeShards(t *testing.T, dir string, n int, static bool) []Example {
	t.Helper()
	rows := randomBatch(rand.New(rand.NewPCG(7, uint64(n))), n, 24, 120)
	w, err := shards.NewWriter(shards.Options{Dir: dir, Layout: shards.Layout{Compression: "zstd", ShardBytes: 1500, RowsPerBatch: 16},
		Static: static, VocabSize: 120, MaxSeqLen: 64, Special: shards.Special{PAD: 0, CLS: 1, SEP: 2, MASK: 3}, Task: pairing.NSP})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		r := &rows[i]
		r.NextSentenceLabel = int8(i % 2)
		if !static {
			for j, p := range r.MaskedPositions {
				r.InputIDs[p] = r.MaskedIDs[j]
			}
			r.MaskedPositions, r.MaskedIDs = nil, nil
		}
		if err := w.Write(&shards.Row{InputIDs: r.InputIDs, TokenTypeIDs: r.TokenTypeIDs, NextSentenceLabel: r.NextSentenceLabel,
			MaskedPositions: r.MaskedPositions, MaskedIDs: r.MaskedIDs}); err != nil {
			t.Fatal(err)
		}
	}
	man, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Shards) < 3 {
		t.Fatalf("want several shards for the test, got %d", len(man.Shards))
	}
	return rows
}

func readAll(t *testing.T, cfg LoaderConfig) []Batch {
	t.Helper()
	l, err := NewLoader(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var bs []Batch
	for {
		b, err := l.Next(context.Background())
		if err == io.EOF {
			return bs
		}
		if err != nil {
			t.Fatal(err)
		}
		bs = append(bs, b)
	}
}

func key(e Example) string { return fmt.Sprint(e.InputIDs, e.MaskedPositions) }

// TestLoader checks that an epoch is a permutation of the shards' rows, that epochs differ,
// that the same seed gives the same batches, and that a loader started at a batch's position
// continues with exactly the following batches.
func TestLoader(t *testing.T) {
	dir := t.TempDir()
	rows := writeShards(t, dir, 100, true)
	cfg := LoaderConfig{Dir: dir, BatchSize: 8, Seed: 1, Shuffle: true, ShuffleBuffer: 16, Epochs: 2}
	bs := readAll(t, cfg)
	var got []Example
	for _, b := range bs {
		got = append(got, b.Rows...)
	}
	if len(got) != 200 {
		t.Fatalf("read %d rows in 2 epochs of 100", len(got))
	}
	want := make([]string, len(rows))
	for i, r := range rows {
		want[i] = key(r)
	}
	slices.Sort(want)
	var e0, e1 []string
	for i, r := range got {
		if i < 100 {
			e0 = append(e0, key(r))
		} else {
			e1 = append(e1, key(r))
		}
	}
	if slices.Equal(e0, e1) {
		t.Error("two epochs came in the same order")
	}
	if slices.Equal(e0, want) {
		t.Error("epoch 0 is not shuffled")
	}
	slices.Sort(e0)
	slices.Sort(e1)
	if !slices.Equal(e0, want) || !slices.Equal(e1, want) {
		t.Error("an epoch is not a permutation of the rows")
	}
	if again := readAll(t, cfg); !reflect.DeepEqual(again, bs) {
		t.Error("same seed, different batches")
	}
	for _, k := range []int{3, 12, 17} {
		cfg2 := cfg
		cfg2.Start = bs[k].Next
		if rest := readAll(t, cfg2); !reflect.DeepEqual(rest, bs[k+1:]) {
			t.Errorf("resumed after batch %d at %+v: batches differ", k, bs[k].Next)
		}
	}
}

func testMasker(t *testing.T) *masking.Masker {
	t.Helper()
	tokens := []string{"[PAD]", "[CLS]", "[SEP]", "[MASK]", "[UNK]"}
	for i := len(tokens); i < 120; i++ {
		tokens = append(tokens, fmt.Sprintf("w%d", i))
	}
	v, err := masking.NewVocab(tokens)
	if err != nil {
		t.Fatal(err)
	}
	m, err := masking.New(masking.DefaultConfig(), v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestLoaderDynamicMasking checks that unmasked shards are masked on the fly, differently in
// each epoch, and that they are refused without a masker.
func TestLoaderDynamicMasking(t *testing.T) {
	dir := t.TempDir()
	writeShards(t, dir, 40, false)
	if _, err := NewLoader(context.Background(), LoaderConfig{Dir: dir, BatchSize: 4}); err == nil {
		t.Fatal("unmasked shards without a masker: no error")
	}
	bs := readAll(t, LoaderConfig{Dir: dir, BatchSize: 40, Epochs: 2, Masker: testMasker(t)})
	if len(bs) != 2 {
		t.Fatalf("%d batches, want 2", len(bs))
	}
	for _, b := range bs {
		for _, r := range b.Rows {
			if len(r.MaskedPositions) == 0 || len(r.MaskedPositions) != len(r.MaskedIDs) {
				t.Fatalf("row not masked: %+v", r)
			}
		}
	}
	if reflect.DeepEqual(bs[0].Rows, bs[1].Rows) {
		t.Error("the same masks in both epochs")
	}
}

// TestEvalBatchIndependent checks that Eval's loss does not depend on the batch size and
// equals the loss of all rows as one batch.
func TestEvalBatchIndependent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rows := writeShards(t, dir, 50, true)
	m, err := NewModel(testConfig(), rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	whole, err := m.Loss(ctx, rows)
	if err != nil {
		t.Fatal(err)
	}
	for _, bs := range []int{7, 50} {
		ev, err := Eval(ctx, m, EvalConfig{Data: dir, BatchSize: bs})
		if err != nil {
			t.Fatal(err)
		}
		if ev.Rows != 50 || abs(ev.MLMLoss-whole.MLMLoss) > 1e-5 || abs(ev.NSPLoss-whole.NSPLoss) > 1e-5 {
			t.Errorf("batch %d: %v, want mlm %.6f nsp %.6f over 50 rows", bs, ev, whole.MLMLoss, whole.NSPLoss)
		}
	}
	if ev, err := Eval(ctx, m, EvalConfig{Data: dir, Limit: 10}); err != nil || ev.Rows != 10 {
		t.Errorf("limit 10: %v, %v", ev, err)
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestTrainResume checks that a run stopped at a checkpoint and resumed follows the same loss
// trajectory, step for step, as an uninterrupted run, and writes the run's outputs.
func TestTrainResume(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	writeShards(t, data, 60, false)
	base := TrainConfig{Data: data, Model: testConfig(), Optimizer: DefaultOptimizer(1e-3, 2, 8), Steps: 8,
		BatchSize: 8, Seed: 5, LogEvery: 1, CheckpointEvery: 3, ShuffleBuffer: 20, Masker: testMasker(t)}
	full := base
	full.Out = t.TempDir()
	a, err := Train(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	part := base
	part.Out = t.TempDir()
	part.Steps = 4 // checkpoints at 3 and 4; resume from 4
	if _, err := Train(ctx, part); err != nil {
		t.Fatal(err)
	}
	// A checkpoint cut short by a kill, as it would be left: ignored and removed on resume.
	stale := filepath.Join(part.Out, ".checkpoint-00000005.tmp")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, WeightsFile), []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	part.Steps, part.Resume = 8, true
	var hooked []string // AfterCheckpoint's calls: checkpoint and the steps of the history
	part.AfterCheckpoint = func(ckpt string, h []Metrics) error {
		hooked = append(hooked, fmt.Sprintf("%s %d-%d", filepath.Base(ckpt), h[0].Step, h[len(h)-1].Step))
		return nil
	}
	b, err := Train(ctx, part)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.History) != 8 || len(b.History) != 8 {
		t.Fatalf("histories of %d and %d steps, want 8", len(a.History), len(b.History))
	}
	for i := range a.History {
		if a.History[i].Loss != b.History[i].Loss || a.History[i].LR != b.History[i].LR {
			t.Errorf("step %d: loss %v uninterrupted, %v resumed", i+1, a.History[i].Loss, b.History[i].Loss)
		}
	}
	// The resumed run's checkpoints, each with the whole run's history (the resumed steps too).
	if got, want := strings.Join(hooked, ", "), "checkpoint-00000006 1-6, checkpoint-00000008 1-8"; got != want {
		t.Errorf("AfterCheckpoint calls: %s, want %s", got, want)
	}
	for _, f := range []string{MetricsFile, "checkpoint-00000008/" + WeightsFile, "checkpoint-00000008/" + ConfigFile,
		"checkpoint-00000008/" + OptimizerFile, "checkpoint-00000008/" + StateFile} {
		if _, err := os.Stat(filepath.Join(part.Out, f)); err != nil {
			t.Error(err)
		}
	}
	if ms, _ := readMetrics(filepath.Join(part.Out, MetricsFile), 1<<30); len(ms) != 8 {
		t.Errorf("metrics.jsonl holds %d lines, want 8", len(ms))
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary checkpoint left: %v", err)
	}
	cks, _ := listCheckpoints(part.Out)
	if len(cks) != keepCkpts {
		t.Errorf("%d checkpoints kept, want %d", len(cks), keepCkpts)
	}
	m, err := LoadModel(cks[len(cks)-1])
	if err != nil {
		t.Fatal(err)
	}
	if m.Config() != testConfig() {
		t.Errorf("config read back %+v", m.Config())
	}
}

// TestTrainStopsOnNaN checks that a diverging run stops with ErrNonFinite and keeps the
// checkpoint written before the loss went bad.
func TestTrainStopsOnNaN(t *testing.T) {
	data := t.TempDir()
	writeShards(t, data, 40, true)
	cfg := TrainConfig{Data: data, Out: t.TempDir(), Model: testConfig(), Optimizer: DefaultOptimizer(1e30, 0, 10),
		Steps: 10, BatchSize: 8, Seed: 1, LogEvery: 1, CheckpointEvery: 1}
	cfg.Optimizer.ClipNorm = 0
	res, err := Train(context.Background(), cfg)
	if !errors.Is(err, ErrNonFinite) {
		t.Fatalf("err = %v, want ErrNonFinite", err)
	}
	t.Log(err)
	if res.Checkpoint == "" {
		t.Fatal("no checkpoint kept")
	}
	if _, err := LoadModel(res.Checkpoint); err != nil {
		t.Errorf("last good checkpoint: %v", err)
	}
}

// TestTrainCancel checks that cancelling a run returns the context's error promptly and that
// the run resumes from its last checkpoint.
func TestTrainCancel(t *testing.T) {
	data := t.TempDir()
	writeShards(t, data, 40, true)
	cfg := TrainConfig{Data: data, Out: t.TempDir(), Model: testConfig(), Optimizer: DefaultOptimizer(1e-3, 2, 100),
		Steps: 100, BatchSize: 8, Seed: 1, LogEvery: 1, CheckpointEvery: 2}
	ctx, cancel := context.WithCancel(context.Background())
	var lines int
	cfg.Log = writerFunc(func(p []byte) (int, error) {
		if lines++; lines == 5 {
			cancel()
		}
		return len(p), nil
	})
	res, err := Train(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.Steps < 4 || res.Steps > 6 || res.Checkpoint == "" {
		t.Fatalf("stopped at step %d with checkpoint %q", res.Steps, res.Checkpoint)
	}
	cfg.Resume, cfg.Steps, cfg.Log = true, 8, nil
	res, err = Train(context.Background(), cfg)
	if err != nil || res.Steps != 8 {
		t.Fatalf("resume: step %d, %v", res.Steps, err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
