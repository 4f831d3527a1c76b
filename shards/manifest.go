package shards

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"

	"github.com/kiln-bert/kiln/internal/fielddiff"
	"github.com/kiln-bert/kiln/internal/fileio"
)

// ManifestName is the file, in the output directory, that lists the shards.
const ManifestName = "manifest.json"

// ProgressName is the partial manifest updated after every completed shard,
// used to resume an interrupted run.
const ProgressName = ".progress.json"

// ManifestFormat identifies the manifest layout.
const ManifestFormat = "kiln-shards/1"

// Manifest lists every shard of a run with the settings that produced it.
// The same structure, with the shards completed so far, is kept in
// DIR/.progress.json while the writer runs.
type Manifest struct {
	Format      string            `json:"format"`       // ManifestFormat
	ArrowFormat IPCFormat         `json:"arrow_format"` // file or stream
	Compression Compression       `json:"compression"`  // zstd, lz4 or none
	ShardBytes  int64             `json:"shard_bytes"`  // rotation size
	Bins        []int             `json:"bins,omitempty"`
	Info        Info              `json:"info"`
	Metadata    map[string]string `json:"metadata,omitempty"` // caller's schema metadata
	Config      json.RawMessage   `json:"config,omitempty"`   // caller's full config
	Inputs      []Input           `json:"inputs,omitempty"`
	Rows        int64             `json:"rows"`
	Tokens      int64             `json:"tokens"`
	Bytes       int64             `json:"bytes"`
	Shards      []ShardInfo       `json:"shards"`
}

// ShardInfo describes one complete shard.
type ShardInfo struct {
	File   string `json:"file"`          // path relative to the output directory, slash-separated
	Bin    int    `json:"bin,omitempty"` // length bin upper bound, 0 without binning
	Rows   int64  `json:"rows"`
	Tokens int64  `json:"tokens"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"` // of the file
	// RowsXXH3 is the hex XXH3-128 of the shard's rows as stored, before
	// compression: per row its lengths and label, then each column's values
	// in their stored integer types. A resumed run checks that it
	// regenerates the same rows (a fast hash: SHA256 covers the file).
	RowsXXH3 string `json:"rows_xxh3"`
}

// Input is one input consumed by the run, as reported by the caller.
type Input struct {
	Path      string `json:"path"`
	Bytes     int64  `json:"bytes"`
	SHA256    string `json:"sha256,omitempty"`
	Documents int64  `json:"documents"`
	Skipped   int64  `json:"skipped,omitempty"`
}

// ReadManifest reads DIR/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	return readManifestFile(filepath.Join(dir, ManifestName))
}

func readManifestFile(path string) (*Manifest, error) {
	b, err := fileio.ReadRegular(path, fileio.MaxManifest)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.Format != ManifestFormat {
		return nil, fmt.Errorf("%s: format %q, want %q", path, m.Format, ManifestFormat)
	}
	return &m, nil
}

// settingsDiff names the settings that differ between the manifests a (on disk) and b (now):
// every field but the inputs and the shards, the run's config field by field (see fielddiff.Diffs).
func settingsDiff(a, b *Manifest) []string {
	strip := func(m *Manifest) *Manifest {
		c := *m
		c.Inputs, c.Shards, c.Rows, c.Tokens, c.Bytes = nil, nil, 0, 0, 0
		return &c
	}
	return fielddiff.Diffs(strip(a), strip(b), "(there)", "(now)")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
