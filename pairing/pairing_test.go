package pairing_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/kiln-bert/kiln/pairing"
)

// bert-base-uncased special token ids.
var sp = pairing.Special{CLS: 101, SEP: 102}

const (
	endSentence = 0xffff
	endDocument = 0xfffe
)

var corpusOnce struct {
	sync.Once
	docs []pairing.Document
	err  error
}

// corpus returns the fixture documents (testdata/corpus.ids.gz: real text
// tokenized by Hugging Face tokenizers, see testdata/README.md).
func corpus(t testing.TB) []pairing.Document {
	t.Helper()
	corpusOnce.Do(func() {
		corpusOnce.docs, corpusOnce.err = readCorpus("testdata/corpus.ids.gz")
	})
	if corpusOnce.err != nil {
		t.Fatal(corpusOnce.err)
	}
	return corpusOnce.docs
}

func readCorpus(path string) ([]pairing.Document, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	var docs []pairing.Document
	var doc pairing.Document
	var sent []int32
	for i := 0; i+1 < len(data); i += 2 {
		switch w := binary.LittleEndian.Uint16(data[i:]); w {
		case endSentence:
			doc.Sentences = append(doc.Sentences, sent)
			sent = nil
		case endDocument:
			doc.ID = uint64(len(docs) + 1)
			docs = append(docs, doc)
			doc = pairing.Document{}
		default:
			sent = append(sent, int32(w))
		}
	}
	return docs, nil
}

// docRNG derives a document pass's generator the way the pipeline does.
func docRNG(seed uint64, doc, pass int) *rand.Rand {
	h := fnv.New64a()
	binary.Write(h, binary.LittleEndian, [2]int64{int64(doc), int64(pass)})
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// run pairs every document for passes dupe passes (pass-major, as Google).
func run(t testing.TB, cfg pairing.Config, docs []pairing.Document, passes int, seed uint64) ([]pairing.Instance, pairing.Stats) {
	t.Helper()
	p, err := pairing.NewPairer(cfg, sp)
	if err != nil {
		t.Fatal(err)
	}
	var out []pairing.Instance
	for pass := range passes {
		for i, d := range docs {
			out = p.Add(docRNG(seed, i, pass), d, out)
		}
	}
	return out, p.Stats()
}

func TestParseTask(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want pairing.Task
		ok   bool
	}{
		{"nsp", pairing.NSP, true},
		{"sop", pairing.SOP, true},
		{"none", pairing.None, true},
		{"NSP", 0, false},
		{"", 0, false},
	} {
		got, err := pairing.ParseTask(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseTask(%q) = %v, %v", tc.in, got, err)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("%v.String() = %q", got, got.String())
		}
	}
}

func TestNewPairerErrors(t *testing.T) {
	ok := pairing.DefaultConfig()
	for _, tc := range []struct {
		name string
		edit func(*pairing.Config)
		sp   pairing.Special
	}{
		{"short max len", func(c *pairing.Config) { c.MaxSeqLen = 4 }, sp},
		{"none max len", func(c *pairing.Config) { c.Task = pairing.None; c.MaxSeqLen = 3 }, sp},
		{"prob > 1", func(c *pairing.Config) { c.ShortSeqProb = 1.5 }, sp},
		{"prob < 0", func(c *pairing.Config) { c.ShortSeqProb = -0.1 }, sp},
		{"bad task", func(c *pairing.Config) { c.Task = 7 }, sp},
		{"reservoir", func(c *pairing.Config) { c.ReservoirDocs = -1 }, sp},
		{"reservoir tokens", func(c *pairing.Config) { c.ReservoirTokens = 10 }, sp},
		{"specials", func(c *pairing.Config) {}, pairing.Special{CLS: 5, SEP: 5}},
	} {
		cfg := ok
		tc.edit(&cfg)
		if _, err := pairing.NewPairer(cfg, tc.sp); err == nil {
			t.Errorf("%s: NewPairer(%+v) succeeded", tc.name, cfg)
		}
	}
	if _, err := pairing.NewPairer(ok, sp); err != nil {
		t.Fatal(err)
	}
}

// checkLayout asserts the layout invariants of every instance.
func checkLayout(t *testing.T, cfg pairing.Config, insts []pairing.Instance) {
	t.Helper()
	for n, in := range insts {
		ids := in.IDs
		bad := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("instance %d %v: "+format, append([]any{n, ids}, args...)...)
		}
		if len(ids) > cfg.MaxSeqLen || len(ids) != len(in.TypeIDs) {
			bad("length %d (types %d), max %d", len(ids), len(in.TypeIDs), cfg.MaxSeqLen)
		}
		if ids[0] != sp.CLS || ids[len(ids)-1] != sp.SEP {
			bad("does not start with [CLS] and end with [SEP]")
		}
		var seps []int
		for i, id := range ids {
			if id == sp.SEP {
				seps = append(seps, i)
			}
			if i > 0 && id == sp.CLS {
				bad("[CLS] at %d", i)
			}
		}
		if cfg.Task == pairing.None {
			if len(seps) != 1 || in.Label != -1 || len(ids) < 3 {
				bad("task none: seps %v label %d", seps, in.Label)
			}
			for _, ty := range in.TypeIDs {
				if ty != 0 {
					bad("task none: type ids %v", in.TypeIDs)
				}
			}
			continue
		}
		if len(seps) != 2 || seps[0] < 2 || seps[1]-seps[0] < 2 {
			bad("[SEP] at %v: want two, A and B non-empty", seps)
		}
		for i, ty := range in.TypeIDs {
			if want := int8(0); i > seps[0] && ty != 1 || i <= seps[0] && ty != want {
				bad("type id %d at %d (first [SEP] at %d)", ty, i, seps[0])
			}
		}
		if in.Label != 0 && in.Label != 1 {
			bad("label %d", in.Label)
		}
	}
}

func TestLayoutRealText(t *testing.T) {
	docs := corpus(t)
	for _, tc := range []struct {
		task   pairing.Task
		maxLen int
	}{
		{pairing.NSP, 128}, {pairing.NSP, 512}, {pairing.NSP, 8},
		{pairing.SOP, 128}, {pairing.SOP, 16},
		{pairing.None, 128}, {pairing.None, 4},
	} {
		t.Run(tc.task.String()+"/"+itoa(tc.maxLen), func(t *testing.T) {
			cfg := pairing.DefaultConfig()
			cfg.Task, cfg.MaxSeqLen = tc.task, tc.maxLen
			insts, st := run(t, cfg, docs, 1, 1)
			if len(insts) != st.Instances || len(insts) == 0 {
				t.Fatalf("%d instances, stats say %d", len(insts), st.Instances)
			}
			checkLayout(t, cfg, insts)
			if tc.task == pairing.None && (st.TruncatedTokens != 0 || st.DroppedTokens != 0) {
				t.Errorf("task none lost tokens: %+v", st)
			}
		})
	}
}

func itoa(n int) string {
	b := []byte{}
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestLabelShare is the proof: NotNext at 50% +- 1 and short targets
// about 10% on real text, where Google's coin is measurably off 50%.
func TestLabelShare(t *testing.T) {
	docs := corpus(t)
	const passes = 5
	cfg := pairing.DefaultConfig()
	insts, st := run(t, cfg, docs, passes, 7)
	share := float64(st.NotNext) / float64(st.Instances)
	// Balanced, not alternating: consecutive labels agree at least as often
	// as independent coins would (runs of forced NotNext in short-target
	// documents make it a little more).
	agree := func(insts []pairing.Instance) float64 {
		same := 0
		for i := 1; i < len(insts); i++ {
			if insts[i].Label == insts[i-1].Label {
				same++
			}
		}
		return float64(same) / float64(len(insts)-1)
	}
	if r := agree(insts); r < 0.48 {
		t.Errorf("consecutive labels equal %.3f of the time: the balancing alternates labels", r)
	} else {
		t.Logf("consecutive labels equal %.3f of the time", r)
	}
	t.Logf("nsp: %d instances, NotNext %.2f%%, forced %d (%.1f%%), no partner %d, short targets %d/%d (%.1f%%), short instances %.1f%%, truncated %d tokens",
		st.Instances, 100*share, st.ForcedNotNext, 100*float64(st.ForcedNotNext)/float64(st.Instances), st.NoPartner,
		st.ShortTargets, st.Documents, 100*float64(st.ShortTargets)/float64(st.Documents),
		100*float64(st.ShortInstances)/float64(st.Instances), st.TruncatedTokens)
	if share < 0.49 || share > 0.51 {
		t.Errorf("NotNext share %.4f, want 0.50 +- 0.01", share)
	}
	if st.NoPartner == 0 || st.ForcedNotNext == 0 {
		t.Errorf("expected forced NotNext and a first document without partner: %+v", st)
	}
	// 985 document passes: binomial sd 0.96 points; allow 3 sd.
	short := float64(st.ShortTargets) / float64(st.Documents)
	if short < 0.07 || short > 0.13 {
		t.Errorf("short target share %.4f, want about 0.10", short)
	}

	// Google's fair coin on the same text: forced NotNext pushes it over 50%.
	cfg.BalanceWindow = -1
	ginsts, g := run(t, cfg, docs, passes, 7)
	gshare := float64(g.NotNext) / float64(g.Instances)
	t.Logf("nsp, Google's coin: NotNext %.2f%%, consecutive labels equal %.3f", 100*gshare, agree(ginsts))
	if gshare < 0.51 {
		t.Errorf("Google's coin gave NotNext %.4f: the fixture no longer shows the skew the balancing fixes", gshare)
	}

	cfg = pairing.DefaultConfig()
	cfg.Task = pairing.SOP
	_, s := run(t, cfg, docs, passes, 7)
	sshare := float64(s.NotNext) / float64(s.Instances)
	t.Logf("sop: %d instances, swapped %.2f%%, split sentences %d", s.Instances, 100*sshare, s.SplitSentences)
	if sshare < 0.49 || sshare > 0.51 {
		t.Errorf("SOP swapped share %.4f, want 0.50 +- 0.01", sshare)
	}
}

// coded returns the fixture's documents with every token replaced by a code
// naming its document and position (doc*1e6 + position + 1), so tests can
// tell where each token of an instance came from.
func coded(docs []pairing.Document) []pairing.Document {
	out := make([]pairing.Document, len(docs))
	for d, doc := range docs {
		pos := int32(0)
		out[d].ID = doc.ID
		for _, s := range doc.Sentences {
			c := make([]int32, len(s))
			for i := range c {
				pos++
				c[i] = int32(d)*1_000_000 + pos + 1000 // never 101 or 102
			}
			out[d].Sentences = append(out[d].Sentences, c)
		}
	}
	return out
}

func segments(in pairing.Instance) (a, b []int32) {
	for i := 1; i < len(in.IDs); i++ {
		if in.IDs[i] == sp.SEP {
			return in.IDs[1:i], in.IDs[i+1 : len(in.IDs)-1]
		}
	}
	return nil, nil
}

func contiguous(s []int32) bool {
	for i := 1; i < len(s); i++ {
		if s[i] != s[i-1]+1 {
			return false
		}
	}
	return true
}

// TestSegmentsRealStructure checks, on the fixture's real sentence structure,
// where A and B come from: IsNext B follows A in the same document, NotNext B
// comes from another document (never the same one, even across dupe passes
// fed back to back), SOP swaps are reversed true pairs, and every token of a
// document is used at most once per pass (the put-back).
func TestSegmentsRealStructure(t *testing.T) {
	docs := coded(corpus(t))
	for _, tc := range []struct {
		name       string
		task       pairing.Task
		reservoir  int
		backToBack bool // each document's dupe passes one after another
	}{
		{"nsp", pairing.NSP, 0, false},
		{"nsp reservoir 1 back to back", pairing.NSP, 1, true},
		{"nsp reservoir 3", pairing.NSP, 3, false},
		{"sop", pairing.SOP, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := pairing.DefaultConfig()
			cfg.Task, cfg.ReservoirDocs = tc.task, tc.reservoir
			p, err := pairing.NewPairer(cfg, sp)
			if err != nil {
				t.Fatal(err)
			}
			for i, d := range docs {
				for pass := range 2 {
					if !tc.backToBack && pass > 0 {
						break
					}
					insts := p.Add(docRNG(3, i, pass), d, nil)
					used := map[int32]bool{}
					for _, in := range insts {
						a, b := segments(in)
						if !contiguous(a) || !contiguous(b) {
							t.Fatalf("doc %d: segment not contiguous: %v", i, in.IDs)
						}
						docA, docB := a[0]/1_000_000, b[0]/1_000_000
						if docA != int32(i) && !(tc.task == pairing.SOP && docB == int32(i)) {
							t.Fatalf("doc %d: A from doc %d", i, docA)
						}
						own := a
						switch {
						case tc.task == pairing.NSP && in.Label == 1:
							if docB == int32(i) {
								t.Fatalf("doc %d: NotNext B from the same document", i)
							}
						case tc.task == pairing.SOP && in.Label == 1:
							if docA != docB || b[len(b)-1] >= a[0] {
								t.Fatalf("doc %d: swapped pair not reversed: %v", i, in.IDs)
							}
							own = append(append([]int32{}, a...), b...)
						default:
							if docA != docB || b[0] <= a[len(a)-1] {
								t.Fatalf("doc %d: IsNext B does not follow A: %v", i, in.IDs)
							}
							own = append(append([]int32{}, a...), b...)
						}
						for _, c := range own {
							if used[c] {
								t.Fatalf("doc %d: token %d used twice in one pass", i, c)
							}
							used[c] = true
						}
					}
				}
			}
			st := p.Stats()
			if st.ReservoirDocs > max(tc.reservoir, 0) && tc.reservoir > 0 {
				t.Errorf("reservoir holds %d documents, limit %d", st.ReservoirDocs, tc.reservoir)
			}
		})
	}
}

// TestFirstDocument defines what happens while the reservoir is empty: no
// NotNext can be made, chunks are IsNext, and it is counted.
func TestFirstDocument(t *testing.T) {
	docs := corpus(t)
	p, err := pairing.NewPairer(pairing.DefaultConfig(), sp)
	if err != nil {
		t.Fatal(err)
	}
	insts := p.Add(docRNG(1, 0, 0), docs[0], nil)
	st := p.Stats()
	for _, in := range insts {
		if in.Label != 0 {
			t.Fatalf("first document made a NotNext: %v", in.IDs)
		}
	}
	if st.NoPartner == 0 || st.ReservoirDocs != 1 {
		t.Errorf("stats after first document: %+v", st)
	}
	// The same document again (a dupe pass) still has no partner.
	p.Add(docRNG(1, 0, 1), docs[0], nil)
	if st2 := p.Stats(); st2.NotNext != 0 || st2.NoPartner <= st.NoPartner {
		t.Errorf("document paired with itself: %+v", st2)
	}
	// One-sentence document of one token: dropped and counted, no instance.
	p2, _ := pairing.NewPairer(pairing.DefaultConfig(), sp)
	if got := p2.Add(docRNG(1, 0, 0), pairing.Document{Sentences: [][]int32{{7}}}, nil); len(got) != 0 {
		t.Errorf("one-token document gave %v", got)
	}
	if st := p2.Stats(); st.DroppedChunks != 1 || st.DroppedTokens != 1 {
		t.Errorf("drop not counted: %+v", st)
	}
	if got := p2.Add(docRNG(1, 0, 0), pairing.Document{Sentences: [][]int32{{}, nil}}, nil); len(got) != 0 || p2.Stats().EmptyDocuments != 1 {
		t.Errorf("empty document: %v %+v", got, p2.Stats())
	}
}

func TestDeterminism(t *testing.T) {
	docs := corpus(t)[:40]
	for _, task := range []pairing.Task{pairing.NSP, pairing.SOP, pairing.None} {
		cfg := pairing.DefaultConfig()
		cfg.Task = task
		a, sa := run(t, cfg, docs, 2, 11)
		b, sb := run(t, cfg, docs, 2, 11)
		c, _ := run(t, cfg, docs, 2, 12)
		if !reflect.DeepEqual(a, b) || sa != sb {
			t.Errorf("%v: same seed, different instances", task)
		}
		if task != pairing.None && reflect.DeepEqual(a, c) {
			t.Errorf("%v: different seeds, same instances", task)
		}
	}
}

// TestTruncate checks truncate_seq_pair: both sides trimmed to fit, from the
// longer side, and the tokens that remain are a contiguous part of the input.
func TestTruncate(t *testing.T) {
	long := make([]int32, 300)
	for i := range long {
		long[i] = int32(1000 + i)
	}
	other := make([]int32, 50)
	for i := range other {
		other[i] = int32(5000 + i)
	}
	cfg := pairing.DefaultConfig()
	cfg.ShortSeqProb = 0
	p, _ := pairing.NewPairer(cfg, sp)
	p.Add(docRNG(1, 1, 0), pairing.Document{ID: 1, Sentences: [][]int32{other}}, nil)
	insts := p.Add(docRNG(1, 2, 0), pairing.Document{ID: 2, Sentences: [][]int32{long[:100], long[100:]}}, nil)
	checkLayout(t, cfg, insts)
	for _, in := range insts {
		a, b := segments(in)
		if len(a)+len(b) != 125 {
			t.Errorf("A %d + B %d tokens, want 125", len(a), len(b))
		}
		if !contiguous(a) || !contiguous(b) {
			t.Errorf("truncation broke a segment: %v", in.IDs)
		}
	}
	if p.Stats().TruncatedTokens == 0 {
		t.Error("no truncation counted")
	}
}

func BenchmarkAdd(b *testing.B) {
	docs := corpus(b)
	p, _ := pairing.NewPairer(pairing.DefaultConfig(), sp)
	rng := rand.New(rand.NewPCG(1, 2))
	var out []pairing.Instance
	var tokens int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := docs[i%len(docs)]
		out = p.Add(rng, d, out[:0])
		for _, s := range d.Sentences {
			tokens += int64(len(s))
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds()/1e6, "Mtok/s")
}

// BenchmarkAddArena is BenchmarkAdd with the instances laid out in a reused arena, as prep
// does: the pairing work without an allocation per instance.
func BenchmarkAddArena(b *testing.B) {
	docs := corpus(b)
	p, _ := pairing.NewPairer(pairing.DefaultConfig(), sp)
	rng := rand.New(rand.NewPCG(1, 2))
	var out []pairing.Instance
	var a pairing.Arena
	var tokens int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := docs[i%len(docs)]
		a.Reset()
		out = p.AddArena(rng, d, out[:0], &a)
		for _, s := range d.Sentences {
			tokens += int64(len(s))
		}
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds()/1e6, "Mtok/s")
}

// BenchmarkAddParagraphs pairs one-paragraph documents (each sentence of the
// corpus on its own, as Moby Dick read one paragraph per line) against a full
// reservoir: the case where drawing a NotNext partner used to scan every slot.
//
//	go test -run '^$' -bench AddParagraphs ./pairing/
func BenchmarkAddParagraphs(b *testing.B) {
	var docs []pairing.Document
	for _, d := range corpus(b) {
		for _, s := range d.Sentences {
			docs = append(docs, pairing.Document{ID: uint64(len(docs) + 1), Sentences: [][]int32{s}})
		}
	}
	p, _ := pairing.NewPairer(pairing.DefaultConfig(), sp)
	rng := rand.New(rand.NewPCG(1, 2))
	var out []pairing.Instance
	var tokens int64
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		d := docs[i%len(docs)]
		out = p.Add(rng, d, out[:0])
		tokens += int64(len(d.Sentences[0]))
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds()/1e6, "Mtok/s")
}

// TestAddArenaSameInstances: AddArena lays out the instances Add makes, with the same draws,
// for every task; the arena is reset between documents as the pipeline does, and each pass's
// instances stay intact until it is.
func TestAddArenaSameInstances(t *testing.T) {
	docs := corpus(t)
	for _, task := range []pairing.Task{pairing.NSP, pairing.SOP, pairing.None} {
		cfg := pairing.DefaultConfig()
		cfg.Task = task
		cfg.ShortSeqProb = 0.3 // short targets, and more truncation of their pairs
		want, wantStats := run(t, cfg, docs, 2, 9)
		p, err := pairing.NewPairer(cfg, sp)
		if err != nil {
			t.Fatal(err)
		}
		var a pairing.Arena
		var got, pass []pairing.Instance
		for ps := range 2 {
			for i, d := range docs {
				a.Reset()
				pass = p.AddArena(docRNG(9, i, ps), d, pass[:0], &a)
				tokens := 0
				for _, in := range pass {
					tokens += len(in.IDs)
					got = append(got, pairing.Instance{IDs: slices.Clone(in.IDs), TypeIDs: slices.Clone(in.TypeIDs), Label: in.Label})
				}
				if a.Tokens() != tokens {
					t.Fatalf("%v: arena holds %d tokens, the instances %d", task, a.Tokens(), tokens)
				}
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%v: AddArena made other instances than Add (%d and %d)", task, len(got), len(want))
		}
		if st := p.Stats(); st != wantStats {
			t.Errorf("%v: stats %+v, Add's %+v", task, st, wantStats)
		}
	}
}

// TestAddArenaNoAllocs: once its buffers have grown, a Pairer laying out its instances in a
// reused arena allocates nothing per document. (Before, truncating A or B from the front
// shrank their buffers' capacity, so they were allocated again for later documents, and each
// instance's ids and types were two allocations.)
func TestAddArenaNoAllocs(t *testing.T) {
	docs := corpus(t)
	for _, task := range []pairing.Task{pairing.SOP, pairing.None} { // (NSP's reservoir keeps copies)
		cfg := pairing.DefaultConfig()
		cfg.Task = task
		p, err := pairing.NewPairer(cfg, sp)
		if err != nil {
			t.Fatal(err)
		}
		var a pairing.Arena
		var out []pairing.Instance
		rng := rand.New(rand.NewPCG(1, 2))
		for _, d := range docs { // grow everything once
			a.Reset()
			out = p.AddArena(rng, d, out[:0], &a)
		}
		i := 0
		allocs := testing.AllocsPerRun(len(docs), func() {
			a.Reset()
			out = p.AddArena(rng, docs[i%len(docs)], out[:0], &a)
			i++
		})
		if allocs != 0 {
			t.Errorf("%v: %v allocations per document", task, allocs)
		}
	}
}
