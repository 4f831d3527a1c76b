package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kiln-bert/kiln/tokenize"
)

// kiln vocab: the end-to-end path (a vocabulary trained on the bundled sample, then prep
// with it), its tokenizer.json in Hugging Face, its flags, and the tokenizer files of the
// checkpoints that train writes.

// trainVocab runs kiln vocab on the bundled sample and returns the vocab.txt and
// tokenizer.json paths and stdout.
func trainVocab(t *testing.T, dir string, extra ...string) (vocab, tokJSON, stdout string) {
	t.Helper()
	vocab, tokJSON = filepath.Join(dir, "vocab.txt"), filepath.Join(dir, "tokenizer.json")
	args := append([]string{"vocab", "--input", "sample/corpus", "--format", "text", "--output", vocab,
		"--tokenizer-json", tokJSON, "--vocab-size", "8000", "--no-progress"}, extra...)
	code, out, errOut := kiln(t, args...)
	if code != 0 {
		t.Fatalf("kiln vocab: exit %d: %s", code, errOut)
	}
	return vocab, tokJSON, out
}

func TestVocabThenPrep(t *testing.T) {
	for _, cased := range []bool{false, true} {
		t.Run("cased="+strconv.FormatBool(cased), func(t *testing.T) {
			dir := t.TempDir()
			var extra []string
			if cased {
				extra = []string{"--cased"}
			}
			vocab, _, out := trainVocab(t, dir, extra...)
			if !strings.Contains(out, "-> 8000 tokens (5 special") {
				t.Fatalf("kiln vocab summary: %s", out)
			}
			v, err := tokenize.LoadVocab(vocab)
			if err != nil {
				t.Fatal(err)
			}
			if got := v.Tokens()[:5]; !slices.Equal(got, []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) {
				t.Fatalf("first tokens %v", got)
			}
			// kiln prep takes it as it is; the [UNK] rate it reports is low.
			args := []string{"prep", "--input", "sample/corpus", "--format", "text", "--vocab", vocab, "--output", filepath.Join(dir, "shards"),
				"--max-seq-len", "128", "--no-progress"}
			if cased {
				args = append(args, "--cased")
			}
			code, out, errOut := kiln(t, args...)
			if code != 0 {
				t.Fatalf("prep with the new vocabulary: exit %d: %s", code, errOut)
			}
			m := regexp.MustCompile(`(\d+) tokens \(\[UNK\] ([0-9.]+)%\)`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("prep reports no [UNK] rate: %s", out)
			}
			if rate, _ := strconv.ParseFloat(m[2], 64); rate > 0.01 {
				t.Errorf("[UNK] rate %s%% with a vocabulary trained on the same corpus", m[2])
			}
			t.Logf("prep with the new vocabulary: %s tokens, [UNK] %s%%", m[1], m[2])
		})
	}
}

// The vocabulary does not depend on --workers, nor on the chunking of the count.
func TestVocabWorkers(t *testing.T) {
	a, _, _ := trainVocab(t, t.TempDir(), "--workers", "1")
	b, _, _ := trainVocab(t, t.TempDir(), "--workers", "3")
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if len(da) == 0 || !bytes.Equal(da, db) {
		t.Fatalf("vocab.txt differs between --workers 1 and 3 (%d and %d bytes)", len(da), len(db))
	}
}

// The tokenizer.json of kiln vocab gives, in Hugging Face's Tokenizer.fromFile and in kiln's
// LoadJSON, the ids kiln gives with the new vocab.txt, on every line of the bundled sample.
func TestVocabTokenizerJSONInHuggingFace(t *testing.T) {
	vocab, tokJSON, _ := trainVocab(t, t.TempDir())
	tok, err := tokenize.Load(vocab, false)
	if err != nil {
		t.Fatal(err)
	}
	back, err := tokenize.LoadJSON(tokJSON)
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("sample/corpus/*.txt")
	var lines []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, strings.Split(string(data), "\n")...)
	}
	in := filepath.Join(t.TempDir(), "lines.txt")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	node, err := exec.LookPath("node")
	requirePeer(t, err == nil, "node (for the Hugging Face tokenizers peer)")
	modules, _ := filepath.Abs("../../tools/peers/node_modules")
	_, err = os.Stat(filepath.Join(modules, "tokenizers", "package.json"))
	requirePeer(t, err == nil, "npm package tokenizers in "+modules)
	cmd := exec.Command(node, "../../tokenize/testdata/hf_encode.js", tokJSON, in)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hf_encode.js: %v", err)
	}
	hf := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(hf) != len(lines) {
		t.Fatalf("hf_encode.js: %d lines for %d", len(hf), len(lines))
	}
	var e, eb tokenize.Encoding
	tokens := 0
	for i, l := range lines {
		tok.Encode(&e, l)
		back.Encode(&eb, l)
		var ids []string
		for _, id := range e.IDs {
			ids = append(ids, strconv.Itoa(int(id)))
		}
		if got := strings.SplitN(hf[i], "\t", 2)[0]; got != strings.Join(ids, " ") {
			t.Fatalf("line %d %.60q: Hugging Face %s, kiln %s", i+1, l, got, strings.Join(ids, " "))
		}
		if !slices.Equal(e.IDs, eb.IDs) {
			t.Fatalf("line %d: kiln's LoadJSON of tokenizer.json gives other ids than vocab.txt", i+1)
		}
		tokens += len(e.IDs)
	}
	t.Logf("%d lines, %d tokens: identical", len(lines), tokens)
}

// requirePeer skips when a peer is missing, except under CI.
func requirePeer(t *testing.T, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing (CI is set, so this is a failure, not a skip)", what)
	}
	t.Skipf("skipping: %s is missing", what)
}

func TestVocabBadFlags(t *testing.T) {
	base := []string{"vocab", "--input", "sample/corpus", "--output", filepath.Join(t.TempDir(), "v.txt")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--vocab-size", "0"}, "--vocab-size 0"},
		{[]string{"--vocab-size", "3"}, "--vocab-size 3: want at least the 5 special tokens"},
		{[]string{"--min-frequency", "-1"}, "--min-frequency -1"},
		{[]string{"--limit-alphabet", "-2"}, "--limit-alphabet -2"},
		{[]string{"--workers", "0"}, "--workers 0"},
		{[]string{"--max-words", "0"}, "--max-words 0"},
		{[]string{"--format", "csv"}, "--format \"csv\""},
		{[]string{"--special-tokens", "[CLS],,[SEP]"}, "--special-tokens"},
		{[]string{"--special-tokens", "[CLS],[CLS]"}, "[CLS] is listed twice"},
		{[]string{"--max-line-bytes", "0"}, "--max-line-bytes 0"},
		{[]string{"--special-tokens", "[PAD],[CLS]", "--tokenizer-json", "t.json"}, "--tokenizer-json needs [UNK]"},
	} {
		code, _, errOut := kiln(t, append(slices.Clone(base), tc.args...)...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 naming %q", tc.args, code, errOut, tc.want)
		}
	}
	if code, _, errOut := kiln(t, "vocab", "--input", "sample/corpus"); code != 2 || !strings.Contains(errOut, "no output") {
		t.Errorf("no --output: exit %d, %s", code, errOut)
	}
	if code, _, errOut := kiln(t, "vocab", "--input", "nope/", "--output", filepath.Join(t.TempDir(), "v.txt")); code != 1 || !strings.Contains(errOut, "nope") {
		t.Errorf("missing input: exit %d, %s", code, errOut)
	}
	// HF's built-in defaults can be expressed: no special tokens, no alphabet limit.
	out := filepath.Join(t.TempDir(), "v.txt")
	code, _, errOut := kiln(t, "vocab", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--output", out, "--special-tokens", "",
		"--limit-alphabet", "0", "--min-frequency", "0", "--no-progress")
	if code != 0 || !strings.Contains(errOut, "no [PAD], [UNK], [CLS], [SEP], [MASK] tokens") {
		t.Errorf("--special-tokens \"\": exit %d, %s (want a warning that prep needs them)", code, errOut)
	}
	if v, err := tokenize.LoadVocab(out); err != nil || strings.HasPrefix(v.Token(0), "[") {
		t.Errorf("--special-tokens \"\": vocabulary starts with %q (%v)", v.Token(0), err)
	}
}

// Every checkpoint train writes holds the tokenizer of its data, as transformers saves a
// BertTokenizerFast, with model_max_length the model's max_position_embeddings.
func TestCheckpointHoldsTokenizer(t *testing.T) {
	dir := t.TempDir()
	vocab, _, _ := trainVocab(t, dir, "--cased")
	shardDir := filepath.Join(dir, "shards")
	if code, _, errOut := kiln(t, "prep", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--vocab", vocab, "--cased",
		"--output", shardDir, "--max-seq-len", "32", "--no-progress"); code != 0 {
		t.Fatalf("prep: exit %d: %s", code, errOut)
	}
	out := filepath.Join(dir, "run")
	code, stdout, errOut := kiln(t, "train", "--data", shardDir, "--out", out, "--steps", "1", "--batch-size", "2")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	if strings.Contains(errOut, "no tokenizer files") {
		t.Fatalf("train warned: %s", errOut)
	}
	ckpts, _ := filepath.Glob(filepath.Join(out, "checkpoint-*"))
	if len(ckpts) != 1 {
		t.Fatalf("checkpoints %v (%s)", ckpts, stdout)
	}
	ck := ckpts[0]
	tok, err := tokenize.Load(vocab, true)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tokenize.TokenizerJSON(tok.Vocab(), tok.Options())
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(ck, "tokenizer.json"))
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("checkpoint tokenizer.json (%v) is not the data's tokenizer (cased)", err)
	}
	v, err := os.ReadFile(filepath.Join(ck, "vocab.txt"))
	if b, _ := os.ReadFile(vocab); err != nil || !bytes.Equal(v, b) {
		t.Fatalf("checkpoint vocab.txt differs from %s (%v)", vocab, err)
	}
	var cfg struct {
		MaxPos       int      `json:"max_position_embeddings"`
		Arch         []string `json:"architectures"`
		Transformers string   `json:"transformers_version"`
	}
	var tc struct {
		MaxLen    int    `json:"model_max_length"`
		Lower     *bool  `json:"do_lower_case"`
		Class     string `json:"tokenizer_class"`
		MaskToken string `json:"mask_token"`
	}
	for _, f := range []struct {
		name string
		v    any
	}{{"config.json", &cfg}, {"tokenizer_config.json", &tc}} {
		b, err := os.ReadFile(filepath.Join(ck, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, f.v); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
	}
	if tc.MaxLen != cfg.MaxPos || tc.Lower == nil || *tc.Lower || tc.Class != "BertTokenizer" || tc.MaskToken != "[MASK]" {
		t.Errorf("tokenizer_config.json %+v (config.json max_position_embeddings %d)", tc, cfg.MaxPos)
	}
	if !slices.Equal(cfg.Arch, []string{"BertForPreTraining"}) || cfg.Transformers != "4.31.0" {
		t.Errorf("config.json architectures %v, transformers_version %q", cfg.Arch, cfg.Transformers)
	}
	if _, err := os.Stat(filepath.Join(ck, "special_tokens_map.json")); err != nil {
		t.Error(err)
	}
}

// Bad input is set aside and counted, with the file named; a truncated .gz is an error naming
// the file; nothing is written then.
func TestVocabBadInput(t *testing.T) {
	dir := t.TempDir()
	text, err := os.ReadFile("sample/corpus/moby_dick_chapter_001.txt")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"good.txt":    text,
		"invalid.txt": []byte("The café was open late that night, and the naïve visitor ordered caf\xe9 au lait.\nShe said it was na\xefve to think so, and the waiter agreed with her.\n"),
		"binary.txt":  append([]byte("ELF\x00\x00\x00\x01\x02"), bytes.Repeat([]byte{0}, 64)...),
		"long.txt":    append(bytes.Repeat([]byte("word "), 2000), '\n'),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "vocab.txt")
	code, stdout, errOut := kiln(t, "vocab", "--input", dir, "--output", out, "--max-line-bytes", "5000", "--no-progress")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "set aside: 1 binary documents, 1 long lines") || !strings.Contains(stdout, "2 invalid UTF-8 bytes removed") ||
		!strings.Contains(stdout, "binary.txt") || !strings.Contains(stdout, "long.txt") {
		t.Errorf("summary does not count what was set aside:\n%s", stdout)
	}
	var gz bytes.Buffer
	gz.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1, 2, 3}) // a gzip header, then garbage
	bad := filepath.Join(dir, "truncated.txt.gz")
	if err := os.WriteFile(bad, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "vocab.txt")
	code, _, errOut = kiln(t, "vocab", "--input", bad, "--output", out2, "--no-progress")
	if code != 1 || !strings.Contains(errOut, "truncated.txt.gz") {
		t.Errorf("truncated .gz: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(out2); err == nil {
		t.Error("a failed run left a vocab.txt")
	}
	// Nothing but blank lines: no words, an error that says so.
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	os.WriteFile(filepath.Join(empty, "blank.txt"), []byte("\n\n   \n"), 0o644)
	code, _, errOut = kiln(t, "vocab", "--input", empty, "--output", out2, "--no-progress")
	if code != 1 || !strings.Contains(errOut, "no words") {
		t.Errorf("no words: exit %d: %s", code, errOut)
	}
}

// pretrain's checkpoints hold the tokenizer it read the corpus with.
func TestPretrainCheckpointHoldsTokenizer(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	code, _, errOut := kiln(t, "pretrain", "--input", "sample/corpus/moby_dick_chapter_001.txt", "--format", "text",
		"--vocab", sampleVocab, "--max-seq-len", "32", "--out", out, "--steps", "1", "--batch-size", "2")
	if code != 0 {
		t.Fatalf("pretrain: exit %d: %s", code, errOut)
	}
	ckpts, _ := filepath.Glob(filepath.Join(out, "checkpoint-*"))
	if len(ckpts) != 1 {
		t.Fatalf("checkpoints %v", ckpts)
	}
	tok, err := tokenize.Load(sampleVocab, false)
	if err != nil {
		t.Fatal(err)
	}
	want, err := tokenize.TokenizerJSON(tok.Vocab(), tok.Options())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"vocab.txt", "tokenizer_config.json", "special_tokens_map.json"} {
		if _, err := os.Stat(filepath.Join(ckpts[0], f)); err != nil {
			t.Error(err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(ckpts[0], "tokenizer.json")); err != nil || !bytes.Equal(got, want) {
		t.Errorf("pretrain checkpoint tokenizer.json (%v) is not the corpus's tokenizer", err)
	}
}
