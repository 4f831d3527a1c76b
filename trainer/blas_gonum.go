//go:build !openblas

package trainer

// BLASImplementation names the BLAS the model's matrix products use: "gonum" (pure Go) in the
// default build, "openblas" in a build with -tags openblas.
const BLASImplementation = "gonum"

// splitGemm says whether gemm cuts large products over goroutines itself: not with gonum's
// BLAS, which does so on its own.
const splitGemm = false
