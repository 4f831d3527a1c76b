package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kiln-bert/kiln/pipeline"
	"github.com/kiln-bert/kiln/shards"
	"github.com/kiln-bert/kiln/tokenize"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("inspect", "[--examples N] [--vocab FILE] [--json] DIR|SHARD", stderr)
	n := fs.Int("examples", 3, "examples to print, decoded back to text")
	vocabPath := fs.String("vocab", "", "vocabulary `FILE` to decode with (default: the one named in the shards' config, if it is still there)")
	asJSON := fs.Bool("json", false, "print the statistics as JSON, without examples")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
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

// decoder returns a token lookup for printing: from vocabPath if given, else from the
// vocabulary recorded in the shards' config when it is still readable, else ids in brackets.
func decoder(path, vocabPath string) (func(int32) string, string) {
	if vocabPath == "" {
		vocabPath = configVocab(path)
	}
	if vocabPath != "" {
		v, err := tokenize.LoadVocab(vocabPath)
		if err == nil {
			if want := manifestVocabSHA(path); want != "" && want != v.SHA256() {
				return shards.VocabLookup(v.Tokens()), fmt.Sprintf("kiln inspect: warning: %s is not the vocabulary the shards were made with (sha256 %s, the manifest says %s): the text below may be wrong", vocabPath, v.SHA256(), want)
			}
			return shards.VocabLookup(v.Tokens()), ""
		}
		return shards.VocabLookup(nil), fmt.Sprintf("kiln inspect: cannot decode: %v (ids shown instead; give --vocab)", err)
	}
	return shards.VocabLookup(nil), "kiln inspect: no vocabulary known: ids shown (give --vocab)"
}

// manifestOf reads the manifest of path (a shards directory, or a shard in one), or nil.
func manifestOf(path string) *shards.Manifest {
	dir := path
	if fi, err := os.Stat(path); err == nil && !fi.IsDir() {
		dir = filepath.Dir(path)
	}
	m, err := shards.ReadManifest(dir)
	if err != nil {
		return nil
	}
	return m
}

// manifestVocabSHA returns the vocabulary sha256 recorded in the manifest of path, or "".
func manifestVocabSHA(path string) string {
	if m := manifestOf(path); m != nil {
		return m.Metadata[shards.MetaVocabSHA256]
	}
	return ""
}

// configVocab returns the vocabulary path stored in the manifest of path's directory.
func configVocab(path string) string {
	m := manifestOf(path)
	if m == nil {
		return ""
	}
	var cfg pipeline.ExampleConfig
	if json.Unmarshal(m.Config, &cfg) != nil {
		return ""
	}
	return cfg.Vocab
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify", "DIR", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errUsage
	}
	if fi, err := os.Stat(fs.Arg(0)); err == nil && !fi.IsDir() {
		return badFlag("%s is a file: kiln verify checks a shards directory against its %s (give the directory)", fs.Arg(0), shards.ManifestName)
	}
	if note := interruptedNote(fs.Arg(0)); note != "" {
		return fmt.Errorf("%s", note)
	}
	rep, err := shards.Verify(fs.Arg(0))
	if err != nil {
		return err
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
