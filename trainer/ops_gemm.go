package trainer

import (
	"runtime"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// This file holds the matrix products of the ops: gemm over gonum's BLAS interface (pure Go,
// or OpenBLAS in a build with -tags openblas; see blas_*.go) and a tiled transpose.

// gemm computes c = alpha*op(a)*op(b) + beta*c on row-major matrices through gonum's BLAS
// (the registered implementation: pure Go by default, OpenBLAS with -tags openblas). With
// OpenBLAS, which then runs single-threaded (see blas_openblas.go), a large product is cut into
// column (or row) blocks computed on GOMAXPROCS goroutines; gonum's BLAS spreads its work over
// goroutines itself.
func gemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if w := min(runtime.GOMAXPROCS(0), 8); splitGemm && w > 1 && m*n*k >= 1<<21 {
		if n >= m && n >= 2*w {
			parallel(n, (n+w-1)/w, func(j0, j1 int) {
				bo := j0 // op(B)[:, j0:]: columns of B, or rows of Bᵀ
				if tB {
					bo = j0 * ldb
				}
				gemm1(tA, tB, m, j1-j0, k, alpha, a, lda, b[bo:], ldb, beta, c[j0:], ldc)
			})
			return
		}
		if m >= 2*w {
			parallel(m, (m+w-1)/w, func(i0, i1 int) {
				ao := i0 * lda // op(A)[i0:, :]: rows of A, or columns of Aᵀ
				if tA {
					ao = i0
				}
				gemm1(tA, tB, i1-i0, n, k, alpha, a[ao:], lda, b, ldb, beta, c[i0*ldc:], ldc)
			})
			return
		}
	}
	gemm1(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemm1[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	ar, ac, br, bc := m, k, k, n
	if tA {
		ta, ar, ac = blas.Trans, k, m
	}
	if tB {
		tb, br, bc = blas.Trans, n, k
	}
	switch a := any(a).(type) {
	case []float32:
		blas32.Gemm(ta, tb, float32(alpha),
			blas32.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
			blas32.General{Rows: br, Cols: bc, Stride: ldb, Data: any(b).([]float32)},
			float32(beta), blas32.General{Rows: m, Cols: n, Stride: ldc, Data: any(c).([]float32)})
	case []float64:
		blas64.Gemm(ta, tb, float64(alpha),
			blas64.General{Rows: ar, Cols: ac, Stride: lda, Data: a},
			blas64.General{Rows: br, Cols: bc, Stride: ldb, Data: any(b).([]float64)},
			float64(beta), blas64.General{Rows: m, Cols: n, Stride: ldc, Data: any(c).([]float64)})
	}
}

// transpose writes the transpose of the r×c matrix a (row stride lda) into t (c×r), in tiles
// on GOMAXPROCS goroutines.
func transpose[T float](t, a []T, r, c, lda int) {
	const tile = 32
	parallel((c+tile-1)/tile, 1, func(lo, hi int) {
		for j0 := lo * tile; j0 < min(hi*tile, c); j0 += tile {
			for i0 := 0; i0 < r; i0 += tile {
				for j := j0; j < min(j0+tile, c); j++ {
					tr := t[j*r : (j+1)*r]
					for i := i0; i < min(i0+tile, r); i++ {
						tr[i] = a[i*lda+j]
					}
				}
			}
		}
	})
}
