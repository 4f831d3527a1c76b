// Command googlefmt writes text files in the input format of Google's
// create_pretraining_data.py: one sentence per line (split by kiln's English sentence
// splitter, newlines inside a sentence made spaces), a blank line after each document (one
// document per input file). bench/google.sh feeds the result to both Google's script and
// `kiln prep --format lines`.
//
//	go run ./bench/googlefmt -out corpus.txt [-times N] FILE|DIR...
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kiln-bert/kiln/tokenize/sentence"
)

func main() {
	out := flag.String("out", "", "output file")
	times := flag.Int("times", 1, "write the documents this many times over")
	flag.Parse()
	if err := run(*out, *times, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "googlefmt:", err)
		os.Exit(1)
	}
}

func run(out string, times int, inputs []string) error {
	if out == "" || len(inputs) == 0 || times < 1 {
		return fmt.Errorf("usage: googlefmt -out FILE [-times N] FILE|DIR...")
	}
	var files []string
	for _, in := range inputs {
		err := filepath.WalkDir(in, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".txt") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	sort.Strings(files)
	sp, err := sentence.New()
	if err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	var sents []string
	for range times {
		for _, p := range files {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sents = sp.Split(sents[:0], string(data))
			for _, s := range sents {
				s = strings.Join(strings.Fields(s), " ")
				if s != "" {
					w.WriteString(s)
					w.WriteByte('\n')
				}
			}
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
