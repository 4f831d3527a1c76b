// Command source measures how fast pipeline.Source reads a corpus in one input format: it
// reads every document of the given files and prints, as JSON, the documents, the bytes of
// text in them (the same for the same documents in any format) and the seconds taken.
//
// Usage: go run ./bench/source -format parquet FILE...
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kiln-bert/kiln/pipeline"
)

func main() {
	format := flag.String("format", "jsonl", "input format: lines, text, jsonl, parquet or arrow")
	column := flag.String("text-column", "text", "parquet, arrow: the text column; jsonl: the field")
	flag.Parse()
	if err := run(*format, *column, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "source:", err)
		os.Exit(1)
	}
}

func run(format, column string, args []string) error {
	f, err := pipeline.ParseFormat(format)
	if err != nil {
		return err
	}
	inputs, err := pipeline.ExpandInputs(args)
	if err != nil {
		return err
	}
	src := pipeline.NewSource(inputs, pipeline.SourceOptions{Format: f, JSONField: column, TextColumn: column})
	var docs, bytes int64
	start := time.Now()
	err = src.Run(context.Background(), func(d pipeline.Document) error {
		docs++
		bytes += int64(d.Bytes)
		return nil
	})
	secs := time.Since(start).Seconds()
	if err != nil {
		return err
	}
	st := src.Stats()
	return json.NewEncoder(os.Stdout).Encode(map[string]any{
		"documents": docs, "text_bytes": bytes, "seconds": secs, "bytes_read": st.BytesRead,
	})
}
