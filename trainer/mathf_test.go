package trainer

import (
	"math"
	"testing"
)

// TestFloat32Kernels checks the float32 model's exp and normal CDF/density against math.Exp and
// math.Erfc over their whole useful range: the relative errors must stay below float32's
// rounding step (2⁻²⁴ ≈ 6e-8), so the float32 model computes what math.Exp and math.Erf would.
func TestFloat32Kernels(t *testing.T) {
	const float32Step = 1.0 / (1 << 24)
	for _, tc := range []struct {
		name     string
		lo, hi   float64
		got      func(float64) float64
		want     func(float64) float64
		maxRel   float64
		positive bool // want > 0 where checked
	}{
		{"exp", -103, 88, expf, math.Exp, float32Step / 4, true},
		{"cdf", -7.999, 7.999, normCDF, func(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }, float32Step, true},
		{"pdf", -7.999, 7.999, func(x float64) float64 { _, p := normCDFPDF(x); return p },
			func(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }, float32Step, true},
	} {
		worst, at := 0.0, 0.0
		for x := tc.lo; x <= tc.hi; x += (tc.hi - tc.lo) / 1e6 {
			g, w := tc.got(x), tc.want(x)
			if rel := math.Abs(g-w) / w; rel > worst {
				worst, at = rel, x
			}
		}
		t.Logf("%s: max relative error %.3g at %.4f", tc.name, worst, at)
		if !(worst < tc.maxRel) {
			t.Errorf("%s: relative error %.3g at x = %g, want < %.3g", tc.name, worst, at, tc.maxRel)
		}
	}
	// Outside the tables' range: the limits float32 cannot tell apart from the true values.
	for _, x := range []float64{-8, -50, math.Inf(-1)} {
		if c, p := normCDFPDF(x); c != 0 || p != 0 || normCDF(x) != 0 {
			t.Errorf("normCDFPDF(%g) = %g, %g", x, c, p)
		}
	}
	for _, x := range []float64{8, 50, math.Inf(1)} {
		if c, p := normCDFPDF(x); c != 1 || p != 0 || normCDF(x) != 1 {
			t.Errorf("normCDFPDF(%g) = %g, %g", x, c, p)
		}
	}
	if e := expf(-105); e != 0 {
		t.Errorf("expf(-105) = %g, want 0", e)
	}
	// NaN goes through, so that a diverged model stops on a NaN loss.
	if c, p := normCDFPDF(math.NaN()); !math.IsNaN(c) || !math.IsNaN(p) || !math.IsNaN(normCDF(math.NaN())) || !math.IsNaN(expf(math.NaN())) {
		t.Errorf("NaN in: normCDFPDF %g, %g, normCDF %g, expf %g", c, p, normCDF(math.NaN()), expf(math.NaN()))
	}
}

// TestGemmShapes checks gemm (all transpose cases, row strides, and products large enough to be
// cut over goroutines) against a plain triple loop in float64, in the build under test (pure-Go
// gonum or OpenBLAS).
func TestGemmShapes(t *testing.T) {
	for _, tc := range []struct {
		m, n, k int
		tA, tB  bool
	}{
		{3, 5, 7, false, false}, {3, 5, 7, true, false}, {3, 5, 7, false, true}, {3, 5, 7, true, true},
		// Large enough (m·n·k >= 2²¹) to be cut by columns or rows in the OpenBLAS build:
		{640, 2100, 48, false, false}, {33, 4000, 40, true, false}, {100, 3000, 20, false, true},
		{300, 130, 64, false, true}, {1500, 40, 60, false, false}, {1200, 50, 40, true, false},
	} {
		lda, ldb, ldc := tc.k+3, tc.n+1, tc.n+2
		ar, br := tc.m, tc.k
		if tc.tA {
			lda, ar = tc.m+3, tc.k
		}
		if tc.tB {
			ldb, br = tc.k+1, tc.n
		}
		a, b, c := make([]float32, ar*lda), make([]float32, br*ldb), make([]float32, tc.m*ldc)
		for i := range a {
			a[i] = float32(math.Sin(float64(i)))
		}
		for i := range b {
			b[i] = float32(math.Cos(float64(i) * 0.7))
		}
		for i := range c {
			c[i] = float32(i%7) - 3
		}
		want := make([]float64, len(c))
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				var s float64
				for l := 0; l < tc.k; l++ {
					ai, bi := i*lda+l, l*ldb+j
					if tc.tA {
						ai = l*lda + i
					}
					if tc.tB {
						bi = j*ldb + l
					}
					av, bv := a[ai], b[bi]
					s += float64(av) * float64(bv)
				}
				want[i*ldc+j] = 0.5*s + 2*float64(c[i*ldc+j])
			}
		}
		gemm(tc.tA, tc.tB, tc.m, tc.n, tc.k, 0.5, a, lda, b, ldb, 2, c, ldc)
		for i := 0; i < tc.m; i++ {
			for j := 0; j < tc.n; j++ {
				if g, w := float64(c[i*ldc+j]), want[i*ldc+j]; math.Abs(g-w) > 1e-4*(1+math.Abs(w)) {
					t.Fatalf("%+v: c[%d,%d] = %g, want %g", tc, i, j, g, w)
				}
			}
		}
	}
}
