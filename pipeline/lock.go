package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// LockName is the file a prep run holds locked in its output directory while it writes
// there, so that a second run into the same directory stops at once, saying who holds it.
const LockName = ".kiln-prep.lock"

// lockInfo is what a lock file says about its holder.
type lockInfo struct {
	PID   int       `json:"pid"`
	Host  string    `json:"host"`
	Start time.Time `json:"start"`
}

func (l lockInfo) String() string {
	return fmt.Sprintf("pid %d on host %s, started %s", l.PID, l.Host, l.Start.Format(time.RFC3339))
}

// ErrLocked is returned (wrapped) by Prep when another run holds its output directory.
var ErrLocked = fmt.Errorf("the output directory is in use by another kiln prep")

// thisHolder describes this process as a lock holder.
func thisHolder() lockInfo {
	host, err := os.Hostname()
	if err != nil {
		host = "?"
	}
	return lockInfo{PID: os.Getpid(), Host: host, Start: time.Now().UTC().Truncate(time.Second)}
}

// readLockInfo parses what a lock file holds; ok is false when it is empty or not a lock.
func readLockInfo(b []byte) (lockInfo, bool) {
	var l lockInfo
	if len(b) == 0 || json.Unmarshal(b, &l) != nil || l.PID == 0 {
		return l, false
	}
	return l, true
}
