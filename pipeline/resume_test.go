package pipeline

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-bert/kiln/shards"
)

// childEnv, when set in the environment of the test binary, makes it run one Prep described
// by the JSON value instead of the tests (see TestMain), so that tests can kill a real
// process mid-run and measure a run's peak memory on its own.
const childEnv = "KILN_PIPELINE_TEST_CHILD"

// childSpec is what a child process runs.
type childSpec struct {
	Config  ExampleConfig
	Workers int // not in ExampleConfig's JSON
	Shards  ShardOptions
}

// childResult is what a child prints on its last line.
type childResult struct {
	Rows    int64
	PeakRSS int64 // VmHWM, bytes
}

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		if err := runChild(spec); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runChild(spec string) error {
	var c childSpec
	if err := json.Unmarshal([]byte(spec), &c); err != nil {
		return err
	}
	c.Config.Workers = c.Workers
	sum, _, err := tryPrep(context.Background(), c.Config, c.Shards)
	if err != nil {
		return err
	}
	res := childResult{Rows: sum.Examples.Rows}
	res.PeakRSS, err = peakRSS()
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// peakRSS reads the process's peak resident set size (VmHWM) from /proc/self/status.
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

// childCmd returns the command that runs spec in a child process.
func childCmd(t *testing.T, spec childSpec) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	return cmd
}

// completedShards returns the shards recorded complete in dir's progress file.
func completedShards(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, shards.ProgressName))
	if err != nil {
		return 0
	}
	var m shards.Manifest
	if json.Unmarshal(b, &m) != nil {
		return 0
	}
	return len(m.Shards)
}

// checkInterrupted checks what an interrupted run left: no manifest, the shards recorded
// complete still match their checksums, and every shard file under its final name is a
// complete, readable shard (a partial one only ever has a temporary name). It returns the
// files of the shards recorded complete.
func checkInterrupted(t *testing.T, dir string) map[string]os.FileInfo {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, shards.ManifestName)); err == nil {
		t.Fatal("the interrupted run wrote its manifest: it was not interrupted")
	}
	b, err := os.ReadFile(filepath.Join(dir, shards.ProgressName))
	if err != nil {
		t.Fatal(err)
	}
	var m shards.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	kept := map[string]os.FileInfo{}
	for _, sh := range m.Shards {
		p := filepath.Join(dir, filepath.FromSlash(sh.File))
		data, err := os.ReadFile(p)
		if err != nil || int64(len(data)) != sh.Bytes {
			t.Errorf("%s recorded complete but missing or of another size (%v)", sh.File, err)
		}
		if fi, err := os.Stat(p); err == nil {
			kept[p] = fi
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "shard-*.arrow"))
	for _, f := range files {
		r, err := shards.Open(f)
		if err != nil {
			t.Errorf("%s left under its final name but unreadable: %v", f, err)
			continue
		}
		var row shards.Row
		for err == nil {
			err = r.Next(&row)
		}
		if !errors.Is(err, io.EOF) {
			t.Errorf("%s left under its final name but incomplete: %v", f, err)
		}
		r.Close()
	}
	t.Logf("interrupted with %d shards recorded complete, %d shard files", len(m.Shards), len(files))
	return kept
}

// checkKept fails the test unless the resumed run kept the shards an interrupted run had
// completed (the same files, not rewritten).
func checkKept(t *testing.T, kept map[string]os.FileInfo) {
	t.Helper()
	for p, before := range kept {
		after, err := os.Stat(p)
		if err != nil || !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
			t.Errorf("%s, complete before the resumed run, was rewritten or removed (%v)", p, err)
		}
	}
}

// TestPrepDeterminism checks that the shards and manifest depend only on the input and the
// seed: not on the number of workers, and not on an interruption (kill -9 of a real process,
// or a cancelled context) followed by the same run again.
func TestPrepDeterminism(t *testing.T) {
	cfg := testConfig(t, "text", sotuFiles(t, 3)...)
	cfg.Workers = 1
	cfg.ShuffleBuffer = 1000 // a tenth of the rows: shards complete while the source reads
	// Small shards and batches, so that a run writes many shards and can be interrupted
	// after the first ones.
	opts := func(dir string) ShardOptions {
		return ShardOptions{Dir: dir, ShardBytes: 48 << 10, RowsPerBatch: 256, Version: "test"}
	}
	ref := t.TempDir()
	runPrep(t, cfg, opts(ref))
	verifyDir(t, ref)
	m, err := shards.ReadManifest(ref)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Shards) < 10 {
		t.Fatalf("%d shards: want many, to interrupt a run between them", len(m.Shards))
	}

	t.Run("workers", func(t *testing.T) {
		c := cfg
		c.Workers = 2
		dir := t.TempDir()
		runPrep(t, c, opts(dir))
		sameOutput(t, ref, dir)
	})

	t.Run("seed", func(t *testing.T) {
		c := cfg
		c.Seed++
		dir := t.TempDir()
		runPrep(t, c, opts(dir))
		verifyDir(t, dir)
		other, err := shards.ReadManifest(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i := range min(len(m.Shards), len(other.Shards)) {
			if m.Shards[i].SHA256 == other.Shards[i].SHA256 {
				t.Errorf("%s is the same with seeds %d and %d", m.Shards[i].File, cfg.Seed, c.Seed)
			}
		}
	})

	t.Run("kill", func(t *testing.T) {
		if runtime.GOOS == "windows" {
			t.Skip("no SIGKILL")
		}
		dir := t.TempDir()
		cmd := childCmd(t, childSpec{Config: cfg, Workers: 2, Shards: opts(dir)})
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		deadline := time.Now().Add(2 * time.Minute)
		for completedShards(dir) < 1 {
			select {
			case err := <-exited:
				t.Fatalf("the child ended before it could be killed (%v): %s", err, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatal("no shard completed within 2 minutes")
			}
			time.Sleep(time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		err := <-exited
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("the child was not killed: %v", err)
		}
		kept := checkInterrupted(t, dir)
		runPrep(t, cfg, opts(dir))
		checkKept(t, kept)
		verifyDir(t, dir)
		sameOutput(t, ref, dir)
	})

	t.Run("cancel", func(t *testing.T) {
		dir := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for ctx.Err() == nil && completedShards(dir) < 2 {
				time.Sleep(time.Millisecond)
			}
			cancel()
		}()
		_, _, err := tryPrep(ctx, cfg, opts(dir))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled prep returned %v, want context.Canceled", err)
		}
		kept := checkInterrupted(t, dir)
		runPrep(t, cfg, opts(dir))
		checkKept(t, kept)
		verifyDir(t, dir)
		sameOutput(t, ref, dir)
	})

	t.Run("rerun-finished", func(t *testing.T) {
		// The same command over a finished run checks it and leaves it as it was.
		dir := t.TempDir()
		runPrep(t, cfg, opts(dir))
		runPrep(t, cfg, opts(dir))
		verifyDir(t, dir)
		sameOutput(t, ref, dir)
	})
}

// TestPrepMemoryBounded runs Prep in a child process over a corpus and over ten copies of it,
// and compares the peak resident memory of the two: the stages hold bounded buffers (the
// shuffle buffer, the pairing reservoir, the ordered queues, the record batch being built),
// so ten times the text must not take more memory. The buffers are set small enough for the
// single corpus (all of SOTU, 10.8 MB) to fill them, and it is long enough for the garbage
// collector to reach its steady state: the live heap stays at 25-50 MiB, the peak is about
// twice that, with spikes from the ~16 MiB of zstd history that Arrow allocates for each
// record batch it writes. A smaller single corpus ends before that steady state and fails
// the comparison without any growth.
func TestPrepMemoryBounded(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the peak RSS from /proc/self/status (Linux)")
	}
	files := sotuFiles(t, 1)
	tenfold := t.TempDir()
	for i := range 10 {
		sub := filepath.Join(tenfold, fmt.Sprintf("copy-%02d", i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if err := os.Symlink(f, filepath.Join(sub, filepath.Base(f))); err != nil {
				t.Fatal(err)
			}
		}
	}
	run := func(inputs ...string) childResult {
		cfg := testConfig(t, "text", inputs...)
		cfg.ShuffleBuffer = 1000
		cfg.ReservoirDocs = 40
		opts := ShardOptions{Dir: t.TempDir(), ShardBytes: 1 << 20, RowsPerBatch: 2048}
		cmd := childCmd(t, childSpec{Config: cfg, Workers: 2, Shards: opts})
		// A tighter collector target makes the peak depend less on when a collection
		// happens to run, on both sides alike.
		cmd.Env = append(cmd.Env, "GOGC=50")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child: %v: %s", err, stderr.String())
		}
		var res childResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("child output %q: %v", out, err)
		}
		return res
	}
	// Each size runs twice and keeps its lower peak: the peak of one run depends on when the
	// collector happens to run, and the lower of two is steadier, on both sides alike.
	lower := func(a, b childResult) childResult {
		if b.PeakRSS < a.PeakRSS {
			return b
		}
		return a
	}
	one := lower(run(files...), run(files...))
	ten := lower(run(tenfold), run(tenfold))
	t.Logf("1x: %d rows, peak RSS %.1f MiB; 10x: %d rows, peak RSS %.1f MiB (lower of two runs each)",
		one.Rows, float64(one.PeakRSS)/(1<<20), ten.Rows, float64(ten.PeakRSS)/(1<<20))
	if ten.Rows < 9*one.Rows {
		t.Fatalf("the tenfold corpus made %d rows, the single one %d", ten.Rows, one.Rows)
	}
	if float64(ten.PeakRSS) > 1.5*float64(one.PeakRSS) {
		t.Errorf("peak RSS grew from %d MiB to %d MiB with ten times the corpus", one.PeakRSS>>20, ten.PeakRSS>>20)
	}
}
