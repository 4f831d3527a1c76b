package pipeline

import (
	"context"
	"slices"
	"testing"

	"github.com/kiln-bert/kiln/masking"
)

// segmentIndex finds the documents that hold a run of token ids.
type segmentIndex struct {
	docs  [][]int32               // each document's ids, sentences one after the other
	grams map[[8]int32][][2]int32 // first 8 ids of a run -> (document, offset)
}

func newSegmentIndex(docs [][]int32) *segmentIndex {
	x := &segmentIndex{docs: docs, grams: map[[8]int32][][2]int32{}}
	for d, ids := range docs {
		for i := 0; i+8 <= len(ids); i++ {
			k := [8]int32(ids[i : i+8])
			x.grams[k] = append(x.grams[k], [2]int32{int32(d), int32(i)})
		}
	}
	return x
}

// holders returns the documents that hold seg contiguously (nil for a run under 8 ids).
func (x *segmentIndex) holders(seg []int32) map[int]bool {
	if len(seg) < 8 {
		return nil
	}
	out := map[int]bool{}
	for _, at := range x.grams[[8]int32(seg[:8])] {
		ids := x.docs[at[0]][at[1]:]
		if len(ids) >= len(seg) && slices.Equal(ids[:len(seg)], seg) {
			out[int(at[0])] = true
		}
	}
	return out
}

// crossPartitionPairs reads the rows of the run in dir and returns how many NotNext rows
// were checked and how many pair segments that no single partition holds: segment A's
// documents and segment B's documents share no partition. part maps a document to its
// partition.
func crossPartitionPairs(t *testing.T, dir string, idx *segmentIndex, part []int) (checked, cross int) {
	t.Helper()
	notNext := 0
	for _, r := range readRows(t, dir) {
		if r.NextSentenceLabel != 1 {
			continue
		}
		notNext++
		var a, b []int32
		for i := 1; i < len(r.InputIDs)-1; i++ {
			if r.TokenTypeIDs[i] == 0 {
				a = append(a, r.InputIDs[i])
			} else {
				b = append(b, r.InputIDs[i])
			}
		}
		a = a[:len(a)-1] // the first [SEP]
		ha, hb := idx.holders(a), idx.holders(b)
		if len(ha) == 0 || len(hb) == 0 {
			continue
		}
		checked++
		parts := map[int]bool{}
		for d := range ha {
			parts[part[d]] = true
		}
		shared := false
		for d := range hb {
			shared = shared || parts[part[d]]
		}
		if !shared {
			cross++
		}
	}
	if checked < notNext*3/4 {
		t.Fatalf("only %d of %d NotNext rows could be traced to their documents", checked, notNext)
	}
	return checked, cross
}

// TestPartitionedNotNextWithin checks, from the rows written, that every NotNext pair of a
// partitioned run takes its two segments from documents of one partition, as NVIDIA LDDL
// pairs within partitions: each segment is traced back to the documents of the corpus that
// hold it. The same check over an unpartitioned run of the same corpus must find pairs that
// cross the partitions, or it proves nothing.
func TestPartitionedNotNextWithin(t *testing.T) {
	const n = 4
	cfg := testConfig(t, "text", sampleCorpus(t))
	cfg.Masking = masking.Dynamic // the rows hold the documents' own ids
	cfg.ShuffleBuffer = 0
	p := newTestPartitioner(t, cfg, n, ShardOptions{})
	var docs [][]int32
	var part []int
	for i, in := range p.Inputs() {
		if _, err := p.TokenizeFile(context.Background(), i, in, func(k int, d PartDoc) error {
			var ids []int32
			for _, s := range d.Sentences {
				ids = append(ids, s...)
			}
			docs = append(docs, ids)
			part = append(part, k)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	idx := newSegmentIndex(docs)

	dir := t.TempDir()
	runPrepPartitioned(t, cfg, ShardOptions{Dir: dir, Version: "test"}, n)
	checked, cross := crossPartitionPairs(t, dir, idx, part)
	t.Logf("partitioned: %d NotNext pairs traced, %d across partitions", checked, cross)
	if cross > 0 {
		t.Errorf("%d of %d NotNext pairs take their segments from two partitions", cross, checked)
	}

	plain := t.TempDir()
	runPrep(t, cfg, ShardOptions{Dir: plain, Version: "test"})
	checked, cross = crossPartitionPairs(t, plain, idx, part)
	t.Logf("unpartitioned: %d NotNext pairs traced, %d across the same partitions", checked, cross)
	if cross < checked/4 {
		t.Errorf("the unpartitioned run has only %d of %d pairs across partitions: the check cannot tell", cross, checked)
	}
}
