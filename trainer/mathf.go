package trainer

import (
	"math"
	"runtime"
	"sync"
)

// This file holds the element-wise kernels of the float32 model: exp and the normal CDF and
// density (for GELU) to float32 precision at a fraction of the cost of math.Exp and math.Erf,
// and the helper that spreads row-independent work over the cores. The float64 model (the
// gradient check) uses math.Exp and math.Erf.

// expf returns e^x with a relative error below 1e-8 (float32's rounding step is 6e-8) for
// x <= 88, 0 below -104 (where float32's e^x is 0) and NaN for NaN: x = k·ln2 + r with |r| <= ln2/2, e^r
// by its Taylor series to degree 7, scaled by 2^k through the exponent bits.
func expf(x float64) float64 {
	if x < -104 {
		return 0
	}
	const log2e, ln2hi, ln2lo = 1.4426950408889634, 6.93147180369123816490e-01, 1.90821492927058770002e-10
	const round = 6755399441055744.0 // 1.5·2^52: adding it rounds to an integer
	kr := x*log2e + round
	k := kr - round
	r := (x - k*ln2hi) - k*ln2lo
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720+r*(1.0/5040)))))))
	return p * math.Float64frombits(uint64(int64(k)+1023)<<52)
}

// normTable holds Φ(x) and φ(x) of the standard normal at knots x = -normRange + i/normSteps,
// for cubic Hermite interpolation (Φ' = φ, φ' = -x·φ): the relative error is below 4e-8 on
// [-8, 8], under float32's rounding step, so GELU and its derivative come out as exact as
// float32 allows. It is computed once and only
// read afterwards.
const (
	normRange = 8.0
	normSteps = 128
)

var normTable = func() []float64 {
	n := int(2*normRange*normSteps) + 2
	t := make([]float64, 2*n)
	for i := 0; i < n; i++ {
		x := -normRange + float64(i)/normSteps
		t[2*i] = 0.5 * math.Erfc(-x/math.Sqrt2)
		t[2*i+1] = math.Exp(-0.5*x*x) / math.Sqrt(2*math.Pi)
	}
	return t
}()

// normCDF returns Φ(x) as normCDFPDF does.
func normCDF(x float64) float64 {
	switch {
	case x <= -normRange:
		return 0
	case x >= normRange:
		return 1
	case x != x: // NaN: passed on, so that a diverged model stops on a NaN loss
		return x
	}
	const h = 1.0 / normSteps
	t := (x + normRange) * normSteps
	i := int(t)
	f := t - float64(i)
	c := normTable[2*i : 2*i+4 : 2*i+4]
	f2 := f * f
	f3 := f2 * f
	return (2*f3-3*f2+1)*c[0] + (f3-2*f2+f)*h*c[1] + (-2*f3+3*f2)*c[2] + (f3-f2)*h*c[3]
}

// normCDFPDF returns Φ(x) and φ(x) for the standard normal distribution (relative error below 4e-8;
// beyond ±8, where float32 cannot tell Φ from 0 or 1, the limits).
func normCDFPDF(x float64) (cdf, pdf float64) {
	switch {
	case x <= -normRange:
		return 0, 0
	case x >= normRange:
		return 1, 0
	case x != x: // NaN
		return x, x
	}
	const h = 1.0 / normSteps
	t := (x + normRange) * normSteps
	i := int(t)
	f := t - float64(i)
	x0 := -normRange + float64(i)*h
	c := normTable[2*i : 2*i+4 : 2*i+4]
	p0, d0, p1, d1 := c[0], c[1], c[2], c[3]
	f2 := f * f
	f3 := f2 * f
	h00, h10, h01, h11 := 2*f3-3*f2+1, f3-2*f2+f, -2*f3+3*f2, f3-f2
	cdf = h00*p0 + h10*h*d0 + h01*p1 + h11*h*d1
	pdf = h00*d0 - h10*h*x0*d0 + h01*d1 - h11*h*(x0+h)*d1
	return cdf, pdf
}

// parallel calls fn on consecutive parts of [0, n), at least grain items each, on up to
// GOMAXPROCS goroutines, and returns when all are done. fn must treat items independently so
// that the result does not depend on how [0, n) is cut.
func parallel(n, grain int, fn func(lo, hi int)) {
	w := min(runtime.GOMAXPROCS(0), n/max(grain, 1))
	if w <= 1 {
		fn(0, n)
		return
	}
	step := (n + w - 1) / w
	var wg sync.WaitGroup
	for lo := step; lo < n; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+step, n))
	}
	fn(0, step)
	wg.Wait()
}
