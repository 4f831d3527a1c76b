package seeds

import (
	"math/rand/v2"
	"testing"
)

// The values below were computed by the derivations as they stood in pipeline/prep.go
// (maskSeed, DocRand) and trainer/loader.go (NewExample) before they moved here: shards and
// training streams of the same seed must keep every drawn number.
func TestDerivationsPinned(t *testing.T) {
	docs := []struct {
		seed, doc   uint64
		pass, i     int
		doc2, mask2 [2]uint64
	}{
		{12345, 0x1, 0, 0, [2]uint64{0x3039, 0x9e0160293a33aaf7}, [2]uint64{0x6d61736b696e5718, 0x3a6d9584615848b6}},
		{7, 0xdeadbeefcafe, 3, 41, [2]uint64{0x7, 0x1ef9b36c03cbcd0e}, [2]uint64{0x6d61736b696e6726, 0x2e89e7ca61c4d1cd}},
	}
	for _, c := range docs {
		if a, b := Doc(c.seed, c.doc, c.pass); [2]uint64{a, b} != c.doc2 {
			t.Errorf("Doc(%d, %#x, %d) = %#x, %#x, want %#x", c.seed, c.doc, c.pass, a, b, c.doc2)
		}
		if a, b := StaticMask(c.seed, c.doc, c.pass, c.i); [2]uint64{a, b} != c.mask2 {
			t.Errorf("StaticMask(%d, %#x, %d, %d) = %#x, %#x, want %#x", c.seed, c.doc, c.pass, c.i, a, b, c.mask2)
		}
	}
	rows := []struct {
		seed  uint64
		epoch int
		row   int64
		want  [2]uint64
	}{
		{12345, 0, 0, [2]uint64{0x6d61736b695e5e, 0x0}},
		{7, 2, 123456, [2]uint64{0x6d61736b696e60, 0x2000001e240}},
	}
	for _, c := range rows {
		if a, b := DynamicMask(c.seed, c.epoch, c.row); [2]uint64{a, b} != c.want {
			t.Errorf("DynamicMask(%d, %d, %d) = %#x, %#x, want %#x", c.seed, c.epoch, c.row, a, b, c.want)
		}
	}
}

// The masking stream of an instance must not replay its document's pairing stream, nor
// another instance's: 64 draws of each agree nowhere.
func TestStaticMaskIndependent(t *testing.T) {
	draws := func(a, b uint64) []uint64 {
		r := rand.New(rand.NewPCG(a, b))
		out := make([]uint64, 64)
		for i := range out {
			out[i] = r.Uint64()
		}
		return out
	}
	seen := map[uint64]string{}
	add := func(name string, vs []uint64) {
		for _, v := range vs {
			if prev, ok := seen[v]; ok {
				t.Fatalf("%s draws %#x, as %s does", name, v, prev)
			}
			seen[v] = name
		}
	}
	add("Doc", draws(Doc(1, 99, 0)))
	for i := range 4 {
		add("StaticMask", draws(StaticMask(1, 99, 0, i)))
	}
	add("Doc pass 1", draws(Doc(1, 99, 1)))
}
