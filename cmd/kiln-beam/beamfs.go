package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs://
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // plain paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/memfs" // memfs:// (tests)
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/s3"    // s3://
	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
)

// kiln-beam reads its inputs, vocabulary and tokenizer.json, and writes its output, through
// Beam's file systems: a plain path is the local file system (as kiln prep reads it), a URL
// (gs://bucket/..., s3://bucket/..., memfs://...) the file system registered for its scheme
// by the imports above. A local input argument is listed as kiln prep lists it (directories
// recursively, globs, kiln's order); a URL argument is an object, a glob of the file system
// (gs://bucket/corpus/*.txt), or a prefix ending in "/" (every object directly below it whose
// name does not start with "."), sorted by name.
//
// The partitions and the manifest are prepared in a local temporary directory by the same
// entry points as kiln prep --partitions N, then published: each file is written under a name
// unique to the attempt (NAME.tmp-RANDOM) and renamed to NAME once complete, the shards
// first and the partition's record (partition.json) or the run's manifest last. A retried or
// duplicated attempt writes the same bytes under the same final names. The final step removes
// the temporary names that failed attempts left.

// isURL reports whether name is a URL of a Beam file system rather than a local path.
func isURL(name string) bool {
	i := strings.Index(name, "://")
	return i > 0 && !strings.ContainsAny(name[:i], `/\`)
}

// openFile is the pipeline.Opener of Beam's file systems. A local path is opened as kiln opens
// its files: a regular file only (a FIFO or a device is refused, never read).
func openFile(ctx context.Context) pipeline.Opener {
	return func(name string) (io.ReadCloser, error) {
		if !isURL(name) {
			return fileio.OpenRegular(name)
		}
		fs, err := newFS(ctx, name)
		if err != nil {
			return nil, err
		}
		r, err := fs.OpenRead(ctx, name)
		if err != nil {
			fs.Close()
			return nil, err
		}
		return &fsReader{r, fs}, nil
	}
}

// fsReader is a file open on a Beam file system; Close closes both.
type fsReader struct {
	io.ReadCloser
	fs filesystem.Interface
}

func (r *fsReader) Close() error { return errors.Join(r.ReadCloser.Close(), r.fs.Close()) }

// listInputs lists the inputs that args name, in kiln's order (see above); files inside the
// output out are never inputs.
func listInputs(ctx context.Context, args []string, out string) ([]pipeline.Input, []string, error) {
	if !slices.ContainsFunc(args, isURL) {
		var except []string
		if !isURL(out) {
			except = []string{out}
		}
		return pipeline.ExpandInputsExcept(args, except)
	}
	var ins []pipeline.Input
	var notes []string
	seen := map[string]bool{}
	for _, arg := range args {
		var got []pipeline.Input
		if !isURL(arg) {
			var n []string
			var err error
			if got, n, err = listInputs(ctx, []string{arg}, out); err != nil {
				return nil, nil, err
			}
			notes = append(notes, n...)
		} else {
			var err error
			if got, err = listURL(ctx, arg, out); err != nil {
				return nil, nil, fmt.Errorf("input %s: %w", arg, err)
			}
		}
		for _, in := range got {
			if !seen[in.Path] {
				seen[in.Path] = true
				ins = append(ins, in)
			}
		}
	}
	return ins, notes, nil
}

// listURL lists the objects of one URL argument.
func listURL(ctx context.Context, arg, out string) ([]pipeline.Input, error) {
	fs, err := newFS(ctx, arg)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	glob, what := arg, "object"
	switch {
	case strings.HasSuffix(arg, "/"):
		glob, what = arg+"*", "prefix"
	case strings.ContainsAny(arg, "*?["):
		what = "pattern"
	}
	names, err := fs.List(ctx, glob)
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	outPrefix := strings.TrimSuffix(out, "/") + "/"
	var ins []pipeline.Input
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), ".") || strings.HasPrefix(n, outPrefix) {
			continue
		}
		size, err := fs.Size(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		ins = append(ins, pipeline.Input{Path: n, Size: size})
	}
	if len(ins) == 0 {
		return nil, fmt.Errorf("%s matches no files", what)
	}
	return ins, nil
}

// newExamples checks cfg and reads its vocabulary, over the inputs given (listed anew when
// nil), through Beam's file systems. A local vocabulary is recorded by absolute path, as kiln
// prep records it. A run whose files are all local is kiln prep's (pipeline.NewExamples).
func newExamples(ctx context.Context, cfg pipeline.ExampleConfig, inputs []pipeline.Input, out string) (*pipeline.Examples, error) {
	if !slices.ContainsFunc(append([]string{cfg.Vocab, cfg.Tokenizer}, cfg.Inputs...), isURL) {
		return pipeline.NewExamples(cfg)
	}
	for _, p := range []*string{&cfg.Vocab, &cfg.Tokenizer} {
		if *p != "" && !isURL(*p) {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return nil, err
			}
			*p = abs
		}
	}
	var notes []string
	if inputs == nil {
		var err error
		if inputs, notes, err = listInputs(ctx, cfg.Inputs, out); err != nil {
			return nil, err
		}
	}
	return pipeline.NewExamplesFrom(cfg, pipeline.ExampleFiles{Inputs: inputs, Open: openFile(ctx), Notes: notes})
}

// localOutput reports whether the run's output is a local directory, which the partitions
// are written to in place (PrepareSorted's own staging and rename).
func localOutput(out string) bool { return !isURL(out) }

// publish copies the files rels (slash-separated, relative to local) to the same names below
// out, each through a name unique to the attempt renamed into place, in the order given.
func publish(ctx context.Context, local, out string, rels []string) error {
	fs, err := newFS(ctx, out)
	if err != nil {
		return err
	}
	defer fs.Close()
	for _, rel := range rels {
		final := strings.TrimSuffix(out, "/") + "/" + rel
		tmp := final + tmpMarker + rand.Text()
		if err := copyTo(ctx, fs, filepath.Join(local, filepath.FromSlash(rel)), tmp); err != nil {
			return fmt.Errorf("output %s: %w", final, err)
		}
		if err := filesystem.Rename(ctx, fs, tmp, final); err != nil {
			return fmt.Errorf("output %s: %w", final, err)
		}
	}
	return nil
}

// tmpMarker marks the name of a file being published.
const tmpMarker = ".tmp-"

// copyTo writes the local file from to name on fs.
func copyTo(ctx context.Context, fs filesystem.Interface, from, name string) error {
	f, err := os.Open(from)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := fs.OpenWrite(ctx, name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, f); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

// publishPartition publishes partition res, prepared below local: its shards, then its record.
func publishPartition(ctx context.Context, local, out string, res pipeline.PartitionResult) error {
	dir := pipeline.PartitionDirName(res.Partition)
	var rels []string
	for _, sh := range res.Manifest.Shards {
		if err := shards.CheckShardName(sh.File); err != nil {
			return err
		}
		rels = append(rels, dir+"/"+sh.File)
	}
	return publish(ctx, local, out, append(rels, dir+"/"+pipeline.PartitionResultName))
}

// removeStray removes what failed attempts left below out: the names being published.
func removeStray(ctx context.Context, out string) error {
	fs, err := newFS(ctx, out)
	if err != nil {
		return err
	}
	defer fs.Close()
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return nil
	}
	base := strings.TrimSuffix(out, "/") + "/"
	for _, glob := range []string{base + "*" + tmpMarker + "*", base + "*/*" + tmpMarker + "*", base + "*/*/*" + tmpMarker + "*"} {
		names, err := fs.List(ctx, glob)
		if err != nil {
			return fmt.Errorf("output %s: %w", out, err)
		}
		for _, n := range names {
			if err := rm.Remove(ctx, n); err != nil {
				return fmt.Errorf("output %s: %w", n, err)
			}
		}
	}
	return nil
}

// checkOutputURL refuses an output that holds anything, as checkOutput does for a local one.
func checkOutputURL(ctx context.Context, out string) error {
	fs, err := newFS(ctx, out)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	defer fs.Close()
	base := strings.TrimSuffix(out, "/") + "/"
	for _, glob := range []string{base + "*", base + "*/*"} {
		names, err := fs.List(ctx, glob)
		if err != nil {
			return fmt.Errorf("output %s: %w", out, err)
		}
		if len(names) > 0 {
			what := "files"
			if slices.Contains(names, base+shards.ManifestName) {
				what = "a finished run"
			}
			return fmt.Errorf("output %s is not empty (it holds %s): use a new or empty location", out, what)
		}
	}
	return nil
}

// readOutput reads the file name of the output out.
func readOutput(ctx context.Context, out, name string) ([]byte, error) {
	full := filepath.Join(out, name)
	if isURL(out) {
		full = strings.TrimSuffix(out, "/") + "/" + name
	}
	r, err := openFile(ctx)(full)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", full, err)
	}
	defer r.Close()
	return io.ReadAll(io.LimitReader(r, 64<<20))
}

// prepareAndPublish prepares partition part (Partitioner.PrepareSorted) in out, a local
// directory, or in a local temporary directory that is then published to out.
func prepareAndPublish(ctx context.Context, p *pipeline.Partitioner, part int, next func() (pipeline.PartDoc, error), out string) (res pipeline.PartitionResult, err error) {
	if localOutput(out) {
		return p.PrepareSorted(ctx, part, next, out)
	}
	tmp, err := os.MkdirTemp("", "kiln-beam-part-")
	if err != nil {
		return res, fmt.Errorf("partition %d: %w", part, err)
	}
	defer os.RemoveAll(tmp)
	if res, err = p.PrepareSorted(ctx, part, next, tmp); err != nil {
		return res, err
	}
	if err := publishPartition(ctx, tmp, out, res); err != nil {
		return res, fmt.Errorf("partition %d: %w", part, err)
	}
	return res, nil
}

// writeAndPublishManifest writes the run's manifest and stats (Partitioner.WriteManifest) in
// out, a local directory, or in a local temporary directory whose two files are then
// published to out, once the names left by failed attempts are removed: the manifest last.
func writeAndPublishManifest(ctx context.Context, p *pipeline.Partitioner, out string, files []pipeline.FileResult, parts []pipeline.PartitionResult, seconds float64) error {
	if localOutput(out) {
		_, err := p.WriteManifest(out, files, parts, seconds)
		return err
	}
	tmp, err := os.MkdirTemp("", "kiln-beam-manifest-")
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	defer os.RemoveAll(tmp)
	if _, err := p.WriteManifest(tmp, files, parts, seconds); err != nil {
		return err
	}
	if err := removeStray(ctx, out); err != nil {
		return err
	}
	return publish(ctx, tmp, out, []string{pipeline.StatsName, shards.ManifestName})
}

// newFS returns the Beam file system of name. The SDK's constructors panic when they cannot
// make a client (s3: no readable AWS configuration; gcs: not even an unauthenticated
// client): that is an error naming the file here.
func newFS(ctx context.Context, name string) (fs filesystem.Interface, err error) {
	defer func() {
		if r := recover(); r != nil {
			fs, err = nil, fmt.Errorf("%s: opening its file system: %v", name, r)
		}
	}()
	return filesystem.New(ctx, name)
}
