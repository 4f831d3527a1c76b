package prepflags

import (
	"flag"

	"github.com/kiln-bert/kiln/pipeline"
)

// finishTextColumn settles where each document's text is for cfg.Format: --text-column names
// the column of a parquet or arrow input, and for jsonl it is another spelling of
// --json-field; lines and text have no columns. The values are checked with the rest
// (ExampleConfig.Validate).
func finishTextColumn(fs *flag.FlagSet, cfg *pipeline.ExampleConfig) error {
	set := make(map[string]bool)
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch cfg.Format {
	case pipeline.Parquet, pipeline.Arrow:
		if set["json-field"] && !set["text-column"] {
			return BadFlag("--json-field is for --format jsonl: name the text column of --format %s with --text-column", cfg.Format)
		}
	case pipeline.JSONL:
		if set["text-column"] {
			if set["json-field"] && cfg.JSONField != cfg.TextColumn {
				return BadFlag("--text-column %q and --json-field %q disagree: give one of them", cfg.TextColumn, cfg.JSONField)
			}
			cfg.JSONField = cfg.TextColumn
		}
		cfg.TextColumn = ""
	default:
		if set["text-column"] {
			return BadFlag("--text-column is for --format jsonl, parquet or arrow, not %s", cfg.Format)
		}
		cfg.TextColumn = ""
	}
	return nil
}
