package shards

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// A run that stops in Close after its last shard is renamed into place but before
// manifest.json is written (here: the manifest cannot be created) leaves .progress.json as
// it was before that shard: Close does not rewrite it (nor fsync the directory for the
// shard: the manifest's fsync covers it). A rerun writes the last shard again and ends with
// the same shards and manifest as an uninterrupted run.
func TestCloseStopBeforeManifest(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 3000, true, 7)
	want := writeAll(t, baseOptions(t.TempDir(), true), rows)
	if len(want.Shards) < 2 {
		t.Fatalf("%d shards: want several", len(want.Shards))
	}

	dir := t.TempDir()
	o := baseOptions(dir, true)
	w, err := NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	// The manifest's temporary file cannot be created: a directory is in its place.
	block := filepath.Join(dir, "."+ManifestName+".tmp")
	if err := os.Mkdir(block, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Close(); err == nil {
		t.Fatal("Close succeeded without writing manifest.json")
	}
	last := want.Shards[len(want.Shards)-1].File
	if _, err := os.Stat(filepath.Join(dir, last)); err != nil {
		t.Fatalf("the last shard is not in place: %v", err)
	}
	prog, err := readManifestFile(filepath.Join(dir, ProgressName))
	if err != nil {
		t.Fatal(err)
	}
	if len(prog.Shards) != len(want.Shards)-1 {
		t.Errorf(".progress.json lists %d shards, want %d: all but the last, which Close does not record there", len(prog.Shards), len(want.Shards)-1)
	}

	if err := os.Remove(block); err != nil {
		t.Fatal(err)
	}
	o.Resume = true
	m := writeAll(t, o, rows)
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("manifest after the rerun differs:\n got %+v\nwant %+v", m.Shards, want.Shards)
	}
	if _, err := os.Stat(filepath.Join(dir, ProgressName)); !os.IsNotExist(err) {
		t.Errorf("%s left after the rerun: %v", ProgressName, err)
	}
}

// A fresh run writes .progress.json only once a shard is complete: stopped before that (as
// kill -9 would leave it: a temporary shard), it leaves nothing to resume, and the same run
// started again in that directory, without Resume, gives the uninterrupted run's result.
func TestNoProgressBeforeFirstShard(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 3000, true, 8)
	want := writeAll(t, baseOptions(t.TempDir(), true), rows)

	dir := t.TempDir()
	o := baseOptions(dir, true)
	w, err := NewWriter(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows[:o.RowsPerBatch+1] { // one batch written to the first shard
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".shard-*.tmp")); len(tmps) != 1 {
		t.Fatalf("temporary shards %v, want one", tmps)
	}
	if _, err := os.Stat(filepath.Join(dir, ProgressName)); !os.IsNotExist(err) {
		t.Fatalf("%s before any shard is complete: %v, want none", ProgressName, err)
	}
	m := writeAll(t, o, rows) // not Resume: nothing to resume
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("manifest after the rerun differs:\n got %+v\nwant %+v", m.Shards, want.Shards)
	}
}
