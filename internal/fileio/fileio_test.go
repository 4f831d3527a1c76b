package fileio

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadRegular(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small.json")
	if err := os.WriteFile(small, []byte(`{"a":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.json")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, tc := range []struct {
		name, path string
		max        int64
		want       error
		msg        string
	}{
		{"regular", small, 100, nil, ""},
		{"exact limit", small, 7, nil, ""},
		{"over limit", small, 6, ErrTooLarge, "7 bytes, more than the 6"},
		{"symlink to /dev/zero", zero, 1 << 20, ErrNotRegular, "character device"},
		{"FIFO", fifo, 1 << 20, ErrNotRegular, "FIFO"},
		{"directory", dir, 1 << 20, ErrNotRegular, "directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var b []byte
			var err error
			go func() { b, err = ReadRegular(tc.path, tc.max); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadRegular(%s) hangs", tc.path)
			}
			if tc.want == nil {
				if err != nil || string(b) != `{"a":1}` {
					t.Fatalf("got %q, %v", b, err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.path) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want %v naming %s and saying %q", err, tc.want, tc.path, tc.msg)
			}
		})
	}
}
