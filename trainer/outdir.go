package trainer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OutMarker is the file a training run leaves in its output directory (TrainConfig.Out), so
// that a later run knows the files there are kiln's to replace.
const OutMarker = ".kiln-train"

// ErrForeignOut is returned (wrapped) by Train when its output directory holds files that no
// kiln training run made: a run would replace metrics.jsonl and loss.png there, or mix its
// checkpoints with someone else's files.
var ErrForeignOut = errors.New("the output directory holds files that no training run made")

// checkOut checks, without writing anything, that a run may write into dir: dir is missing or
// empty, or holds OutMarker, or (a run of a kiln from before the marker) holds checkpoints and
// only files that a training run writes.
func checkOut(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		if st, serr := os.Stat(dir); serr == nil && !st.IsDir() {
			return fmt.Errorf("output %s is a file, not a directory", dir)
		}
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, OutMarker)); err == nil {
		return nil
	}
	var foreign []string
	checkpoints := false
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && strings.HasPrefix(name, ckptPrefix):
			checkpoints = true
		case name == MetricsFile || name == LossPlotFile:
		case e.IsDir() && strings.HasPrefix(name, "."+ckptPrefix) && strings.HasSuffix(name, ".tmp"):
		default:
			foreign = append(foreign, name)
		}
	}
	if checkpoints && len(foreign) == 0 {
		return nil
	}
	if len(foreign) == 0 { // metrics.jsonl or loss.png without a checkpoint or the marker
		for _, e := range entries {
			foreign = append(foreign, e.Name())
		}
	}
	more := ""
	if len(foreign) > 3 {
		more = fmt.Sprintf(" and %d more", len(foreign)-3)
		foreign = foreign[:3]
	}
	return fmt.Errorf("%w: %s holds %s%s; give an empty or new TrainConfig.Out (a training run writes %s, %s and checkpoints there)",
		ErrForeignOut, dir, strings.Join(foreign, ", "), more, MetricsFile, LossPlotFile)
}

// claimOut makes dir (checked by checkOut) and leaves OutMarker in it.
func claimOut(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	path := filepath.Join(dir, OutMarker)
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	return os.WriteFile(path, []byte("made by kiln train: a later run may replace metrics.jsonl, loss.png and checkpoints here\n"), 0o644)
}
