//go:build openblas

package trainer

// #cgo LDFLAGS: -lopenblas
// void openblas_set_num_threads(int);
import "C"

import (
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/netlib/blas/netlib"
)

// In a build with -tags openblas the model's matrix products go to OpenBLAS through cgo
// (gonum.org/v1/netlib) instead of gonum's pure-Go BLAS. gonum's BLAS choice is process-wide
// (blas32.Use, blas64.Use), so it is made once here, before main runs.
//
// OpenBLAS runs single-threaded and kiln cuts each large product over GOMAXPROCS goroutines
// (see gemm): OpenBLAS's own worker threads spin while waiting for work and would take the
// cores from the Go code that runs between two products (on 2 cores that made steps slower
// and their times erratic). So OPENBLAS_NUM_THREADS has no effect on kiln; GOMAXPROCS (default:
// the number of cores) sets the parallelism of everything.
func init() {
	C.openblas_set_num_threads(1)
	blas32.Use(netlib.Implementation{})
	blas64.Use(netlib.Implementation{})
}

// BLASImplementation names the BLAS the model's matrix products use: "openblas" in this build.
const BLASImplementation = "openblas"

// splitGemm says that gemm cuts large products over goroutines itself (see init).
const splitGemm = true
