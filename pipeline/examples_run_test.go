package pipeline

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kiln-bert/kiln/masking"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/trainer"
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

// TestStreamEpochs: pretrain's stream runs epoch e with first.WithSeed(seed + e), and gives
// exactly the rows that a value made anew by NewExamples with that seed gives (as the stream
// did when it rebuilt its Examples every epoch), masked as the trainer masks them; a stream
// started within the second epoch (a resume) gives the same rows from there.
func TestStreamEpochs(t *testing.T) {
	const seed = 5
	cfg := testConfig(t, "text", sotuFiles(t)[:2]...)
	cfg.Masking, cfg.Seed, cfg.ShuffleBuffer = masking.Dynamic, seed, 100
	first, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	masker, err := masking.New(first.MaskingConfig(), first.maskVoc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var want [2][]trainer.Example
	for e := range want {
		c := cfg
		c.Seed = seed + uint64(e)
		ex, err := NewExamples(c)
		if err != nil {
			t.Fatal(err)
		}
		if err := ex.Run(ctx, func(r *shards.Row) error {
			want[e] = append(want[e], trainer.NewExample(r, masker, seed, trainer.Position{Epoch: e, Row: int64(len(want[e]))}))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if reflect.DeepEqual(want[0], want[1]) || len(want[1]) < 20 {
		t.Fatalf("the two epochs' rows (%d, %d) are the same or too few", len(want[0]), len(want[1]))
	}
	read := func(start trainer.Position) []trainer.Example {
		t.Helper()
		s, err := NewStream(ctx, first, StreamConfig{BatchSize: 7, Seed: seed}, start)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var got []trainer.Example
		for {
			b, err := s.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, b.Rows...)
			if b.Next.Epoch > 1 || b.Next.Epoch == 1 && b.Next.Row >= int64(len(want[1])) {
				return got
			}
		}
	}
	if got, all := read(trainer.Position{}), append(want[0], want[1]...); !reflect.DeepEqual(got, all) {
		t.Errorf("the stream's first two epochs (%d rows) differ from fresh runs of seeds %d and %d (%d rows)", len(got), seed, seed+1, len(all))
	}
	if got := read(trainer.Position{Epoch: 1, Row: 9}); !reflect.DeepEqual(got, want[1][9:]) {
		t.Errorf("a stream started at epoch 1, row 9 gives %d rows unlike the epoch's from row 9 (%d)", len(got), len(want[1])-9)
	}
}
