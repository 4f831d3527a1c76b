package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kiln-bert/kiln/shards"
)

// ShardOptions says how Prep writes its shards.
type ShardOptions struct {
	Dir          string // output directory
	Compression  string // zstd, lz4 or none
	ArrowFormat  string // file or stream
	ShardBytes   int64  // rotation size; 0 means shards.DefaultShardBytes
	RowsPerBatch int    // rows per Arrow record batch; 0 means shards.DefaultRowsPerBatch
	Bins         []int  // length bins (NVIDIA LDDL's binning); nil for none
	Version      string // kiln's version, stored in the metadata
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
}

// StatsName is the file Prep writes its summary to, beside manifest.json.
const StatsName = "prep-stats.json"

// Prep runs the prep stages over a corpus into compressed Arrow shards in o.Dir, with a
// manifest. A directory that holds an interrupted run of the same configuration is resumed:
// complete shards are kept and checked, and the result is the same as an uninterrupted run.
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
	cfg := e.Config()
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	vocab := e.Tokenizer().Vocab()
	sp := e.Tokenizer().Special()
	// The same command again resumes an interrupted run (or checks a finished one).
	resume := false
	for _, name := range []string{shards.ProgressName, shards.ManifestName} {
		if _, err := os.Stat(filepath.Join(o.Dir, name)); err == nil {
			resume = true
		}
	}
	w, err := shards.NewWriter(shards.Options{
		Dir: o.Dir, Compression: o.Compression, Format: o.ArrowFormat, ShardBytes: o.ShardBytes,
		RowsPerBatch: o.RowsPerBatch, Static: cfg.Masking == "static", VocabSize: vocab.Size(),
		MaxSeqLen: cfg.MaxSeqLen, Special: shards.Special{PAD: sp.PAD, CLS: sp.CLS, SEP: sp.SEP, MASK: sp.MASK},
		Task: e.Task().String(), MaxPredictions: cfg.MaxPredictions, Bins: o.Bins,
		Metadata: map[string]string{
			shards.MetaVersion:     o.Version,
			shards.MetaVocabSHA256: vocab.SHA256(),
		},
		Config: cfgJSON, Resume: resume,
	})
	if err != nil {
		return nil, err
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
	runErr := e.Run(ctx, write)
	if runErr != nil {
		if err := w.Abort(); err != nil {
			return nil, errors.Join(runErr, err)
		}
		return nil, runErr
	}
	stats := e.Stats()
	var inputs []shards.Input
	for _, f := range stats.Source.PerFile {
		inputs = append(inputs, shards.Input{Path: f.Path, Bytes: f.Bytes, Documents: f.Documents, Skipped: f.Skipped})
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
	if lockNote != "" {
		sum.Notes = append(sum.Notes, lockNote)
	}
	if m.Tokens > 0 {
		sum.BytesPerToken = float64(m.Bytes) / float64(m.Tokens)
	}
	if sum.Seconds > 0 {
		sum.MBPerSecond = float64(stats.Source.TextBytes) / 1e6 / sum.Seconds
	}
	if err := writeJSONFile(filepath.Join(o.Dir, StatsName), sum); err != nil {
		return nil, err
	}
	return sum, nil
}

// writeJSONFile writes v as indented JSON to path with shards.WriteFileAtomic, so that path
// holds either the old content or the whole new one.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return shards.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}
