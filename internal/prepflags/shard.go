package prepflags

import (
	"flag"
	"strconv"
	"strings"

	"github.com/kiln-bert/kiln/internal/version"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
)

// ShardValues holds the flags that say how shards are written.
type ShardValues struct {
	compression  shards.Compression
	arrowFormat  shards.IPCFormat
	bins         string
	shardMB      float64
	rowsPerBatch int
}

// RegisterShard registers the flags that say how shards are written (prep, pretrain's
// --save-shards) on fs.
func RegisterShard(fs *flag.FlagSet) *ShardValues {
	v := &ShardValues{compression: shards.Zstd, arrowFormat: shards.IPCFile}
	TextVar(fs, &v.compression, "compression", "shard body `COMPRESSION`: zstd, lz4 or none")
	TextVar(fs, &v.arrowFormat, "arrow-format", "Arrow IPC `FORMAT`: file (random access) or stream (what Hugging Face datasets reads; memory-mapped without a copy only with --compression none)")
	fs.Float64Var(&v.shardMB, "shard-mb", shards.DefaultShardBytes>>20, "start a new shard after this many MB (at most 1048576)")
	fs.IntVar(&v.rowsPerBatch, "rows-per-batch", shards.DefaultRowsPerBatch, "rows per Arrow record batch (each is built in memory, then compressed and written)")
	fs.StringVar(&v.bins, "bins", "", "group rows into shards by length, NVIDIA LDDL style: ascending upper bounds, e.g. 32,64,128")
	return v
}

// shardFlagNames maps pipeline.ShardOptions' fields to their flags (SettingError).
var shardFlagNames = map[string]string{
	"Compression": "--compression", "ArrowFormat": "--arrow-format", "ShardBytes": "--shard-mb",
	"RowsPerBatch": "--rows-per-batch", "Bins": "--bins", "MaxSeqLen": "--max-seq-len",
}

// Options checks the shard flags (pipeline.ShardOptions.Validate) and returns the options they
// give for shards of rows of at most maxSeqLen tokens written to dir, which record kiln's
// version (internal/version) in their metadata.
func (v *ShardValues) Options(dir string, maxSeqLen int) (pipeline.ShardOptions, error) {
	// MB are the command line's unit: the options count bytes.
	if !(v.shardMB > 0) || v.shardMB > shards.MaxShardBytes>>20 {
		return pipeline.ShardOptions{}, BadFlag("--shard-mb %v: want a size in MB above 0 and at most %d (1 TiB)", v.shardMB, shards.MaxShardBytes>>20)
	}
	o := pipeline.ShardOptions{
		Dir: dir, Compression: v.compression, ArrowFormat: v.arrowFormat,
		ShardBytes: max(1, int64(v.shardMB*(1<<20))), RowsPerBatch: v.rowsPerBatch, Version: version.Kiln,
	}
	if v.bins != "" {
		for _, f := range strings.Split(v.bins, ",") {
			b, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return o, BadFlag("--bins %q: %v", v.bins, err)
			}
			o.Bins = append(o.Bins, b)
		}
	}
	if err := o.Validate(maxSeqLen); err != nil {
		return o, SettingError(err, shardFlagNames)
	}
	return o, nil
}
