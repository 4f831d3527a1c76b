package pipeline

import "unsafe"

// unitArena holds the text of a file's units (sentences, paragraphs) in shared chunks: a
// unit is copied once into the current chunk and its string points there, so that reading
// Google's one-sentence-per-line text costs an allocation per chunk, not per sentence. A
// chunk is never written again once a unit is in it (the strings stay immutable) and is freed
// when no unit in it is referenced any more; documents pass through prep in order, so the
// chunks alive are those of the documents in flight, plus at most one chunk's slack.
type unitArena struct {
	chunk []byte
}

// unitChunk is the size of an arena chunk; units longer than a quarter of it get their own
// allocation (a paragraph of a long document must not pin, or waste, a chunk's slack).
const unitChunk = 32 << 10

// copy returns b as a string, held in the arena.
func (a *unitArena) copy(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > unitChunk/4 {
		return string(b)
	}
	if cap(a.chunk)-len(a.chunk) < len(b) {
		a.chunk = make([]byte, 0, unitChunk)
	}
	start := len(a.chunk)
	a.chunk = append(a.chunk, b...)
	return unsafe.String(&a.chunk[start], len(b))
}
