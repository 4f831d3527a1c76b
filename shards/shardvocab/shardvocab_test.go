package shardvocab

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
)

// TestCheck: the vocabulary a manifest names is used only when its sha256 matches, and
// vocab_size must be its size; a manifest naming none, or a vocabulary that is gone (an
// ErrNotExist), is left to the caller.
func TestCheck(t *testing.T) {
	sample, err := filepath.Abs("../../cmd/kiln/sample/vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	v, err := tokenize.LoadVocab(sample)
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.txt")
	os.WriteFile(other, []byte("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n"), 0o644)
	manifest := func(vocab string, size int) *shards.Manifest {
		m := &shards.Manifest{Info: shards.Info{VocabSize: size}, Metadata: map[string]string{shards.MetaVocabSHA256: v.SHA256()}}
		if vocab != "" {
			m.Config, _ = json.Marshal(map[string]string{"vocab": vocab})
		}
		return m
	}
	for _, tc := range []struct {
		name string
		m    *shards.Manifest
		want string // "" for no error
		gone bool   // an ErrNotExist expected
	}{
		{"its own vocabulary", manifest(sample, v.Size()), "", false},
		{"none named", manifest("", 12345), "", false},
		{"wrong size", manifest(sample, v.Size()+1), "vocab_size 30523", false},
		{"another file", manifest(other, 6), "is not the vocabulary", false},
		{"missing", manifest(filepath.Join(t.TempDir(), "gone.txt"), v.Size()), "gone.txt", true},
		{"device", manifest("/dev/zero", v.Size()), "not a regular file", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("DIR", tc.m)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Check: %v; want %q", err, tc.want)
			case tc.gone != errors.Is(err, os.ErrNotExist):
				t.Fatalf("Check: %v; ErrNotExist %v, want %v", err, errors.Is(err, os.ErrNotExist), tc.gone)
			}
		})
	}
}
