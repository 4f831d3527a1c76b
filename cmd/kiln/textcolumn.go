package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/kiln-bert/kiln/pipeline"
)

// finishTextColumn settles where each document's text is for cfg.Format: --text-column names
// the column of a parquet or arrow input, and for jsonl it is another spelling of
// --json-field; lines and text have no columns. It also checks --max-row-group-bytes.
func finishTextColumn(fs *flag.FlagSet, cfg *pipeline.ExampleConfig) error {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch cfg.Format {
	case "parquet", "arrow":
		if set["json-field"] && !set["text-column"] {
			return badFlag("--json-field is for --format jsonl: name the text column of --format %s with --text-column", cfg.Format)
		}
		if strings.TrimSpace(cfg.TextColumn) == "" {
			return badFlag("--text-column is empty: name the column that holds each document's text")
		}
	case "jsonl":
		if set["text-column"] {
			if set["json-field"] && cfg.JSONField != cfg.TextColumn {
				return badFlag("--text-column %q and --json-field %q disagree: give one of them", cfg.TextColumn, cfg.JSONField)
			}
			if strings.TrimSpace(cfg.TextColumn) == "" {
				return badFlag("--text-column is empty: name the field that holds each document's text")
			}
			cfg.JSONField = cfg.TextColumn
		}
		cfg.TextColumn = ""
	default:
		if set["text-column"] {
			return badFlag("--text-column is for --format jsonl, parquet or arrow, not %s", cfg.Format)
		}
		cfg.TextColumn = ""
	}
	if cfg.MaxRowGroupBytes < 1 {
		return badFlag("--max-row-group-bytes %d: want at least 1", cfg.MaxRowGroupBytes)
	}
	return nil
}

// nullRows describes the null rows a table input skipped, for the prep summary ("" if none).
func nullRows(s pipeline.SourceStats) string {
	if s.SkippedNullRows == 0 {
		return ""
	}
	return fmt.Sprintf(", %d null rows", s.SkippedNullRows)
}
