package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
)

// evalOpts are the shard options of the held-out set tests: small shards, so that a run writes
// several and can be interrupted between them.
func evalOpts(dir string) ShardOptions {
	return ShardOptions{Dir: dir, Layout: shards.Layout{ShardBytes: 48 << 10, RowsPerBatch: 256}, Version: "test"}
}

// TestEvalSplit runs prep with an EvalFraction over the bundled sample and checks the two
// shard sets: both complete and valid, the held-out documents those the manifests say, their
// share near the fraction, every row's segments (NotNext partners included) found in the
// text of a document of its own set and of none of the other, and byte-identical output for
// 1 and 2 workers.
func TestEvalSplit(t *testing.T) {
	const fraction = 0.3
	corpus := sampleCorpus(t)
	cfg := testConfig(t, "text", corpus)
	cfg.EvalFraction = fraction
	cfg.Workers = 1
	dir := t.TempDir()
	sum, ex := runPrep(t, cfg, evalOpts(dir))
	evalDir := filepath.Join(dir, EvalDirName)
	verifyDir(t, dir)
	verifyDir(t, evalDir)

	m, err := shards.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	em, err := shards.ReadManifest(evalDir)
	if err != nil {
		t.Fatal(err)
	}
	var stored struct {
		EvalFraction float64 `json:"eval_fraction"`
	}
	if err := json.Unmarshal(m.Config, &stored); err != nil || stored.EvalFraction != fraction {
		t.Errorf("manifest config records eval_fraction %v (%v), want %v", stored.EvalFraction, err, fraction)
	}
	if em.Metadata[MetaSplit] != "eval" || m.Metadata[MetaSplit] != "" {
		t.Errorf("split metadata: main %q, eval %q", m.Metadata[MetaSplit], em.Metadata[MetaSplit])
	}

	// Which documents each set holds, as its manifest says (text format: one per file).
	if len(m.Inputs) != len(em.Inputs) || len(m.Inputs) != 51 {
		t.Fatalf("manifests list %d and %d inputs, want the sample's 51", len(m.Inputs), len(em.Inputs))
	}
	inEval := map[string]bool{}
	for i, in := range m.Inputs {
		held := em.Inputs[i]
		if held.Path != in.Path || in.Documents+held.Documents != 1 {
			t.Fatalf("input %d: main lists %s with %d documents, eval %s with %d", i, in.Path, in.Documents, held.Path, held.Documents)
		}
		inEval[in.Path] = held.Documents == 1
		if want := EvalDocument(cfg.Seed, docID(i, 0), fraction); inEval[in.Path] != want {
			t.Errorf("%s: held out %v, the seeded hash says %v", in.Path, inEval[in.Path], want)
		}
	}
	nEval := 0
	for _, e := range inEval {
		if e {
			nEval++
		}
	}
	// 51 documents at 0.3: 15.3 expected, standard deviation 3.3.
	if want := fraction * 51; math.Abs(float64(nEval)-want) > 3*math.Sqrt(51*fraction*(1-fraction)) || nEval == 0 {
		t.Errorf("%d of 51 documents held out, want about %.1f", nEval, want)
	}
	if sum.Examples.EvalDocuments != int64(nEval) || sum.Examples.EvalRows != em.Rows ||
		sum.Examples.Rows != m.Rows+em.Rows || sum.EvalShards != len(em.Shards) {
		t.Errorf("summary: %d held-out documents, %d of %d rows, %d shards; manifests: %d, %d of %d, %d",
			sum.Examples.EvalDocuments, sum.Examples.EvalRows, sum.Examples.Rows, sum.EvalShards,
			nEval, em.Rows, m.Rows+em.Rows, len(em.Shards))
	}

	// Every segment of every row is a run of tokens of some document of its own set, and of
	// no document of the other (segments too short to tell a document are not counted).
	docs := docTokens(t, ex.Tokenizer(), m.Inputs)
	sp := ex.Tokenizer().Special()
	check := func(name string, rows []shards.Row, eval bool) {
		t.Helper()
		var checked, notNext int
		for ri, r := range rows {
			ids := slices.Clone(r.InputIDs)
			for j, p := range r.MaskedPositions {
				ids[p] = r.MaskedIDs[j]
			}
			for _, seg := range segments(ids, sp.CLS, sp.SEP) {
				if len(seg) < 24 {
					continue
				}
				needle := tokenString(seg)
				var own, other []string
				for path, text := range docs {
					if strings.Contains(text, needle) {
						if inEval[path] == eval {
							own = append(own, filepath.Base(path))
						} else {
							other = append(other, filepath.Base(path))
						}
					}
				}
				if len(own) == 0 || len(other) > 0 {
					t.Fatalf("%s row %d: a segment of %d tokens is in %v of its set and %v of the other", name, ri, len(seg), own, other)
				}
				checked++
			}
			if r.NextSentenceLabel == 1 {
				notNext++
			}
		}
		if checked < len(rows) || notNext < len(rows)/4 {
			t.Fatalf("%s: %d segments checked in %d rows, %d NotNext: too few to tell", name, checked, len(rows), notNext)
		}
	}
	check("main", readRows(t, dir), false)
	check("eval", readRows(t, evalDir), true)

	t.Run("workers", func(t *testing.T) {
		c := cfg
		c.Workers = 2
		other := t.TempDir()
		runPrep(t, c, evalOpts(other))
		sameOutput(t, dir, other)
		if _, err := os.Stat(filepath.Join(other, EvalDirName, shards.ManifestName)); err != nil {
			t.Errorf("no held-out manifest: %v", err)
		}
	})
}

// TestEvalSplitResume interrupts a run with an EvalFraction after its first shards, reruns
// it, and expects the output of an uninterrupted run, both sets; a finished run rerun is left
// as it was.
func TestEvalSplitResume(t *testing.T) {
	cfg := testConfig(t, "text", sampleCorpus(t))
	cfg.EvalFraction = 0.25
	cfg.DupeFactor = 3
	cfg.ShuffleBuffer = 400
	ref := t.TempDir()
	runPrep(t, cfg, evalOpts(ref))

	dir := t.TempDir()
	ctx, cancel := cancelAfterShards(dir, 2)
	defer cancel()
	if _, _, err := tryPrep(ctx, cfg, evalOpts(dir)); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled prep returned %v, want context.Canceled", err)
	}
	for _, d := range []string{dir, filepath.Join(dir, EvalDirName)} {
		if _, err := os.Stat(filepath.Join(d, shards.ManifestName)); err == nil {
			t.Fatalf("%s: an interrupted run left a manifest", d)
		}
	}
	runPrep(t, cfg, evalOpts(dir))
	verifyDir(t, dir)
	verifyDir(t, filepath.Join(dir, EvalDirName))
	sameOutput(t, ref, dir)
	runPrep(t, cfg, evalOpts(dir))
	sameOutput(t, ref, dir)
}

// TestEvalSplitOff checks that without an EvalFraction nothing is held out and the config
// stored is that of kiln before the split (no eval_fraction key), and that a fraction outside
// [0, 1) is refused.
func TestEvalSplitOff(t *testing.T) {
	cfg := testConfig(t, "text", sotuFiles(t)[:3]...)
	dir := t.TempDir()
	runPrep(t, cfg, evalOpts(dir))
	m, err := shards.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(m.Config), "eval") {
		t.Errorf("config of a run without a held-out set mentions it: %s", m.Config)
	}
	if _, err := os.Stat(filepath.Join(dir, EvalDirName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s/%s exists without a held-out set (%v)", dir, EvalDirName, err)
	}
	for _, f := range []float64{-0.1, 1, 1.5, math.NaN()} {
		c := cfg
		c.EvalFraction = f
		if _, err := NewExamples(c); err == nil || !strings.Contains(err.Error(), "EvalFraction") {
			t.Errorf("eval fraction %v: %v, want an error naming it", f, err)
		}
	}
}

// TestEvalDocumentShare checks the seeded hash that chooses held-out documents: the share of
// 20,000 documents chosen is within a percentage point of the fraction, and the seed changes
// the choice.
func TestEvalDocumentShare(t *testing.T) {
	const n = 20000
	for _, f := range []float64{0.01, 0.1, 0.5, 0.9} {
		var chosen, same int
		for i := range n {
			a := EvalDocument(12345, docID(i, 0), f)
			if a {
				chosen++
			}
			if a == EvalDocument(54321, docID(i, 0), f) {
				same++
			}
		}
		if got := float64(chosen) / n; math.Abs(got-f) > 0.01 {
			t.Errorf("fraction %v: %.4f of the documents chosen", f, got)
		}
		// Independent choices under two seeds agree on f^2 + (1-f)^2 of the documents.
		if want := f*f + (1-f)*(1-f); math.Abs(float64(same)/n-want) > 0.02 {
			t.Errorf("fraction %v: seeds 12345 and 54321 agree on %.4f of the documents, want about %.4f", f, float64(same)/n, want)
		}
	}
}

// docTokens returns, by path, the token ids of each input file's text (one document per
// file), as tokenString writes them.
func docTokens(t *testing.T, tok *tokenize.Tokenizer, inputs []shards.Input) map[string]string {
	t.Helper()
	out := map[string]string{}
	var enc tokenize.Encoding
	for _, in := range inputs {
		b, err := os.ReadFile(in.Path)
		if err != nil {
			t.Fatal(err)
		}
		if err := tok.Encode(&enc, string(b)); err != nil {
			t.Fatal(err)
		}
		out[in.Path] = tokenString(enc.IDs)
	}
	return out
}

// tokenString writes ids as " 12 345 6 ", so that a run of ids is a substring.
func tokenString(ids []int32) string {
	var b strings.Builder
	b.WriteByte(' ')
	for _, id := range ids {
		b.WriteString(strconv.Itoa(int(id)))
		b.WriteByte(' ')
	}
	return b.String()
}

// segments returns the segments of a row's ids: what lies between [CLS] and [SEP]s.
func segments(ids []int32, cls, sep int32) [][]int32 {
	var out [][]int32
	var cur []int32
	for _, id := range ids {
		switch id {
		case cls:
		case sep:
			out = append(out, cur)
			cur = nil
		default:
			cur = append(cur, id)
		}
	}
	return out
}
