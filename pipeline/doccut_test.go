package pipeline

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestSourceDocumentsCutNearMaxDocBytes: no document is much longer than MaxDocBytes, however
// its text falls into paragraphs and lines, so that the memory a document takes is bounded by
// the setting. A text document used to be cut only at the end of a paragraph (a document of
// many paragraphs overshot by up to a whole paragraph), and a jsonl document (one line, up to
// MaxLineBytes) was never cut. Nothing is lost: the words come out in order.
func TestSourceDocumentsCutNearMaxDocBytes(t *testing.T) {
	const maxDoc, lineLen = 300, 40
	dir := t.TempDir()
	var text strings.Builder // paragraphs of 6 lines of 39 characters, words numbered
	var words []string
	var paras []string
	for p := 0; p < 8; p++ {
		var para []string
		for l := 0; l < 6; l++ {
			var line []string
			for w := 0; w < 6; w++ {
				word := fmt.Sprintf("w%04d", len(words))
				words = append(words, word)
				line = append(line, word)
			}
			text.WriteString(strings.Join(line, " ") + "\n")
			para = append(para, strings.Join(line, " "))
		}
		text.WriteString("\n")
		paras = append(paras, strings.Join(para, "\n"))
	}
	txt := filepath.Join(dir, "doc.txt")
	writeFile(t, txt, []byte(text.String()))
	obj, _ := json.Marshal(map[string]string{"text": strings.Join(paras, "\n\n")})
	jsonl := filepath.Join(dir, "doc.jsonl")
	writeFile(t, jsonl, append(obj, '\n'))

	for _, tc := range []struct {
		format Format
		path   string
		limit  int // the longest document allowed
	}{
		{Text, txt, maxDoc + lineLen}, // cut at the line that reaches the bound
		{JSONL, jsonl, maxDoc + 6*lineLen},
	} {
		t.Run(tc.format.String(), func(t *testing.T) {
			docs, stats, err := readAll(t, []Input{{Path: tc.path}}, SourceOptions{Format: tc.format, MaxLineBytes: 1 << 20, MaxDocBytes: maxDoc})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, d := range docs {
				if d.Bytes > tc.limit {
					t.Errorf("document %d holds %d bytes, want at most %d (MaxDocBytes %d)", d.Index, d.Bytes, tc.limit, maxDoc)
				}
				for _, u := range d.Units {
					got = append(got, strings.Fields(u)...)
				}
			}
			if len(docs) < 2 || stats.CutDocuments != int64(len(docs)-1) {
				t.Errorf("%d documents, %d counted as cut; want the %d-byte text cut in parts, each cut counted", len(docs), stats.CutDocuments, text.Len())
			}
			if strings.Join(got, " ") != strings.Join(words, " ") {
				t.Errorf("the documents' words differ from the input's: %d words, want %d", len(got), len(words))
			}
		})
	}
}
