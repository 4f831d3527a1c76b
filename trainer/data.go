package trainer

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kiln-bert/kiln/internal/fielddiff"
	"github.com/kiln-bert/kiln/pairing"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/shards/shardvocab"
)

// CheckShards reads DIR/manifest.json and checks, without reading any row, that the trainer
// can read the shards it lists: that DIR is a kiln shards directory, that the manifest lists
// shards, that each of them exists with the size the manifest records (a cheap stand-in for
// the sha256 that kiln verify checks), and that the manifest's info (task, special ids,
// max_seq_len, vocab_size) is valid and the first shard's schema says the same. Errors name
// the directory, the manifest or the shard; shards that differ from their manifest are a
// *shards.MismatchError.
func CheckShards(dir string) (*shards.Manifest, error) {
	mpath := filepath.Join(dir, shards.ManifestName)
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("shards directory: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("%s is not a kiln shards directory: it is a file", dir)
	}
	m, err := shards.ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		if _, perr := os.Stat(filepath.Join(dir, shards.ProgressName)); perr == nil {
			return nil, fmt.Errorf("%s is not a finished kiln shards directory: it has %s but no %s (a prep run was interrupted: rerun it to finish)",
				dir, shards.ProgressName, shards.ManifestName)
		}
		return nil, fmt.Errorf("%s is not a kiln shards directory (no %s; an interrupted prep leaves %s: rerun it to finish)",
			dir, shards.ManifestName, shards.ProgressName)
	}
	if err != nil {
		return nil, err // names the manifest
	}
	if err := m.Info.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", mpath, err)
	}
	// The model is sized by vocab_size: it must be the size of the vocabulary the manifest
	// names (when that is still where the manifest says; shards moved without it are held to
	// shards.MaxVocabSize only).
	if err := shardvocab.Check(dir, m); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	if len(m.Shards) == 0 {
		return nil, fmt.Errorf("%s lists no shards", mpath)
	}
	if err := m.CheckListing(); err != nil {
		return nil, &shards.MismatchError{Dir: dir, Err: fmt.Errorf("%s: %w", mpath, err)}
	}
	for _, sh := range m.Shards {
		if err := shards.CheckSize(dir, sh); err != nil {
			return nil, err
		}
	}
	// The first shard's schema must say the same as the manifest.
	first := filepath.Join(dir, filepath.FromSlash(m.Shards[0].File))
	r, err := shards.Open(first)
	if err != nil {
		return nil, fmt.Errorf("%s (listed in %s): %w", first, mpath, err)
	}
	info := r.Info()
	r.Close()
	if info != m.Info {
		return nil, shards.Mismatch(dir, "%s: info differs from the schema metadata of %s: %s",
			mpath, m.Shards[0].File, infoDiff(m.Info, info))
	}
	return m, nil
}

// infoDiff names the fields of the manifest's info that differ from a shard's.
func infoDiff(manifest, shard shards.Info) string {
	return strings.Join(fielddiff.Diffs(manifest, shard, "in the manifest", "in the shard"), "; ")
}

// checkModelData checks that a model of shape c can read the rows the manifest of dir
// describes: ids inside its vocabulary, rows no longer than its positions, token types of
// two-segment tasks inside its type vocabulary; and, when the model records the sha256 of the
// vocabulary it was trained with (vocabSHA256, "" for none), that the shards were made with
// the same one.
func checkModelData(dir string, m *shards.Manifest, c Config, vocabSHA256 string) error {
	mpath := filepath.Join(dir, shards.ManifestName)
	in := m.Info
	if got := m.Metadata[shards.MetaVocabSHA256]; vocabSHA256 != "" && got != "" && got != vocabSHA256 {
		return fmt.Errorf("%s: the shards were made with another vocabulary (%s %s) than the model's training data (%s)",
			mpath, shards.MetaVocabSHA256, got, vocabSHA256)
	}
	switch {
	case in.VocabSize > c.VocabSize:
		return fmt.Errorf("%s: the shards' vocabulary (%d ids) is larger than the model's vocab_size %d", mpath, in.VocabSize, c.VocabSize)
	case in.MaxSeqLen > c.MaxPositions:
		return fmt.Errorf("%s: rows of up to max_seq_len %d tokens, more than the model's max_position_embeddings %d", mpath, in.MaxSeqLen, c.MaxPositions)
	case in.Task != pairing.None && c.TypeVocabSize < 2:
		return fmt.Errorf("%s: task %s rows have two segments (token types 0 and 1), but the model's type_vocab_size is %d", mpath, in.Task, c.TypeVocabSize)
	}
	return nil
}

// dataIdentity identifies the shards a manifest lists: the sha256 of their file names and
// sha256s, one "file sha256" line each in manifest order. The same shards copied or moved
// elsewhere keep it; other shards (other text, settings or vocabulary) change it.
func dataIdentity(m *shards.Manifest) string {
	h := sha256.New()
	for _, sh := range m.Shards {
		fmt.Fprintf(h, "%s %s\n", sh.File, sh.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}
