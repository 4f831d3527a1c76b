package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"sort"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/kiln-bert/kiln/pipeline"
)

// The pipeline (buildPipeline) runs kiln's partitioned prep with the entry points of package
// pipeline's Partitioner, the ones the local engine (kiln prep --partitions N) calls:
//
//	input files (listed at launch, in kiln's order)
//	  -> Reshuffle (spread the files over the workers)
//	  -> ParDo(tokenizeFileFn): Partitioner.TokenizeFile, each document keyed by its partition
//	  -> GroupByKey (partition)
//	  -> ParDo(preparePartitionFn): sort into canonical order, Partitioner.PrepareSorted
//	     (pairing, masking, shuffle, shards under DIR/part-NNNNN/)
//	  -> CoGroupByKey with the file results, under one key
//	  -> ParDo(writeManifestFn): Partitioner.WriteManifest (DIR/manifest.json, prep-stats.json)
//
// Every DoFn is a struct with exported fields (Beam serializes them to the workers) and is
// registered below with beam/register: Prism and the portable runners find DoFns by their
// registered type, and anonymous functions fail there at run time.
func init() {
	register.DoFn4x1[context.Context, fileTask, func(int, []byte), func(int, []byte), error](&tokenizeFileFn{})
	register.DoFn4x1[context.Context, int, func(*[]byte) bool, func(int, []byte), error](&preparePartitionFn{})
	register.DoFn4x1[context.Context, int, func(*[]byte) bool, func(*[]byte) bool, error](&writeManifestFn{})
	register.Emitter2[int, []byte]()
	register.Iter1[[]byte]()
	beam.RegisterType(typeOfFileTask)
}

// Job is what every worker needs to rebuild the run's Partitioner: the run's settings, as the
// launcher checked them. Beam serializes it (as JSON) with each DoFn.
type Job struct {
	// Config is the run's ExampleConfig with its defaults filled in (Examples.Config), so that
	// each worker records the same config as the launcher.
	Config pipeline.ExampleConfig
	// The fields of ExampleConfig that its JSON form leaves out: they do not change the
	// output, but bound memory, set the tokenizing goroutines and keep the output unread.
	MaxRowGroupBytes int64
	Workers          int
	Exclude          []string

	Shard      pipeline.ShardOptions // Dir is unused: the shards go to Output
	Partitions int
	Output     string // the run's directory (the same path on every worker) or URL (gs://...)
	// Inputs are the run's inputs as the launcher listed them (Beam's file systems).
	Inputs []pipeline.Input
	// StartUnixNano is when the launcher started the run, for the run's duration in the stats.
	StartUnixNano int64
}

// partitioner builds the run's Partitioner, as the launcher did.
func (j *Job) partitioner() (*pipeline.Partitioner, error) {
	cfg := j.Config
	cfg.MaxRowGroupBytes, cfg.Workers, cfg.Exclude = j.MaxRowGroupBytes, j.Workers, j.Exclude
	ex, err := newExamples(context.Background(), cfg, j.Inputs, j.Output)
	if err != nil {
		return nil, err
	}
	return pipeline.NewPartitioner(ex, j.Partitions, j.Shard)
}

// fileTask is one input file of the run: its position in kiln's input order (TokenizeFile's
// fileIndex) and its path, as listed by the launcher.
type fileTask struct {
	Index int
	Path  string
}

var typeOfFileTask = typeOf[fileTask]()

// tokenizeFileFn splits and tokenizes one input file (Partitioner.TokenizeFile) and emits
// each document's encoding keyed by its partition, and the file's result under key 0.
type tokenizeFileFn struct {
	Job Job

	p *pipeline.Partitioner
}

func (f *tokenizeFileFn) Setup() error {
	var err error
	f.p, err = f.Job.partitioner()
	return err
}

func (f *tokenizeFileFn) ProcessElement(ctx context.Context, t fileTask, emitDoc func(int, []byte), emitFile func(int, []byte)) error {
	ins := f.p.Inputs()
	if t.Index < 0 || t.Index >= len(ins) || ins[t.Index].Path != t.Path {
		return fmt.Errorf("input %s: the inputs changed after the run started (file %d of %d is not this one here)", t.Path, t.Index, len(ins))
	}
	res, err := f.p.TokenizeFile(ctx, t.Index, ins[t.Index], func(part int, d pipeline.PartDoc) error {
		b, err := d.MarshalBinary()
		if err != nil {
			return fmt.Errorf("input %s: %w", t.Path, err)
		}
		emitDoc(part, b)
		return nil
	})
	if err != nil {
		return err
	}
	b, err := json.Marshal(res)
	if err != nil {
		return err
	}
	emitFile(0, b)
	return nil
}

// preparePartitionFn prepares one partition from its documents (sorted into the canonical
// order, then Partitioner.PrepareSorted: pairing, masking, shuffle, shards) and emits its
// result under key 0.
//
// A runner may retry the bundle, or run it twice at once (a straggler's backup):
// PrepareSorted writes every file under a directory unique to the call and renames it
// into place, so that each attempt leaves the same bytes and no temporary file. With a URL
// output the partition is prepared locally and published (beamfs.go): each file under a name
// unique to the attempt, renamed once written.
type preparePartitionFn struct {
	Job Job

	p *pipeline.Partitioner
	// beforeDoc, when set (by tests), is called before the partition's document i (in
	// canonical order) is handed to the Partitioner.
	beforeDoc func(i int)
}

func (f *preparePartitionFn) Setup() error {
	var err error
	f.p, err = f.Job.partitioner()
	return err
}

func (f *preparePartitionFn) ProcessElement(ctx context.Context, part int, docs func(*[]byte) bool, emit func(int, []byte)) error {
	// The documents arrive in any order: sort their encodings into the canonical order (file
	// index, document index) and decode them one at a time as the partition is prepared, so
	// that the partition is held encoded (about a byte or two a token), not as ids.
	type encoded struct {
		file, index int
		b           []byte
	}
	var all []encoded
	var b []byte
	for docs(&b) {
		var d pipeline.PartDoc
		if err := d.UnmarshalBinary(b); err != nil {
			return fmt.Errorf("partition %d: document %d: %w", part, len(all), err)
		}
		all = append(all, encoded{d.FileIndex, d.Index, b})
	}
	slices.SortFunc(all, func(a, b encoded) int {
		return cmp.Or(cmp.Compare(a.file, b.file), cmp.Compare(a.index, b.index))
	})
	i := 0
	next := func() (pipeline.PartDoc, error) {
		var d pipeline.PartDoc
		if i == len(all) {
			return d, io.EOF
		}
		if f.beforeDoc != nil {
			f.beforeDoc(i)
		}
		err := d.UnmarshalBinary(all[i].b)
		all[i].b = nil
		i++
		return d, err
	}
	res, err := prepareAndPublish(ctx, f.p, part, next, f.Job.Output)
	if err != nil {
		return err
	}
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	emit(0, out)
	return nil
}

// writeManifestFn is the final step: once every partition is written, it writes the run's
// manifest and stats (Partitioner.WriteManifest) from the results of the files and the
// partitions.
type writeManifestFn struct {
	Job Job

	p *pipeline.Partitioner
}

func (f *writeManifestFn) Setup() error {
	var err error
	f.p, err = f.Job.partitioner()
	return err
}

func (f *writeManifestFn) ProcessElement(ctx context.Context, _ int, fileResults, partResults func(*[]byte) bool) error {
	var files []pipeline.FileResult
	var parts []pipeline.PartitionResult
	var b []byte
	for fileResults(&b) {
		var r pipeline.FileResult
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("file result %d: %w", len(files), err)
		}
		files = append(files, r)
	}
	for partResults(&b) {
		var r pipeline.PartitionResult
		if err := json.Unmarshal(b, &r); err != nil {
			return fmt.Errorf("partition result %d: %w", len(parts), err)
		}
		parts = append(parts, r)
	}
	// A runner may hand a retried element's output twice: keep one result per file and
	// partition (the attempts' results are the same).
	files = uniqueBy(files, func(r pipeline.FileResult) int { return r.Index })
	parts = uniqueBy(parts, func(r pipeline.PartitionResult) int { return r.Partition })
	seconds := time.Since(time.Unix(0, f.Job.StartUnixNano)).Seconds()
	return writeAndPublishManifest(ctx, f.p, f.Job.Output, files, parts, seconds)
}

// uniqueBy sorts rs by key and keeps the first of each key.
func uniqueBy[T any](rs []T, key func(T) int) []T {
	sort.SliceStable(rs, func(i, j int) bool { return key(rs[i]) < key(rs[j]) })
	return slices.CompactFunc(rs, func(a, b T) bool { return key(a) == key(b) })
}

// buildPipeline returns the pipeline of job over the input files of p (the launcher's
// Partitioner of the same job).
func buildPipeline(job Job, p *pipeline.Partitioner) *beam.Pipeline {
	pl, s := beam.NewPipelineWithRoot()
	var tasks []fileTask
	for i, in := range p.Inputs() {
		tasks = append(tasks, fileTask{Index: i, Path: in.Path})
	}
	files := beam.Reshuffle(s.Scope("ListInputs"), beam.CreateList(s.Scope("ListInputs"), tasks))
	docs, fileResults := beam.ParDo2(s.Scope("TokenizeFiles"), &tokenizeFileFn{Job: job}, files)
	byPart := beam.GroupByKey(s.Scope("GroupByPartition"), docs)
	partResults := beam.ParDo(s.Scope("PreparePartitions"), &preparePartitionFn{Job: job}, byPart)
	results := beam.CoGroupByKey(s.Scope("CollectResults"), fileResults, partResults)
	beam.ParDo0(s.Scope("WriteManifest"), &writeManifestFn{Job: job}, results)
	return pl
}

// typeOf returns the reflect.Type of T.
func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }
