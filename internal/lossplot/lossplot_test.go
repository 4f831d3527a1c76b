package lossplot

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-bert/kiln/trainer"
)

// TestSave checks that Save writes a PNG that decodes, of the plot's size (8x5 inches at
// gonum's 96 dpi), replacing an older one and leaving no temporary file; a NaN loss is left
// out of its series, and no metrics write nothing.
func TestSave(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "loss.png")
	if err := Save(path, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("no metrics wrote %s: %v", path, err)
	}
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	ms := []trainer.Metrics{{Step: 1, Loss: 11, MLMLoss: 10, NSPLoss: 1}, {Step: 2, Loss: math.NaN(), MLMLoss: 9, NSPLoss: 0.7},
		{Step: 3, Loss: 8.5, MLMLoss: 8, NSPLoss: 0.5}}
	if err := Save(path, ms); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	if b := img.Bounds(); b.Dx() != 768 || b.Dy() != 480 {
		t.Errorf("%s is %dx%d, want 768x480", path, b.Dx(), b.Dy())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%s holds %d files, want loss.png only", dir, len(ents))
	}
}
