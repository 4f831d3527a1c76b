package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestPrepLock: a prep run into a directory that another run is writing stops at once, with an
// error that names the holder (pid, host, start time) and the lock file, and touches nothing
// there. Two runs into one directory used to race, the loser failing on a raw rename error.
// The lock is let go when the run ends, and a lock file left by a run that died is taken over,
// and said so.
func TestPrepLock(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("flock(2) locks")
	}
	in := filepath.Join("..", "cmd", "kiln", "sample", "corpus", "moby_dick_chapter_001.txt")
	dir := t.TempDir()
	prep := func() (*PrepSummary, error) {
		ex, err := NewExamples(sampleConfig("text", in))
		if err != nil {
			t.Fatal(err)
		}
		return Prep(context.Background(), ex, ShardOptions{Dir: dir})
	}

	// Another run holds the directory (another open file of the lock, as another process's).
	held, _, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	_, err = prep()
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("prep while another run holds %s: %v, want ErrLocked", dir, err)
	}
	for _, want := range []string{fmt.Sprintf("pid %d", os.Getpid()), "host " + host, "started " + time.Now().UTC().Format("2006-01-02T"), filepath.Join(dir, LockName)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the refused run wrote into %s: %d entries", dir, len(entries))
	}
	if err := held.unlock(); err != nil {
		t.Fatal(err)
	}

	// Free: the run goes through and lets go of the lock.
	if _, err := prep(); err != nil {
		t.Fatalf("prep once the lock is free: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockName)); !os.IsNotExist(err) {
		t.Errorf("the run left its lock file: %v", err)
	}

	// A lock file left by a run that was killed (its process is gone): taken over, with a note.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := lockInfo{PID: cmd.Process.Pid, Host: host, Start: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	b, _ := json.Marshal(dead)
	if err := os.WriteFile(filepath.Join(dir, LockName), b, 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := prep()
	if err != nil {
		t.Fatalf("prep over a stale lock: %v", err)
	}
	if len(sum.Notes) != 1 || !strings.Contains(sum.Notes[0], "took over the lock") || !strings.Contains(sum.Notes[0], dead.String()) {
		t.Errorf("notes %q; want one saying the lock of %s was taken over", sum.Notes, dead)
	}
}
