//go:build openblas

package trainer

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/netlib/blas/netlib"
)

// TestOpenBLASMatchesGonum checks that the OpenBLAS build is in use and computes what the
// default pure-Go build computes: the loss and every parameter gradient of a training step of a
// model with BERT's vocabulary, once with OpenBLAS and once with gonum's BLAS, agree within
// float32 tolerance.
func TestOpenBLASMatchesGonum(t *testing.T) {
	if BLASImplementation != "openblas" {
		t.Fatalf("BLASImplementation = %q", BLASImplementation)
	}
	if _, ok := blas32.Implementation().(netlib.Implementation); !ok {
		t.Fatalf("blas32 uses %T, want netlib (OpenBLAS)", blas32.Implementation())
	}
	cfg := testConfig()
	cfg.VocabSize = 30522
	cfg.MaxPositions = 128
	rows := benchRowsVaried(8, 128, cfg.VocabSize)
	step := func() (float64, [][]float32) {
		m, err := NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		gr, st, err := m.run(context.Background(), rows, true, rand.New(rand.NewPCG(2, 2)))
		if err != nil {
			t.Fatal(err)
		}
		var gs [][]float32
		for _, g := range gr.grads {
			gs = append(gs, append([]float32(nil), g.Value().Data().([]float32)...))
		}
		return st.Loss, gs
	}
	lossOB, gradOB := step()
	blas32.Use(gonum.Implementation{})
	defer blas32.Use(netlib.Implementation{})
	lossGo, gradGo := step()
	if rel := math.Abs(lossOB-lossGo) / lossGo; rel > 1e-6 {
		t.Errorf("loss: OpenBLAS %.8f, gonum %.8f (rel %.2g)", lossOB, lossGo, rel)
	}
	m, _ := NewModel(cfg, rand.New(rand.NewPCG(1, 1)))
	worst := 0.0
	for i, p := range m.params {
		if strings.Contains(p.name, "attention.self.key.bias") {
			continue // its true gradient is 0 (softmax ignores a shift shared by all keys): rounding noise
		}
		var diff, norm float64
		for j, v := range gradGo[i] {
			d := float64(gradOB[i][j]) - float64(v)
			diff += d * d
			norm += float64(v) * float64(v)
		}
		rel := math.Sqrt(diff / math.Max(norm, 1e-30))
		worst = math.Max(worst, rel)
		if rel > 1e-4 {
			t.Errorf("%s: gradients differ by %.2g (relative norm)", p.name, rel)
		}
	}
	t.Logf("loss %.6f (OpenBLAS) vs %.6f (gonum); worst gradient difference %.2g", lossOB, lossGo, worst)
}
