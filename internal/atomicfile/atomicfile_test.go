package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteKeepsOldContentOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "manifest.json")
	if err := WriteJSON(path, map[string]int{"rows": 1}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk full")
	err := Write(path, func(w io.Writer) error {
		if _, err := io.WriteString(w, `{"rows": 2, "trunc`); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Write error %v: want %v, naming %s", err, boom, path)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"rows\": 1\n}\n"; string(got) != want {
		t.Errorf("after a failed Write the file holds %q, want the old %q", got, want)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("after a failed Write the directory holds %d entries, want only the file (temporary removed)", len(ents))
	}
}

func TestWriteBytesReplaces(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vocab.txt")
	for _, content := range []string{"[PAD]\n[UNK]\n", "a\n"} {
		if err := WriteBytes(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(path); string(got) != content {
			t.Errorf("file holds %q, want %q", got, content)
		}
	}
}

func TestWriteMissingDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "file.json")
	if err := WriteJSON(path, 1); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("WriteJSON into a missing directory: %v, want an error naming %s", err, path)
	}
}
