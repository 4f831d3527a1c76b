package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kiln-bert/kiln/internal/prepflags"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/shards/shardvocab"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := prepflags.NewFlagSet("kiln", "inspect", "[--examples N] [--vocab FILE] [--json] DIR|SHARD", stderr)
	n := fs.Int("examples", 3, "examples to print, decoded back to text")
	vocabPath := fs.String("vocab", "", "vocabulary `FILE` to decode with (default: the one named in the shards' config, if it is still there)")
	asJSON := fs.Bool("json", false, "print the statistics as JSON, without examples")
	if err := prepflags.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return prepflags.ErrUsage
	}
	path := fs.Arg(0)
	if note := interruptedNote(path); note != "" {
		fmt.Fprintf(stderr, "kiln inspect: warning: %s; what follows covers the shards written so far\n", note)
	}
	sum, err := shards.Stats(path)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, sum)
	}
	rows, info, err := shards.Sample(path, *n)
	if err != nil {
		return err
	}
	token, note := decoder(path, *vocabPath)
	if note != "" {
		fmt.Fprintln(stderr, note)
	}
	for i := range rows {
		fmt.Fprintf(stdout, "--- example %d\n%s\n", i+1, shards.FormatRow(&rows[i], info, token))
	}
	fmt.Fprintln(stdout, "--- statistics")
	return sum.WriteText(stdout, 16)
}

// interruptedNote says when dir holds an unfinished kiln prep run: no manifest.json, but the
// progress file that a run keeps while it goes.
func interruptedNote(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, shards.ManifestName)); err == nil {
		return ""
	}
	if _, err := os.Stat(filepath.Join(dir, shards.ProgressName)); err != nil {
		return ""
	}
	return fmt.Sprintf("%s holds an unfinished kiln prep run (no %s yet, only %s); the same kiln prep command again finishes it",
		dir, shards.ManifestName, shards.ProgressName)
}

// decoder returns a token lookup for printing: from vocabPath if given (with a warning when it
// is not the vocabulary the manifest records), else from the vocabulary the shards' manifest
// names when its sha256 is the one the manifest records (a manifest alone cannot make inspect
// print another file), else ids in brackets.
func decoder(path, vocabPath string) (func(int32) string, string) {
	m, dir := manifestOf(path)
	if vocabPath != "" {
		v, err := shardvocab.LoadFile(vocabPath)
		if err != nil {
			return shards.VocabLookup(nil), fmt.Sprintf("kiln inspect: cannot decode: %v (ids shown instead)", err)
		}
		if m != nil {
			if want := m.Metadata[shards.MetaVocabSHA256]; want != "" && want != v.SHA256() {
				return shards.VocabLookup(v.Tokens()), fmt.Sprintf("kiln inspect: warning: %s is not the vocabulary the shards were made with (sha256 %s, the manifest says %s): the text below may be wrong", vocabPath, v.SHA256(), want)
			}
		}
		return shards.VocabLookup(v.Tokens()), ""
	}
	if m == nil {
		return shards.VocabLookup(nil), "kiln inspect: no vocabulary known: ids shown (give --vocab)"
	}
	v, _, err := shardvocab.Load(dir, m)
	switch {
	case errors.Is(err, shardvocab.ErrNotNamed):
		return shards.VocabLookup(nil), "kiln inspect: no vocabulary known: ids shown (give --vocab)"
	case err != nil:
		return shards.VocabLookup(nil), fmt.Sprintf("kiln inspect: cannot decode: %v (ids shown instead; give --vocab)", err)
	}
	return shards.VocabLookup(v.Tokens()), ""
}

// manifestOf reads the manifest of path (a shards directory, or a shard in one) and returns
// it with its directory, or nil.
func manifestOf(path string) (*shards.Manifest, string) {
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	m, err := shards.ReadManifest(dir)
	if err != nil {
		return nil, dir
	}
	return m, dir
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := prepflags.NewFlagSet("kiln", "verify", "DIR", stderr)
	if err := prepflags.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return prepflags.ErrUsage
	}
	if fi, err := os.Stat(fs.Arg(0)); err == nil && !fi.IsDir() {
		return prepflags.BadFlag("%s is a file: kiln verify checks a shards directory against its %s (give the directory)", fs.Arg(0), shards.ManifestName)
	}
	if note := interruptedNote(fs.Arg(0)); note != "" {
		return fmt.Errorf("%s", note)
	}
	rep, err := shards.Verify(fs.Arg(0))
	if err != nil {
		return err
	}
	// vocab_size sizes the trainer's model: it must be the size of the vocabulary the shards
	// were made with.
	if m, err := shards.ReadManifest(fs.Arg(0)); err == nil {
		if err := shardvocab.Check(fs.Arg(0), m); errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "kiln verify: warning: %v: vocab_size %d not checked against it\n", err, m.Info.VocabSize)
		} else if err != nil {
			rep.Failures = append(rep.Failures, shards.Failure{Row: -1, Msg: err.Error()})
		}
	}
	for _, f := range rep.Failures {
		where := f.File
		if where == "" {
			where = "manifest.json"
		}
		if f.Row >= 0 {
			where = fmt.Sprintf("%s: row %d", where, f.Row)
		}
		fmt.Fprintf(stdout, "FAIL %s: %s\n", where, f.Msg)
	}
	if rep.Omitted > 0 {
		fmt.Fprintf(stdout, "FAIL ... and %d more failures not listed\n", rep.Omitted)
	}
	if n := len(rep.Failures) + rep.Omitted; n > 0 {
		return fmt.Errorf("%s: %d failures in %d shards", fs.Arg(0), n, rep.Shards)
	}
	fmt.Fprintf(stdout, "kiln verify: %s: ok: %d shards, %d rows, %d tokens: checksums and every row invariant hold\n", fs.Arg(0), rep.Shards, rep.Rows, rep.Tokens)
	return nil
}
