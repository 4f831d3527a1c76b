package pipeline

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kiln-bert/kiln/shards"
)

// TestExamplesRunAgain: an Examples value is a run that can be started again. A second Prep
// with the same value writes byte-identical shards (main and held-out sets) and reports the
// same counts (not twice them: each run has its own source, pairers and stats), and WithSeed
// gives exactly the shards a value made anew with that seed gives, without reloading the
// vocabulary. Before, a second run paired its first documents with the previous run's
// reservoir and added its counts to the previous run's.
func TestExamplesRunAgain(t *testing.T) {
	cfg := testConfig(t, "text", sotuFiles(t)[:6]...)
	cfg.EvalFraction = 0.2
	ex, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	prep := func(e *Examples, name string) *PrepSummary {
		t.Helper()
		sum, err := Prep(context.Background(), e, ShardOptions{Dir: filepath.Join(tmp, name), Version: "test"})
		if err != nil {
			t.Fatalf("prep %s: %v", name, err)
		}
		return sum
	}
	first := prep(ex, "first")
	again := prep(ex, "again")
	sameOutput(t, filepath.Join(tmp, "first"), filepath.Join(tmp, "again"))
	sameOutput(t, filepath.Join(tmp, "first", EvalDirName), filepath.Join(tmp, "again", EvalDirName))
	a, b := first.Examples, again.Examples
	a.Seconds, b.Seconds = 0, 0
	if !reflect.DeepEqual(a, b) {
		t.Errorf("the second run's counts differ from the first's:\nfirst %+v\nagain %+v", a, b)
	}
	if a.Rows == 0 || a.EvalRows == 0 {
		t.Fatalf("no rows in one of the sets: %+v", a)
	}

	const seed = 777
	reseeded, err := ex.WithSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	if reseeded.Tokenizer() != ex.Tokenizer() {
		t.Error("WithSeed loaded the tokenizer again")
	}
	cfg.Seed = seed
	fresh, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	prep(reseeded, "reseeded")
	prep(fresh, "fresh")
	sameOutput(t, filepath.Join(tmp, "reseeded"), filepath.Join(tmp, "fresh"))
	sameOutput(t, filepath.Join(tmp, "reseeded", EvalDirName), filepath.Join(tmp, "fresh", EvalDirName))
	if m, err := shards.ReadManifest(filepath.Join(tmp, "reseeded")); err != nil || m.Shards[0].SHA256 == mustManifest(t, filepath.Join(tmp, "first")).Shards[0].SHA256 {
		t.Errorf("seed %d made the shards of seed %d (or no manifest: %v)", seed, ex.Config().Seed, err)
	}
	// The value WithSeed was called on is unchanged: its next run is its first run again.
	prep(ex, "third")
	sameOutput(t, filepath.Join(tmp, "first"), filepath.Join(tmp, "third"))
}

func mustManifest(t *testing.T, dir string) *shards.Manifest {
	t.Helper()
	m, err := shards.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
