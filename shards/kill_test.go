package shards

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-bert/kiln/internal/testenv"
)

// killDirEnv, when set, makes the test binary the child process of
// TestResumeAfterKill (see TestMain): it writes part of the rows into the
// directory it names, says so, and waits to be killed.
const killDirEnv = "KILN_SHARDS_KILL_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(killDirEnv); dir != "" {
		if err := killChild(dir); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
	}
	os.Exit(m.Run())
}

// killRows are the rows TestResumeAfterKill writes, in the child and in the test.
func killRows(vocab string, sotu []string) ([]Row, error) {
	fx, err := newFixture(vocab)
	if err != nil {
		return nil, err
	}
	return fx.build(sotu, 128, 3000, true, 51, false)
}

// killChild writes part of the rows into dir, prints "written" and blocks.
func killChild(dir string) error {
	var args struct{ Vocab, SOTU []string }
	if err := json.Unmarshal([]byte(os.Getenv(killArgsEnv)), &args); err != nil || len(args.Vocab) != 1 {
		return fmt.Errorf("%s: %q: %v", killArgsEnv, os.Getenv(killArgsEnv), err)
	}
	rows, err := killRows(args.Vocab[0], args.SOTU)
	if err != nil {
		return err
	}
	w, err := NewWriter(baseOptions(dir, true))
	if err != nil {
		return err
	}
	for i := range rows[:2450] {
		if err := w.Write(&rows[i]); err != nil {
			return err
		}
	}
	os.Stdout.WriteString("written\n")
	for {
		time.Sleep(time.Hour) // killed here, mid-shard (a sleep, not select{}: the runtime would call that a deadlock and exit)
	}
}

// killArgsEnv carries the vocabulary and corpus files to the child, as JSON.
const killArgsEnv = "KILN_SHARDS_KILL_ARGS"

// TestResumeAfterKill kills a writing process with SIGKILL, reruns the same
// rows with Resume, and expects exactly the shards of an uninterrupted run.
func TestResumeAfterKill(t *testing.T) {
	vocab, sotu := testenv.Vocab(t), testenv.SOTU(t)
	rows, err := killRows(vocab, sotu)
	if err != nil {
		t.Fatal(err)
	}
	ref, dir := t.TempDir(), t.TempDir()
	want := writeAll(t, baseOptions(ref, true), rows)

	args, err := json.Marshal(map[string][]string{"Vocab": {vocab}, "SOTU": sotu})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), killDirEnv+"="+dir, killArgsEnv+"="+string(args))
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	cmd.Process.Signal(syscall.SIGKILL)
	werr := cmd.Wait()
	if err != nil || line != "written\n" {
		t.Fatalf("child: %q %v", line, err)
	}
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child was not killed mid-shard: it ended with %v", werr)
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
