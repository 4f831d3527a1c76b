package pipeline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Input is one file to read.
type Input struct {
	Path string // as found: an argument, or below a directory argument
	Size int64  // bytes on disk (compressed size for .gz and .zst)
}

// ExpandInputs turns file, directory and glob arguments into the list of files to read, in
// kiln's fixed order: arguments in the order given; a directory contributes every regular
// file below it whose name does not start with "." (recursively), sorted by path; a glob
// contributes its matches, sorted; a file named twice is read once, where it first appears.
// A path that names nothing, or a glob that matches nothing, is an error: prep fails before
// it starts any work.
func ExpandInputs(args []string) ([]Input, error) {
	in, _, err := ExpandInputsExcept(args, nil)
	return in, err
}

// ExpandInputsExcept is ExpandInputs that never reads a file inside one of the directories
// except names (kiln's output directories, which may lie inside an input directory: a rerun
// would otherwise read the first run's shards as text). A directory of except that does not
// exist yet is ignored. It returns, besides the inputs, one note for each argument that held
// such a directory, to tell the user; an argument that is itself inside one of them is an
// error.
func ExpandInputsExcept(args, except []string) ([]Input, []string, error) {
	if len(args) == 0 {
		return nil, nil, errors.New("no input given")
	}
	ex, err := newExclusions(except)
	if err != nil {
		return nil, nil, err
	}
	var out []Input
	var notes []string
	seen := make(map[string]bool)
	add := func(path string, size int64) {
		key := filepath.Clean(path)
		if !seen[key] {
			seen[key] = true
			out = append(out, Input{Path: path, Size: size})
		}
	}
	for _, arg := range args {
		if dir := ex.holding(arg); dir != "" {
			return nil, nil, fmt.Errorf("input %s is inside the output directory %s: give the corpus, not kiln's output", arg, dir)
		}
		info, err := os.Stat(arg)
		switch {
		case err == nil && info.IsDir():
			var files []Input
			skipped := map[string]bool{}
			err := filepath.WalkDir(arg, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if p != arg && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.IsDir() {
					if dir := ex.is(p); dir != "" {
						skipped[dir] = true
						return filepath.SkipDir
					}
					return nil
				}
				switch {
				case d.Type().IsRegular():
					fi, err := d.Info()
					if err != nil {
						return err
					}
					files = append(files, Input{Path: p, Size: fi.Size()})
				case d.Type()&fs.ModeSymlink != 0:
					// A link to a regular file is read; links to directories are not
					// followed (no cycles).
					fi, err := os.Stat(p)
					if err != nil {
						return fmt.Errorf("%s: %w", p, err)
					}
					if dir := ex.holding(p); dir != "" {
						skipped[dir] = true
						return nil
					}
					if fi.Mode().IsRegular() {
						files = append(files, Input{Path: p, Size: fi.Size()})
					}
				}
				return nil
			})
			if err != nil {
				return nil, nil, fmt.Errorf("input %s: %w", arg, err)
			}
			for _, dir := range ex.dirs {
				if skipped[dir.path] {
					notes = append(notes, fmt.Sprintf("input %s holds the output directory %s: its files are not read as input", arg, dir.path))
				}
			}
			if len(files) == 0 {
				return nil, nil, fmt.Errorf("input %s: directory holds no files", arg)
			}
			sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
			for _, f := range files {
				add(f.Path, f.Size)
			}
		case err == nil:
			add(arg, info.Size())
		case errors.Is(err, fs.ErrNotExist) && strings.ContainsAny(arg, "*?["):
			matches, gerr := filepath.Glob(arg)
			if gerr != nil {
				return nil, nil, fmt.Errorf("input %s: %w", arg, gerr)
			}
			n, skipped := 0, 0
			for _, m := range matches { // Glob sorts its matches
				fi, err := os.Stat(m)
				if err != nil {
					return nil, nil, fmt.Errorf("input %s: %w", m, err)
				}
				if ex.holding(m) != "" {
					skipped++
					continue
				}
				if fi.Mode().IsRegular() {
					add(m, fi.Size())
					n++
				}
			}
			if skipped > 0 {
				notes = append(notes, fmt.Sprintf("input %s matches %d file(s) in the output directory: they are not read as input", arg, skipped))
			}
			if n == 0 {
				return nil, nil, fmt.Errorf("input %s: pattern matches no files", arg)
			}
		default:
			return nil, nil, fmt.Errorf("input %s: %w", arg, err)
		}
	}
	return out, notes, nil
}

// exclusions are the directories whose files are never read as input.
type exclusions struct {
	dirs []excludedDir
}

type excludedDir struct {
	path string      // as given
	real string      // absolute, symbolic links resolved
	info os.FileInfo // to recognise it under another name
}

func newExclusions(paths []string) (exclusions, error) {
	var ex exclusions
	for _, p := range paths {
		if p == "" {
			continue
		}
		info, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue // made by this run: no input can be in it yet
		}
		if err != nil {
			return ex, fmt.Errorf("output directory %s: %w", p, err)
		}
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			real, err = filepath.Abs(real)
		}
		if err != nil {
			return ex, fmt.Errorf("output directory %s: %w", p, err)
		}
		ex.dirs = append(ex.dirs, excludedDir{path: p, real: real, info: info})
	}
	return ex, nil
}

// is returns the excluded directory that dir is (by identity, whatever its name), or "".
func (ex exclusions) is(dir string) string {
	if len(ex.dirs) == 0 {
		return ""
	}
	info, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	for _, d := range ex.dirs {
		if os.SameFile(info, d.info) {
			return d.path
		}
	}
	return ""
}

// holding returns the excluded directory that holds path (or is path), symbolic links
// resolved, or "".
func (ex exclusions) holding(path string) string {
	if len(ex.dirs) == 0 {
		return ""
	}
	real, err := filepath.EvalSymlinks(path)
	if err == nil {
		real, err = filepath.Abs(real)
	}
	if err != nil {
		return ""
	}
	for _, d := range ex.dirs {
		if real == d.real || strings.HasPrefix(real, d.real+string(filepath.Separator)) {
			return d.path
		}
	}
	return ""
}
