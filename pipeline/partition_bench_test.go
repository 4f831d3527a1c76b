package pipeline

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// BenchmarkPartitioned measures, over the benchmark corpora's SOTU (233 files, 10.8 MB) and
// with Workers = GOMAXPROCS (run with -cpu 1,2), the tokenizer alone (every file read, split
// and encoded on the workers, nothing kept), the unpartitioned Prep and the partitioned
// local engine (16 partitions, or $KILN_BENCH_PARTITIONS), each into shards at the defaults. The partitioned run
// reports the seconds of its two phases and the spill's size per byte of text. Interleave the
// three in one run (-bench 'BenchmarkPartitioned' runs them in turn).
func BenchmarkPartitioned(b *testing.B) { benchPartitioned(b, benchSOTU(b, 1)) }

// BenchmarkPartitioned10 is BenchmarkPartitioned over SOTU x10 (links to the 233 files in ten
// directories, documents of their own: 108 MB).
func BenchmarkPartitioned10(b *testing.B) {
	files := benchSOTU(b, 1)
	root := b.TempDir()
	for i := range 10 {
		sub := filepath.Join(root, fmt.Sprintf("copy-%02d", i))
		if err := os.Mkdir(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for _, f := range files {
			if err := os.Symlink(f, filepath.Join(sub, filepath.Base(f))); err != nil {
				b.Fatal(err)
			}
		}
	}
	benchPartitioned(b, []string{root})
}

// cpuSeconds returns the user and system CPU time of the process so far.
func cpuSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// reportCPU reports the CPU seconds per MB of text since start (user+sys of the process:
// robust to other load on the machine, unlike MB/s).
func reportCPU(b *testing.B, start float64, text int64) {
	b.ReportMetric((cpuSeconds(b)-start)/float64(b.N)/(float64(text)/1e6), "cpu-s/MB")
}

func benchPartitioned(b *testing.B, inputs []string) {
	parts := 16
	if v, err := strconv.Atoi(os.Getenv("KILN_BENCH_PARTITIONS")); err == nil && v > 1 {
		parts = v // the number of partitions, for a benchmark run
	}
	cfg := testConfig(b, "text", inputs...)
	cfg.Workers = runtime.GOMAXPROCS(0)
	ctx := context.Background()
	b.Run("tokenize", func(b *testing.B) {
		var text int64
		cpu := cpuSeconds(b)
		for b.Loop() {
			ex, err := NewExamples(cfg)
			if err != nil {
				b.Fatal(err)
			}
			p, err := NewPartitioner(ex, parts, ShardOptions{})
			if err != nil {
				b.Fatal(err)
			}
			in := p.Inputs()
			sizes := make([]int64, len(in))
			err = forEach(ctx, len(in), cfg.Workers, func(ctx context.Context, i int) error {
				r, err := p.TokenizeFile(ctx, i, in[i], func(int, PartDoc) error { return nil })
				sizes[i] = r.Source.TextBytes
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			text = 0
			for _, n := range sizes {
				text += n
			}
		}
		b.SetBytes(text)
		reportCPU(b, cpu, text)
	})
	b.Run("prep", func(b *testing.B) {
		var text int64
		cpu := cpuSeconds(b)
		for b.Loop() {
			sum, _ := runPrep(b, cfg, ShardOptions{Dir: b.TempDir()})
			text = sum.Examples.Source.TextBytes
		}
		b.SetBytes(text)
		reportCPU(b, cpu, text)
	})
	b.Run("partitioned", func(b *testing.B) {
		// The stages carry pprof labels (inherited by the goroutines they start, zstd's
		// included): with -cpuprofile, `go tool pprof -tags` gives the serial share, the CPU
		// time of stage=serial (set-up, the manifest) against all.
		var text, spill int64
		var phase1, phase2 time.Duration
		stage := func(name string, f func()) { pprof.Do(ctx, pprof.Labels("stage", name), func(context.Context) { f() }) }
		cpu := cpuSeconds(b)
		for b.Loop() {
			dir := b.TempDir()
			var p *Partitioner
			t0 := time.Now()
			stage("serial", func() {
				ex, err := NewExamples(cfg)
				if err != nil {
					b.Fatal(err)
				}
				if p, err = NewPartitioner(ex, parts, ShardOptions{Dir: dir}); err != nil {
					b.Fatal(err)
				}
			})
			var spills []spillRecord
			stage("tokenize", func() {
				var err error
				if spills, err = p.spillAll(ctx, dir); err != nil {
					b.Fatal(err)
				}
			})
			t1 := time.Now()
			phase1 += t1.Sub(t0)
			spill = 0
			filepath.WalkDir(filepath.Join(dir, spillDirName), func(_ string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					if info, err := d.Info(); err == nil {
						spill += info.Size()
					}
				}
				return nil
			})
			var results []PartitionResult
			stage("prepare", func() {
				var err error
				if results, err = p.prepareAll(ctx, dir, spills); err != nil {
					b.Fatal(err)
				}
			})
			stage("serial", func() {
				files := make([]FileResult, len(spills))
				for i := range spills {
					files[i] = spills[i].Result
				}
				sum, err := p.WriteManifest(dir, files, results, time.Since(t0).Seconds())
				if err != nil {
					b.Fatal(err)
				}
				text = sum.Examples.Source.TextBytes
			})
			phase2 += time.Since(t1)
		}
		b.SetBytes(text)
		reportCPU(b, cpu, text)
		b.ReportMetric(phase1.Seconds()/float64(b.N), "phase1-s/op")
		b.ReportMetric(phase2.Seconds()/float64(b.N), "phase2-s/op")
		b.ReportMetric(float64(spill)/float64(text), "spill-B/text-B")
	})
}
