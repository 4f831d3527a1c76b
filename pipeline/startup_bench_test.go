package pipeline

import "testing"

// BenchmarkNewExamples measures prep's start-up in-process: finding the inputs, loading the
// vocabulary and building the tokenizer's and masking's tables (everything before the first
// document). Its B/op is what the garbage collector sees during start-up.
func BenchmarkNewExamples(b *testing.B) {
	cfg := testConfig(b, "lines", sotuFiles(b)[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := NewExamples(cfg); err != nil {
			b.Fatal(err)
		}
	}
}
