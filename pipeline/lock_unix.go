//go:build unix

package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// dirLock is a held lock on an output directory.
type dirLock struct {
	f    *os.File
	path string
}

// lockDir takes the lock of dir, making dir if it is missing. The lock is an flock(2) on
// dir/LockName, which the system lets go when its holder exits however it ends, so a lock
// file left by a run that died is never in the way: it is taken over, and note says whose it
// was. While another process holds it, lockDir fails at once (ErrLocked), naming the holder
// (pid, host, start time) and the file.
func lockDir(dir string) (l *dirLock, note string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	path := filepath.Join(dir, LockName)
	for attempt := 0; ; attempt++ {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, "", fmt.Errorf("lock %s: %w", path, err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
			b, _ := io.ReadAll(io.LimitReader(f, 4096))
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				holder := "a process that has not yet said who it is"
				if info, ok := readLockInfo(b); ok {
					holder = info.String()
				}
				return nil, "", fmt.Errorf("%w: %s holds %s (wait for it to end, or use another --output)", ErrLocked, holder, path)
			}
			return nil, "", fmt.Errorf("lock %s: %w", path, err)
		}
		// The holder before us removes the file as it lets go: if we locked a file that is no
		// longer at path, lock the one that is.
		fi, ferr := f.Stat()
		pi, perr := os.Stat(path)
		if ferr != nil || perr != nil || !os.SameFile(fi, pi) {
			f.Close()
			if attempt >= 10 {
				return nil, "", fmt.Errorf("lock %s: the file keeps changing under us", path)
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, 4096))
		if err != nil {
			f.Close()
			return nil, "", fmt.Errorf("lock %s: %w", path, err)
		}
		if prev, ok := readLockInfo(b); ok {
			note = fmt.Sprintf("took over the lock %s left by a run that ended without letting go of it (%s)", path, prev)
		}
		me, _ := json.Marshal(thisHolder())
		if err := f.Truncate(0); err == nil {
			_, err = f.WriteAt(append(me, '\n'), 0)
		}
		if err != nil {
			f.Close()
			return nil, "", fmt.Errorf("lock %s: %w", path, err)
		}
		return &dirLock{f: f, path: path}, note, nil
	}
}

// unlock removes the lock file and lets go of the lock.
func (l *dirLock) unlock() error {
	err := os.Remove(l.path)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
