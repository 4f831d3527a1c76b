//go:build !unix

package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dirLock is a held lock on an output directory.
type dirLock struct{ path string }

// lockDir takes the lock of dir by making dir/LockName, which must not exist. Without
// flock(2), a lock left by a run that died cannot be told from a live one: the error says
// whose it is, and to remove it once that run is gone.
func lockDir(dir string) (*dirLock, string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, LockName)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		holder := "an unknown process"
		if b, rerr := os.ReadFile(path); rerr == nil {
			if info, ok := readLockInfo(b); ok {
				holder = info.String()
			}
		}
		return nil, "", fmt.Errorf("%w: %s holds %s (remove the file if that run is gone)", ErrLocked, holder, path)
	}
	if err != nil {
		return nil, "", fmt.Errorf("lock %s: %w", path, err)
	}
	me, _ := json.Marshal(thisHolder())
	_, err = f.Write(append(me, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, "", fmt.Errorf("lock %s: %w", path, err)
	}
	return &dirLock{path: path}, "", nil
}

// unlock removes the lock file.
func (l *dirLock) unlock() error { return os.Remove(l.path) }
