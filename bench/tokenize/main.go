// Command tokenize benchmarks kiln's tokenizer on a corpus, one text per file, best of several
// runs: Encode in a loop on one goroutine (reusing one Encoding), then EncodeBatch (which
// returns every encoding) with 1 and with N workers. bench/tokenize.sh runs it
// beside the Hugging Face peer (bench/tokenize_hf.js) and prints the ratios.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	"github.com/kiln-bert/kiln/tokenize"
)

func main() {
	vocab := flag.String("vocab", "../shared/data/vocab/bert-base-uncased-vocab.txt", "vocab.txt")
	corpus := flag.String("corpus", "../shared/data/corpora/sotu", "directory of .txt files, one text per file")
	cased := flag.Bool("cased", false, "cased tokenizer (no lowercasing, no accent stripping)")
	reps := flag.Int("reps", 5, "runs of each measurement; the best is reported")
	workers := flag.Int("workers", 2, "workers for the batch measurement")
	flag.Parse()

	tk, err := tokenize.Load(*vocab, *cased)
	if err != nil {
		log.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(*corpus, "*.txt"))
	if err != nil || len(files) == 0 {
		log.Fatalf("no .txt files in %s (%v)", *corpus, err)
	}
	var texts []string
	bytes := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		texts = append(texts, string(data))
		bytes += len(data)
	}
	fmt.Printf("# kiln: %d texts, %.2f MB, GOMAXPROCS %d, %s\n", len(texts), float64(bytes)/1e6, runtime.GOMAXPROCS(0), runtime.Version())

	// best returns the best wall-clock MB/s of the runs, the tokens, and MB per CPU-second
	// of the process (user + system) over all runs: on a busy machine wall-clock speed-ups
	// mislead, while CPU time per MB shows whether more workers waste work.
	best := func(run func() int) (float64, int, float64) {
		var top float64
		tokens := 0
		cpu0 := cpuSeconds()
		for range *reps {
			start := time.Now()
			tokens = run()
			if mbs := float64(bytes) / 1e6 / time.Since(start).Seconds(); mbs > top {
				top = mbs
			}
		}
		return top, tokens, float64(bytes) / 1e6 * float64(*reps) / (cpuSeconds() - cpu0)
	}
	mbs, tokens, perCPU := best(func() int {
		var e tokenize.Encoding
		n := 0
		for _, s := range texts {
			tk.Encode(&e, s)
			n += len(e.IDs)
		}
		return n
	})
	fmt.Printf("RESULT kiln_encode_1 %.2f %d %.2f\n", mbs, tokens, perCPU)
	for _, n := range []int{1, *workers} {
		mbs, tokens, perCPU = best(func() int {
			out, err := tk.EncodeBatch(context.Background(), texts, n)
			if err != nil {
				log.Fatal(err)
			}
			total := 0
			for i := range out {
				total += len(out[i].IDs)
			}
			return total
		})
		fmt.Printf("RESULT kiln_batch_%d %.2f %d %.2f\n", n, mbs, tokens, perCPU)
	}
}

// cpuSeconds is the CPU time (user + system) the process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
