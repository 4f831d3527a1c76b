// Command prep measures kiln prep against its own ceiling: the tokenizer alone (sentence
// splitting and WordPiece encoding of the same documents, on the same number of workers),
// and the whole pipeline (pipeline.Prep into shards). It prints one JSON object per run, for
// bench/prep.sh to tabulate, and can write a CPU profile of either mode.
//
//	go run ./bench/prep -mode tokenize -workers 2 -vocab VOCAB -input DIR
//	go run ./bench/prep -mode prep -workers 2 -vocab VOCAB -input DIR -output OUT -cpuprofile cpu.out
//
// It is a measuring tool, not part of kiln's command line.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/tokenize"
	"github.com/kiln-bert/kiln/tokenize/sentence"
)

// result is what one run reports.
type result struct {
	Mode          string  `json:"mode"`
	Workers       int     `json:"workers"`
	TextBytes     int64   `json:"text_bytes"`
	Documents     int64   `json:"documents"`
	Tokens        int64   `json:"tokens"`
	Seconds       float64 `json:"seconds"`
	MBPerSecond   float64 `json:"mb_per_second"`
	Rows          int64   `json:"rows,omitempty"`
	BytesPerToken float64 `json:"bytes_per_token,omitempty"`
	CPUSeconds    float64 `json:"cpu_seconds"` // user+sys of the whole process, tokenizer loading included
	MaxRSSMiB     float64 `json:"max_rss_mib"`
}

func main() {
	mode := flag.String("mode", "tokenize", "tokenize (split and encode only) or prep (the whole pipeline into shards)")
	workers := flag.Int("workers", 1, "worker goroutines")
	vocab := flag.String("vocab", "", "vocab.txt")
	format := flag.String("format", "text", "input format: lines, text or jsonl")
	input := flag.String("input", "", "input paths, comma separated")
	output := flag.String("output", "", "prep: output directory (must not exist or be empty)")
	masking := flag.String("masking", "static", "prep: static or dynamic")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured part to this file")
	flag.Parse()
	if err := run(*mode, *workers, *vocab, *format, *input, *output, *masking, *cpuprofile); err != nil {
		fmt.Fprintln(os.Stderr, "bench/prep:", err)
		os.Exit(1)
	}
}

func run(mode string, workers int, vocab, format, input, output, masking, cpuprofile string) error {
	cfg := pipeline.DefaultExampleConfig()
	cfg.Inputs = strings.Split(input, ",")
	if err := cfg.Format.UnmarshalText([]byte(format)); err != nil {
		return err
	}
	cfg.Vocab = vocab
	cfg.Workers = workers
	if err := cfg.Masking.UnmarshalText([]byte(masking)); err != nil {
		return err
	}
	ex, err := pipeline.NewExamples(cfg) // loads the tokenizer outside the measured part
	if err != nil {
		return err
	}
	stop := func() {}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		stop = func() { pprof.StopCPUProfile(); f.Close() }
	}
	res := result{Mode: mode, Workers: workers}
	switch mode {
	case "tokenize":
		err = tokenizeOnly(ex, &res)
	case "prep":
		var sum *pipeline.PrepSummary
		sum, err = pipeline.Prep(context.Background(), ex, pipeline.ShardOptions{Dir: output, Version: "bench"})
		if err == nil {
			res.TextBytes = sum.Examples.Source.TextBytes
			res.Documents = sum.Examples.Source.Documents
			res.Tokens = sum.Examples.Tokens
			res.Seconds = sum.Seconds
			res.Rows = sum.Examples.Rows
			res.BytesPerToken = sum.BytesPerToken
		}
	default:
		err = fmt.Errorf("mode %q: want tokenize or prep", mode)
	}
	stop()
	if err != nil {
		return err
	}
	res.MBPerSecond = float64(res.TextBytes) / 1e6 / res.Seconds
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		res.MaxRSSMiB = float64(ru.Maxrss) / 1024 // kilobytes on Linux
		res.CPUSeconds = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// tokenizeOnly reads the same documents as prep and splits and encodes them on the same
// number of workers, in order, and nothing else: the ceiling for prep's throughput.
func tokenizeOnly(ex *pipeline.Examples, res *result) error {
	cfg := ex.Config()
	format := cfg.Format
	splitter, err := sentence.New()
	if err != nil {
		return err
	}
	tok := ex.Tokenizer()
	start := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := pipeline.NewSource(ex.Inputs(), pipeline.SourceOptions{
		Format: format, JSONField: cfg.JSONField, MaxLineBytes: cfg.MaxLineBytes, MaxDocBytes: cfg.MaxDocBytes,
	})
	docs := make(chan pipeline.Document, 2*cfg.Workers)
	srcErr := make(chan error, 1)
	go func() {
		defer close(docs)
		srcErr <- src.Run(ctx, func(d pipeline.Document) error {
			docs <- d
			return nil
		})
	}()
	counts := pipeline.OrderedMap(ctx, docs, cfg.Workers, 4*cfg.Workers, func(d pipeline.Document) int64 {
		var enc tokenize.Encoding
		var sents []string
		var n int64
		for _, u := range d.Units {
			if !d.Split {
				tok.Encode(&enc, u)
				n += int64(len(enc.IDs))
				continue
			}
			sents = splitter.Split(sents[:0], u)
			for _, s := range sents {
				tok.Encode(&enc, s)
				n += int64(len(enc.IDs))
			}
		}
		return n
	})
	for n := range counts {
		res.Tokens += n
		res.Documents++
	}
	if err := <-srcErr; err != nil {
		return err
	}
	res.Seconds = time.Since(start).Seconds()
	res.TextBytes = src.Stats().TextBytes
	return nil
}
