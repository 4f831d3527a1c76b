package fileio

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
)

// SHA256 gives the size and digest crypto/sha256 gives for the file's bytes, and refuses what
// OpenRegular refuses (a directory, a device behind a link) instead of reading it.
func TestSHA256(t *testing.T) {
	dir := t.TempDir()
	data := []byte("the first shard of a run\n")
	p := filepath.Join(dir, "shard-00000.arrow")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	n, sum, err := SHA256(p)
	want := sha256.Sum256(data)
	if err != nil || n != int64(len(data)) || sum != hex.EncodeToString(want[:]) {
		t.Errorf("SHA256(%s) = %d, %s, %v; want %d, %x", p, n, sum, err, len(data), want)
	}
	zero := filepath.Join(dir, "zero.arrow")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{dir, zero, filepath.Join(dir, "missing.arrow")} {
		if _, _, err := SHA256(bad); err == nil {
			t.Errorf("SHA256(%s): no error", bad)
		}
	}
}
