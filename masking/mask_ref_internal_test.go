package masking

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// refMask is Mask as it was written before its candidate list was specialised (kiln at
// efe9dea): the one reference every later Mask must match draw for draw, since static masks
// are stored in shards and dynamic ones drawn by the trainer from pinned seeds.
func refMask(m *Masker, rng *rand.Rand, ids []int32, out *Masked) {
	never := make(map[int32]bool)
	never[m.v.CLS], never[m.v.SEP] = true, true
	if m.v.PAD >= 0 {
		never[m.v.PAD] = true
	}
	isNever := func(id int32) bool { return id >= 0 && id < m.size && never[id] }
	isCont := func(id int32) bool { return id >= 0 && id < m.size && m.v.Continuation[id] }
	out.IDs = append(out.IDs[:0], ids...)
	out.Positions, out.Labels = out.Positions[:0], out.Labels[:0]
	var words, lens []int32
	for i, id := range ids {
		if isNever(id) {
			continue
		}
		if m.cfg.WholeWord && len(words) > 0 && isCont(id) && words[len(words)-1]+lens[len(lens)-1] == int32(i) {
			lens[len(lens)-1]++
			continue
		}
		words = append(words, int32(i))
		lens = append(lens, 1)
	}
	want := m.NumToPredict(len(ids))
	for k := 0; k < len(words) && len(out.Positions) < want; k++ {
		j := k + rng.IntN(len(words)-k)
		words[k], words[j] = words[j], words[k]
		lens[k], lens[j] = lens[j], lens[k]
		if len(out.Positions)+int(lens[k]) > want {
			continue
		}
		for pos := words[k]; pos < words[k]+lens[k]; pos++ {
			orig := ids[pos]
			out.Positions = append(out.Positions, pos)
			out.Labels = append(out.Labels, orig)
			switch {
			case rng.Float64() < m.maskCut:
				out.IDs[pos] = m.v.MASK
			case rng.Float64() < m.keepCut:
				out.IDs[pos] = orig
			default:
				out.IDs[pos] = m.v.Random[rng.IntN(len(m.v.Random))]
			}
		}
	}
	p, l := out.Positions, out.Labels
	for i := 1; i < len(p); i++ {
		for j := i; j > 0 && p[j] < p[j-1]; j-- {
			p[j], p[j-1] = p[j-1], p[j]
			l[j], l[j-1] = l[j-1], l[j]
		}
	}
}

// TestMaskAsReference: Mask gives refMask's ids, positions and labels, and leaves the
// generator in the same state, over random rows that hold special tokens anywhere, ids
// outside the vocabulary, -1, runs of "##" pieces, with and without [PAD], whole-word or not,
// several splits and prediction counts, in place and into a copy.
func TestMaskAsReference(t *testing.T) {
	const size = 300
	gen := rand.New(rand.NewPCG(5, 6))
	for _, pad := range []int32{0, -1} {
		v := Vocab{Size: size, CLS: 101, SEP: 102, MASK: 103, PAD: pad, Continuation: make([]bool, size)}
		for id := range int32(size) {
			v.Continuation[id] = gen.IntN(3) == 0
			if id > 103 {
				v.Random = append(v.Random, id)
			}
		}
		for _, wwm := range []bool{false, true} {
			for _, split := range []*Split{nil, {Mask: 0.5, Random: 0.3}, {Mask: 1}, {Mask: 0, Random: 1}} {
				for _, maxPred := range []int{1, 5, 20, 200} {
					m, err := New(Config{MaskedLMProb: 0.15, MaxPredictions: maxPred, WholeWord: wwm, Split: split}, v)
					if err != nil {
						t.Fatal(err)
					}
					var got, want Masked
					for row := range 300 {
						ids := make([]int32, gen.IntN(140))
						for i := range ids {
							switch gen.IntN(20) {
							case 0:
								ids[i] = 101
							case 1:
								ids[i] = 102
							case 2:
								ids[i] = -1
							case 3:
								ids[i] = size + gen.Int32N(5)
							default:
								ids[i] = gen.Int32N(size)
							}
						}
						seed := gen.Uint64()
						r1, r2 := rand.New(rand.NewPCG(seed, 1)), rand.New(rand.NewPCG(seed, 1))
						refMask(m, r1, ids, &want)
						inPlace := row%2 == 0
						if inPlace {
							got.IDs = slices.Clone(ids)
							m.Mask(r2, got.IDs, &got)
						} else {
							m.Mask(r2, ids, &got)
						}
						if !slices.Equal(got.IDs, want.IDs) || !slices.Equal(got.Positions, want.Positions) ||
							!slices.Equal(got.Labels, want.Labels) || r1.Uint64() != r2.Uint64() {
							t.Fatalf("pad %d, whole word %v, split %v, max %d, row %d (in place %v) %v:\ngot  %v %v %v\nwant %v %v %v",
								pad, wwm, split, maxPred, row, inPlace, ids, got.IDs, got.Positions, got.Labels, want.IDs, want.Positions, want.Labels)
						}
					}
				}
			}
		}
	}
}
