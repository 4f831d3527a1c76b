package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
)

// ShardOptions says where and how Prep writes its shards: the directory, the files' layout
// (compression, Arrow IPC format, shard size, rows per batch, length bins: zero values are
// the shards package's defaults), and kiln's version for their metadata. The rest of the
// writer's options (the vocabulary, the task, the masking, the config) come from the Examples.
type ShardOptions struct {
	Dir string // output directory
	shards.Layout
	Version string // kiln's version, stored in the metadata
}

// PrepSummary is what Prep reports at the end, and writes to DIR/prep-stats.json.
type PrepSummary struct {
	Version       string       `json:"kiln_version"`
	Examples      ExampleStats `json:"examples"`
	Shards        int          `json:"shards"`
	ShardBytes    int64        `json:"shard_bytes"`
	BytesPerToken float64      `json:"bytes_per_token"`
	MBPerSecond   float64      `json:"mb_per_second"` // input text bytes per second, after decompression
	Seconds       float64      `json:"seconds"`
	// Notes say what the user should know about the run: a stale lock taken over.
	Notes []string `json:"notes,omitempty"`
	// EvalShards and EvalShardBytes describe the held-out set in EvalDirName (EvalFraction).
	EvalShards     int   `json:"eval_shards,omitempty"`
	EvalShardBytes int64 `json:"eval_shard_bytes,omitempty"`
}

// EvalDirName is the directory, inside the output directory, that holds the held-out set of a
// run with an EvalFraction: a shard set of its own, with its own manifest.
const EvalDirName = "eval"

// MetaSplit is the schema metadata key that marks the shards of the held-out set ("eval").
const MetaSplit = "kiln.split"

// StatsName is the file Prep writes its summary to, beside manifest.json.
const StatsName = "prep-stats.json"

// Prep runs the prep stages over a corpus into compressed Arrow shards in o.Dir, with a
// manifest. A directory that holds an interrupted run of the same configuration is resumed:
// complete shards are kept and checked, and the result is the same as an uninterrupted run.
// With an EvalFraction, the held-out documents' rows go to a second shard set in
// o.Dir/EvalDirName, resumed the same way; it is closed before the main set, so that a main
// manifest.json means both sets are complete.
func Prep(ctx context.Context, e *Examples, o ShardOptions) (*PrepSummary, error) {
	return prepWith(ctx, e, o, nil)
}

// prepWith is Prep that also hands each row, once written, to tee (when not nil).
func prepWith(ctx context.Context, e *Examples, o ShardOptions, tee func(*shards.Row) error) (sum *PrepSummary, err error) {
	start := time.Now()
	// One run at a time writes into a directory.
	lock, lockNote, err := lockDir(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", o.Dir, err)
	}
	defer func() {
		if uerr := lock.unlock(); uerr != nil && err == nil {
			sum, err = nil, fmt.Errorf("output %s: %w", o.Dir, uerr)
		}
	}()
	if err := checkNoPartitionedRun(o.Dir); err != nil { // partition_local.go
		return nil, err
	}
	cfg := e.Config()
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	vocab := e.Tokenizer().Vocab()
	sp := e.Tokenizer().Special()
	// The same command again resumes an interrupted run (or checks a finished one).
	newWriter := func(dir string, meta map[string]string) (*shards.Writer, error) {
		resume := false
		for _, name := range []string{shards.ProgressName, shards.ManifestName} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				resume = true
			}
		}
		md := map[string]string{
			shards.MetaVersion:     o.Version,
			shards.MetaVocabSHA256: vocab.SHA256(),
		}
		for k, v := range meta {
			md[k] = v
		}
		return shards.NewWriter(shards.Options{
			Dir: dir, Layout: o.Layout,
			Static: cfg.Masking == masking.Static, VocabSize: vocab.Size(),
			MaxSeqLen: cfg.MaxSeqLen, Special: sp,
			Task: e.Task(), MaxPredictions: cfg.MaxPredictions,
			Metadata: md, Config: cfgJSON, Resume: resume,
		})
	}
	w, err := newWriter(o.Dir, nil)
	if err != nil {
		return nil, err
	}
	var ew *shards.Writer // the held-out set's; nil without EvalFraction
	if cfg.EvalFraction > 0 {
		evalDir := filepath.Join(o.Dir, EvalDirName)
		if err := os.MkdirAll(evalDir, 0o755); err != nil {
			return nil, errors.Join(fmt.Errorf("output %s: %w", evalDir, err), w.Abort())
		}
		if ew, err = newWriter(evalDir, map[string]string{MetaSplit: "eval"}); err != nil {
			return nil, errors.Join(fmt.Errorf("output %s: %w", evalDir, err), w.Abort())
		}
	}
	var writeEval func(*shards.Row) error
	if ew != nil {
		writeEval = ew.Write
	}
	write := w.Write
	if tee != nil {
		write = func(r *shards.Row) error {
			if err := w.Write(r); err != nil {
				return err
			}
			return tee(r)
		}
	}
	runErr := e.RunSplit(ctx, write, writeEval)
	if runErr != nil {
		errs := []error{runErr, w.Abort()}
		if ew != nil {
			errs = append(errs, ew.Abort())
		}
		return nil, errors.Join(errs...)
	}
	stats := e.Stats()
	// Each set's manifest lists every file read, with the documents of that file in the set
	// (the skipped ones are counted in the main set).
	var inputs, evalInputs []shards.Input
	for _, f := range stats.Source.PerFile {
		held := stats.EvalPerFile[f.Path]
		inputs = append(inputs, shards.Input{Path: f.Path, Bytes: f.Bytes, Documents: f.Documents - held, Skipped: f.Skipped})
		evalInputs = append(evalInputs, shards.Input{Path: f.Path, Bytes: f.Bytes, Documents: held})
	}
	var em *shards.Manifest
	if ew != nil {
		ew.SetInputs(evalInputs)
		if em, err = ew.Close(); err != nil {
			return nil, errors.Join(err, w.Abort())
		}
	}
	w.SetInputs(inputs)
	m, err := w.Close()
	if err != nil {
		return nil, err
	}
	sum = &PrepSummary{
		Version: o.Version, Examples: stats, Shards: len(m.Shards), ShardBytes: m.Bytes,
		Seconds: time.Since(start).Seconds(),
	}
	if em != nil {
		sum.EvalShards, sum.EvalShardBytes = len(em.Shards), em.Bytes
	}
	if lockNote != "" {
		sum.Notes = append(sum.Notes, lockNote)
	}
	if m.Tokens > 0 {
		sum.BytesPerToken = float64(m.Bytes) / float64(m.Tokens)
	}
	if sum.Seconds > 0 {
		sum.MBPerSecond = float64(stats.Source.TextBytes) / 1e6 / sum.Seconds
	}
	if err := atomicfile.WriteJSON(filepath.Join(o.Dir, StatsName), sum); err != nil {
		return nil, err
	}
	return sum, nil
}
