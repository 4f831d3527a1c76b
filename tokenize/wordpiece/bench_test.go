package wordpiece

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkCount counts the words of the bundled sample corpus (format lines), 2 workers.
func BenchmarkCount(b *testing.B) {
	files, err := filepath.Glob(filepath.Join(sampleDir, "*.txt"))
	if err != nil || len(files) == 0 {
		b.Fatal("no sample corpus")
	}
	for b.Loop() {
		countFiles(b, false, files, 2, 0)
	}
}

// BenchmarkTrain trains on the bundled sample's word counts with Hugging Face's defaults.
func BenchmarkTrain(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(sampleDir, "*.txt"))
	counts := countFiles(b, false, files, 2, 0).Counts()
	for b.Loop() {
		if _, err := Train(context.Background(), counts, HFDefaults()); err != nil {
			b.Fatal(err)
		}
	}
}
