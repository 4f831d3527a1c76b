package shards

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

// TestKillChild is the child process of TestResumeAfterKill: it writes part
// of the rows, says so, and waits to be killed.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("KILN_SHARDS_KILL_DIR")
	if dir == "" {
		t.Skip("child process of TestResumeAfterKill")
	}
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 3000, true, 51)
	w, err := NewWriter(baseOptions(dir, true))
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows[:2450] {
		if err := w.Write(&rows[i]); err != nil {
			t.Fatal(err)
		}
	}
	os.Stdout.WriteString("written\n")
	select {} // killed here, mid-shard
}

// TestResumeAfterKill kills a writing process with SIGKILL, reruns the same
// rows with Resume, and expects exactly the shards of an uninterrupted run.
func TestResumeAfterKill(t *testing.T) {
	fx := loadFixture(t)
	rows := fx.rows(t, "sotu", 128, 3000, true, 51)
	ref, dir := t.TempDir(), t.TempDir()
	want := writeAll(t, baseOptions(ref, true), rows)

	cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "KILN_SHARDS_KILL_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if err != nil || line != "written\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, ".shard-*.tmp")); len(tmps) != 1 {
		t.Fatalf("after the kill: temporary shards %v, want one", tmps)
	}
	if prog, err := readManifestFile(filepath.Join(dir, ProgressName)); err != nil || len(prog.Shards) == 0 {
		t.Fatalf("after the kill: progress %v, %v: want completed shards", prog, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); err == nil {
		t.Fatal("killed run left a manifest")
	}
	o := baseOptions(dir, true)
	o.Resume = true
	got := writeAll(t, o, rows)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("resumed manifest differs from the uninterrupted run's")
	}
	for _, sh := range got.Shards {
		a, _ := os.ReadFile(filepath.Join(ref, sh.File))
		b, _ := os.ReadFile(filepath.Join(dir, sh.File))
		if string(a) != string(b) {
			t.Fatalf("%s differs from the uninterrupted run", sh.File)
		}
	}
	if rep, err := Verify(dir); err != nil || !rep.OK() {
		t.Fatalf("verify after resume: %v %v", err, rep.Failures)
	}
}
