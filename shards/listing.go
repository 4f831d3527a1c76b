package shards

import (
	"fmt"
	"path"
	"strings"
)

// CheckShardName checks a shard file name as a manifest records it: relative, slash-separated,
// clean, and inside the directory (no "..", no absolute path, no backslash). Every reader of a
// manifest (verify, inspect, train, loss) goes through it before it opens a shard.
func CheckShardName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty shard file name")
	case path.IsAbs(name) || strings.HasPrefix(name, "\\") || len(name) > 1 && name[1] == ':':
		return fmt.Errorf("shard file name %q is absolute: it must be relative to the manifest's directory", name)
	case strings.Contains(name, "\\"):
		return fmt.Errorf("shard file name %q holds a backslash: names are slash-separated", name)
	case path.Clean(name) != name:
		return fmt.Errorf("shard file name %q is not clean (want %q)", name, path.Clean(name))
	case name == ".." || strings.HasPrefix(name, "../"):
		return fmt.Errorf("shard file name %q leads outside the manifest's directory", name)
	}
	return nil
}

// CheckListing checks what a manifest says of its shards before any is read: every file name
// safe (CheckShardName), no shard listed twice, and the totals (rows, tokens, bytes) equal to
// the sums over the shards. Errors name the shard.
func (m *Manifest) CheckListing() error {
	var rows, tokens, size int64
	seen := make(map[string]bool, len(m.Shards))
	for i, sh := range m.Shards {
		if err := CheckShardName(sh.File); err != nil {
			return fmt.Errorf("shard %d: %w", i, err)
		}
		if seen[sh.File] {
			return fmt.Errorf("shard %s is listed twice", sh.File)
		}
		seen[sh.File] = true
		if sh.Rows < 0 || sh.Tokens < 0 || sh.Bytes < 0 {
			return fmt.Errorf("shard %s: negative rows, tokens or bytes (%d, %d, %d)", sh.File, sh.Rows, sh.Tokens, sh.Bytes)
		}
		rows += sh.Rows
		tokens += sh.Tokens
		size += sh.Bytes
	}
	if rows != m.Rows || tokens != m.Tokens || size != m.Bytes {
		return fmt.Errorf("totals rows=%d tokens=%d bytes=%d, but the shards add up to %d, %d, %d", m.Rows, m.Tokens, m.Bytes, rows, tokens, size)
	}
	return nil
}
