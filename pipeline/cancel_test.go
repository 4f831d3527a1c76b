package pipeline

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// sampleVocab is the vocabulary that ships with kiln's sample corpus.
var sampleVocab = filepath.Join("..", "cmd", "kiln", "sample", "vocab.txt")

// sampleConfig is the default configuration over inputs, with the sample's vocabulary.
func sampleConfig(format string, inputs ...string) ExampleConfig {
	cfg := DefaultExampleConfig()
	cfg.Inputs = inputs
	if err := cfg.Format.UnmarshalText([]byte(format)); err != nil {
		panic(err) // a test's typo
	}
	cfg.Vocab = sampleVocab
	cfg.Workers = 2
	return cfg
}

// zeros is an endless input: one line that never ends.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestSourceCancelledInLongLine: a source that is skipping an over-long line (here an endless
// one) stops promptly when its context is cancelled. The context used to be checked every 4096
// lines, so a run reading /dev/zero ignored Ctrl-C and SIGTERM for ever.
func TestSourceCancelledInLongLine(t *testing.T) {
	for _, format := range []Format{Lines, Text, JSONL} {
		t.Run(format.String(), func(t *testing.T) {
			src := NewSource(nil, SourceOptions{Format: format, MaxLineBytes: 1 << 10})
			ctx, cancel := context.WithCancel(context.Background())
			fr := &fileReader{src: src, path: "zeros", br: bufio.NewReaderSize(zeros{}, readBufferSize), ctx: ctx,
				emit: func(Document) error { return errors.New("a document from an endless line") }}
			done := make(chan error, 1)
			go func() { done <- fr.run(ctx) }()
			time.Sleep(50 * time.Millisecond) // well into the line
			cancel()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("run returned %v, want context.Canceled", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the source still reads the endless line 5s after its context was cancelled")
			}
		})
	}
}

// TestPrepCancelledInLongLine: the same through Prep, reading /dev/zero as the corpus: the run
// ends with the context's error and leaves no manifest.
func TestPrepCancelledInLongLine(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	cfg := sampleConfig("lines", "/dev/zero")
	ex, err := NewExamples(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Cancel once the source is well into the line.
	ctx, cancel := context.WithCancel(context.Background())
	var read int64
	ex.SetProgress(func(n int64) {
		if read += n; read >= 8<<20 {
			cancel()
		}
	})
	dir := t.TempDir()
	done := make(chan error, 1)
	go func() {
		_, err := Prep(ctx, ex, ShardOptions{Dir: dir})
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("prep returned %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("prep still reads /dev/zero (%d MiB read) 10s after its context was cancelled at 8 MiB", read>>20)
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		t.Error("a cancelled prep wrote a manifest")
	}
}
