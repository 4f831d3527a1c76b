package shards

import (
	"strconv"
	"strings"

	"github.com/kiln-bert/kiln/internal/setting"
)

// Compression is how a shard's record batch bodies are compressed; manifests spell it as
// its value.
type Compression string

// The compressions a Writer offers.
const (
	Zstd          Compression = "zstd" // the default
	LZ4           Compression = "lz4"  // Arrow's LZ4 frame
	NoCompression Compression = "none"
)

// Validate reports a compression that is none of Zstd, LZ4 and NoCompression.
func (c Compression) Validate() error {
	if c != Zstd && c != LZ4 && c != NoCompression {
		return setting.Errorf("Compression", string(c), "zstd, lz4 or none")
	}
	return nil
}

// UnmarshalText takes a compression's name, refusing an unknown one; "" is the zero value
// (the default, for Options).
func (c *Compression) UnmarshalText(b []byte) error {
	if err := Compression(b).Validate(); err != nil && len(b) > 0 {
		return err
	}
	*c = Compression(b)
	return nil
}

// MarshalText returns the compression's name.
func (c Compression) MarshalText() ([]byte, error) { return []byte(c), nil }

// IPCFormat is the Arrow IPC layout of a shard; manifests spell it as its value.
type IPCFormat string

// The Arrow IPC layouts a Writer offers.
const (
	IPCFile   IPCFormat = "file"   // the default: random access, a footer
	IPCStream IPCFormat = "stream" // what Hugging Face datasets reads
)

// Validate reports a format that is neither IPCFile nor IPCStream.
func (f IPCFormat) Validate() error {
	if f != IPCFile && f != IPCStream {
		return setting.Errorf("Format", string(f), "file or stream")
	}
	return nil
}

// UnmarshalText takes a format's name, refusing an unknown one; "" is the zero value (the
// default, for Options).
func (f *IPCFormat) UnmarshalText(b []byte) error {
	if err := IPCFormat(b).Validate(); err != nil && len(b) > 0 {
		return err
	}
	*f = IPCFormat(b)
	return nil
}

// MarshalText returns the format's name.
func (f IPCFormat) MarshalText() ([]byte, error) { return []byte(f), nil }

// Upper bounds of Options' sizes: far above a real run, low enough that nothing derived from
// them overflows.
const (
	// MaxShardBytes is a shard of 1 TiB.
	MaxShardBytes = 1 << 40
	// MaxRowsPerBatch bounds RowsPerBatch: an Arrow record batch is built in memory (and
	// Info.Validate bounds its tokens, MaxBatchTokens).
	MaxRowsPerBatch = 1 << 20
)

// WithDefaults returns l with its zero values, which stand for the defaults, filled in: Zstd,
// IPCFile, DefaultShardBytes and DefaultRowsPerBatch.
func (l Layout) WithDefaults() Layout {
	if l.Compression == "" {
		l.Compression = Zstd
	}
	if l.Format == "" {
		l.Format = IPCFile
	}
	if l.ShardBytes == 0 {
		l.ShardBytes = DefaultShardBytes
	}
	if l.RowsPerBatch == 0 {
		l.RowsPerBatch = DefaultRowsPerBatch
	}
	return l
}

// withDefaults returns o with the zero values NewWriter documents filled in.
func (o Options) withDefaults() Options {
	o.Layout = o.Layout.WithDefaults()
	return o
}

// Validate reports the first field of o out of range, naming it (a *setting.Error); see
// Layout.Validate. It checks o as the writer uses it: NewWriter fills in the zero values that
// stand for defaults (Layout.WithDefaults) first. The rows' own settings (VocabSize,
// MaxSeqLen, Special, ...) are Info's (Info.Validate).
func (o Options) Validate() error { return o.Layout.Validate(o.MaxSeqLen) }

// Validate reports the first field of l out of range, naming it (a *setting.Error): an unknown
// Compression or Format, a ShardBytes or RowsPerBatch outside 1 to MaxShardBytes or
// MaxRowsPerBatch, Bins that are not ascending positive bounds with the last at least
// maxSeqLen, the longest row. Zero values (the defaults) are out of range: fill them in
// first (WithDefaults).
func (o Layout) Validate(maxSeqLen int) error {
	if err := o.Compression.Validate(); err != nil {
		return err
	}
	if err := o.Format.Validate(); err != nil {
		return err
	}
	switch {
	case o.ShardBytes < 1 || o.ShardBytes > MaxShardBytes:
		return setting.Errorf("ShardBytes", o.ShardBytes, "1 to %d (1 TiB)", int64(MaxShardBytes))
	case o.RowsPerBatch < 1 || o.RowsPerBatch > MaxRowsPerBatch:
		return setting.Errorf("RowsPerBatch", o.RowsPerBatch, "1 to %d", MaxRowsPerBatch)
	}
	for i, b := range o.Bins {
		if b < 1 || (i > 0 && b <= o.Bins[i-1]) {
			return setting.Errorf("Bins", binList(o.Bins), "ascending lengths of at least 1")
		}
	}
	if n := len(o.Bins); n > 0 && o.Bins[n-1] < maxSeqLen {
		return setting.Errorf("Bins", binList(o.Bins), "a last bin that holds the longest rows (MaxSeqLen %d)", maxSeqLen)
	}
	return nil
}

// binList writes bins as a command line does: "32,64,128".
func binList(bins []int) string {
	s := make([]string, len(bins))
	for i, b := range bins {
		s[i] = strconv.Itoa(b)
	}
	return strings.Join(s, ",")
}
