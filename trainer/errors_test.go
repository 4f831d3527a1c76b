package trainer

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/shards"
)

// wantMismatch checks that err is a *shards.MismatchError for the shards directory dir: the
// error a front end turns into "run kiln verify DIR".
func wantMismatch(t *testing.T, err error, dir string) {
	t.Helper()
	var me *shards.MismatchError
	if !errors.As(err, &me) {
		t.Errorf("error %q is not a *shards.MismatchError", err)
		return
	}
	if me.Dir != dir {
		t.Errorf("error %q: MismatchError.Dir %s, want %s", err, me.Dir, dir)
	}
}

// TestTrainErrorsUnprefixed checks that Train's errors say what and where once, starting with
// the subject, with no package or layer prefixes stacked before it (the loader's error used to
// reach the user as "train: step 1: loader: DIR/shard has sha256 ..."), and name settings as
// TrainConfig's fields rather than as flags.
func TestTrainErrorsUnprefixed(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	writeShards(t, data, 60, false)
	man, err := shards.ReadManifest(data)
	if err != nil {
		t.Fatal(err)
	}
	// One byte of every shard changed, keeping its size: only the sha256 (read by the loader)
	// tells, whichever shard the epoch's order opens first.
	for _, sh := range man.Shards {
		p := filepath.Join(data, filepath.FromSlash(sh.File))
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := TrainConfig{Data: data, Out: t.TempDir(), Model: testConfig(), Optimizer: DefaultOptimizer(1e-3, 1, 2), Steps: 2,
		BatchSize: 8, Seed: 1, Masker: testMasker(t)}
	_, err = Train(ctx, cfg)
	if err == nil {
		t.Fatal("Train read shards whose sha256 differs from the manifest's")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, filepath.Join(data, "shard-")) || !strings.Contains(msg, " has sha256 ") {
		t.Errorf("error %q: want it to start with the shard's path and say its sha256 differs", msg)
	}
	wantMismatch(t, err, data)

	for _, tc := range []struct {
		name string
		edit func(*TrainConfig)
		want string
	}{
		{"batch size", func(c *TrainConfig) { c.BatchSize = 0 }, "BatchSize 0: want 1 to 16777216"},
		{"steps", func(c *TrainConfig) { c.Steps = -1 }, "Steps -1: want 1 to 1000000000"},
		{"lr", func(c *TrainConfig) { c.Optimizer.LR = 0 }, "Optimizer.LR 0: want a positive, finite learning rate"},
	} {
		c := cfg
		tc.edit(&c)
		if _, err := Train(ctx, c); err == nil || err.Error() != tc.want {
			t.Errorf("%s: error %v, want exactly %q", tc.name, err, tc.want)
		}
	}
}
