package shards

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIPCWriter writes the same static-masked SOTU rows (max_seq_len 128, zstd) with
// this package's IPC writer (one reused zstd encoder) and with arrow's ipc.FileWriter (an
// encoder per record batch), sub-benchmarks interleaved, at the prep CLI's batch size
// (32768 rows) and the library's (8192), in shards of 8 MiB and of the default 128 MiB.
// It reports the process CPU per run (cpu-ms/op: the writer's goroutines and the garbage
// collector included), beside the wall time.
//
//	go test -run '^$' -bench IPCWriter -count 5 ./shards/
func BenchmarkIPCWriter(b *testing.B) {
	fx := loadFixture(b)
	rows := fx.onePass(b, "bench-sotu", 128, 60000, true, 41)
	for _, batch := range []int{32768, 8192} {
		for _, shardMB := range []int64{128, 8} {
			for _, writer := range []string{"own", "arrow"} {
				b.Run(fmt.Sprintf("rows=%d/shard=%dMiB/%s", batch, shardMB, writer), func(b *testing.B) {
					var m *Manifest
					cpu0 := cpuTime()
					for b.Loop() {
						o := baseOptions(b.TempDir(), true)
						o.RowsPerBatch, o.ShardBytes = batch, shardMB<<20
						w, err := NewWriter(o)
						if err != nil {
							b.Fatal(err)
						}
						w.arrowIPC = writer == "arrow"
						for i := range rows {
							if err := w.Write(&rows[i]); err != nil {
								b.Fatal(err)
							}
						}
						if m, err = w.Close(); err != nil {
							b.Fatal(err)
						}
					}
					cpu := cpuTime() - cpu0
					b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
					b.ReportMetric(float64(m.Bytes)/float64(m.Tokens), "bytes/token")
				})
			}
		}
	}
}

// cpuTime is the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
