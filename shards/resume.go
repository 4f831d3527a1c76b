package shards

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/internal/fileio"
)

// prepareDir removes stale temporary files and, when resuming, loads the
// shards completed by an earlier run and records those kept in
// DIR/.progress.json.
func (w *Writer) prepareDir() error {
	dir := w.o.Dir
	for _, s := range w.series {
		tmps, _ := filepath.Glob(filepath.Join(dir, s.dir, ".shard-*.tmp"))
		for _, t := range tmps {
			if err := os.Remove(t); err != nil {
				return fmt.Errorf("removing stale %s: %w", t, err)
			}
		}
	}
	for _, n := range []string{"." + ManifestName + ".tmp", "." + ProgressName + ".tmp"} {
		os.Remove(filepath.Join(dir, n))
	}

	var old *Manifest
	for _, n := range []string{ProgressName, ManifestName} {
		m, err := readManifestFile(filepath.Join(dir, n))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		old = m
		break
	}
	if old == nil {
		existing, _ := filepath.Glob(filepath.Join(dir, "shard-*.arrow"))
		binned, _ := filepath.Glob(filepath.Join(dir, "bin-*", "shard-*.arrow"))
		if len(existing)+len(binned) > 0 && !w.o.Resume {
			return fmt.Errorf("%s holds shard files but no manifest: use an empty directory or Resume", dir)
		}
		// A fresh run: .progress.json is first written when a shard is complete (before,
		// a rerun has nothing to keep and starts afresh), and a run whose shards are all
		// completed in Close writes only the manifest.
		return nil
	}
	if !w.o.Resume {
		return fmt.Errorf("%s already holds a run (%s): use an empty directory or Resume", dir, ManifestName)
	}
	if diff := settingsDiff(old, w.progress); len(diff) > 0 {
		return fmt.Errorf("%s holds a run with different settings (%s): cannot resume it; use another directory, or the same settings",
			dir, strings.Join(diff, "; "))
	}
	// Keep, per series, the leading shards whose files still match.
	bad := map[int]bool{}
	for _, sh := range old.Shards {
		s := w.seriesOf(sh.Bin)
		if s == nil || bad[sh.Bin] || path.Join(s.dir, shardName(len(s.done))) != sh.File {
			bad[sh.Bin] = true
			continue
		}
		size, sum, err := fileio.SHA256(filepath.Join(dir, filepath.FromSlash(sh.File)))
		if err != nil || size != sh.Bytes || sum != sh.SHA256 {
			bad[sh.Bin] = true
			continue
		}
		s.done = append(s.done, sh)
		w.progress.Shards = append(w.progress.Shards, sh)
	}
	return w.saveProgress()
}

// skip accounts for a row that belongs to a shard completed by an earlier run.
func (w *Writer) skip(s *series) error {
	sh := s.done[s.next]
	if s.rows < sh.Rows {
		return nil
	}
	if sh.RowsXXH3 == "" {
		return fmt.Errorf("resume: %s was recorded without rows_xxh3 (by an older kiln): cannot check it; start again in an empty directory", sh.File)
	}
	if rowsSum(s.rowsHash) != sh.RowsXXH3 || s.tokens != sh.Tokens {
		return fmt.Errorf("resume: rows regenerated for %s differ from those the earlier run wrote there (same input and seed?)", sh.File)
	}
	s.next++
	s.rows, s.tokens = 0, 0
	s.rowsHash.Reset()
	return nil
}

func (w *Writer) saveProgress() error {
	if err := atomicfile.WriteJSON(filepath.Join(w.o.Dir, ProgressName), w.progress); err != nil {
		return err
	}
	return nil
}
