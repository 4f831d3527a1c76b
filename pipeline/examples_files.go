package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/kiln-bert/kiln/internal/fileio"
	"github.com/kiln-bert/kiln/tokenize"
)

// Opener opens a run's file (an input, the vocabulary or the tokenizer.json) by its name, as
// the run names it: a local path, or a URL of another file system (gs://bucket/a.txt, as
// kiln's Beam module opens them through Beam's file systems).
type Opener func(name string) (io.ReadCloser, error)

// ExampleFiles gives NewExamplesFrom a run's files from somewhere other than the local file
// system.
type ExampleFiles struct {
	// Inputs are the run's input files, listed by the caller in the order to read them (file i
	// is TokenizeFile's fileIndex i). Their Path is the name that the run records (in the
	// config, the manifest and the stats) and that errors give; Size may be 0 (unknown).
	Inputs []Input
	// Open opens an input by its Path, and the config's Vocab and Tokenizer by their names.
	Open Opener
	// Notes are what the user should know about the listing of the inputs (Examples.Notes).
	Notes []string
}

// NewExamplesFrom is NewExamples whose inputs are files.Inputs (cfg.Inputs are recorded as
// given, not listed) and whose inputs, vocabulary and tokenizer.json are read with files.Open.
// The names in cfg are recorded as given (NewExamples makes a local vocabulary's path
// absolute; a caller that wants the same record does so first). The output is the same as
// NewExamples' on local copies of the same files listed in the same order, but for the names
// recorded.
func NewExamplesFrom(cfg ExampleConfig, files ExampleFiles) (*Examples, error) {
	if files.Open == nil {
		return nil, errors.New("examples: no opener for the run's files")
	}
	if len(files.Inputs) == 0 {
		return nil, errors.New("no input given")
	}
	return newExamples(cfg, &files)
}

// inputs returns the run's inputs: those of f, or, when f is nil, those cfg names on the
// local file system (ExpandInputsExcept).
func (f *ExampleFiles) inputs(cfg ExampleConfig) ([]Input, []string, error) {
	if f == nil {
		return ExpandInputsExcept(cfg.Inputs, cfg.Exclude)
	}
	return append([]Input(nil), f.Inputs...), f.Notes, nil
}

// opener returns the opener of the run's inputs; nil for the local file system.
func (f *ExampleFiles) opener() Opener {
	if f == nil {
		return nil
	}
	return f.Open
}

// loadVocab loads the vocab.txt at path: with f.Open, or from the local file system when f
// is nil (tokenize.LoadVocab).
func (f *ExampleFiles) loadVocab(path string) (*tokenize.Vocab, error) {
	if f == nil {
		return tokenize.LoadVocab(path)
	}
	data, err := f.read(path, fileio.MaxVocab)
	if err != nil {
		return nil, fmt.Errorf("vocabulary %s: %w", path, err)
	}
	return tokenize.ParseVocab(path, data)
}

// loadJSON loads the tokenizer.json at path: with f.Open, or from the local file system when
// f is nil (tokenize.LoadJSON).
func (f *ExampleFiles) loadJSON(path string) (*tokenize.Tokenizer, error) {
	if f == nil {
		return tokenize.LoadJSON(path)
	}
	data, err := f.read(path, fileio.MaxTokenizerJSON)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json %s: %w", path, err)
	}
	return tokenize.ParseJSON(path, data)
}

// read reads the file name with f.Open, refusing one longer than limit bytes.
func (f *ExampleFiles) read(name string, limit int) ([]byte, error) {
	r, err := f.Open(name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, err
	}
	if len(data) > limit {
		return nil, fmt.Errorf("more than %d bytes", limit)
	}
	return data, nil
}

// openTable opens the table file (parquet, arrow) path for random access: the local file, or,
// when the source has an Opener, a local copy of what it reads (a temporary file, removed by
// done: the table readers need to seek, which the readers of object stores do not offer).
func (s *Source) openTable(path string) (f *os.File, done func(), err error) {
	if s.opts.Open == nil {
		f, err := os.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return f, func() { f.Close() }, nil
	}
	r, err := s.opts.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	f, err = os.CreateTemp("", "kiln-input-*")
	if err != nil {
		return nil, nil, err
	}
	done = func() { f.Close(); os.Remove(f.Name()) }
	if _, err := io.Copy(f, r); err != nil {
		done()
		return nil, nil, fmt.Errorf("copying to a local file: %w", err)
	}
	return f, done, nil
}
