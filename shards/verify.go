package shards

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/kiln-bert/kiln/internal/fileio"
)

// maxFailuresPerShard bounds the failures listed for one shard; the rest are
// counted in Report.Omitted.
const maxFailuresPerShard = 50

// A MismatchError reports shards that differ from what their manifest records: a shard
// changed, truncated or replaced after it was written, a listing that does not add up, rows
// that break the manifest's info. Verify(Dir) lists every such problem; the error names the
// first one found.
type MismatchError struct {
	Dir string // the shards directory
	Err error  // what differs, naming the file
}

func (e *MismatchError) Error() string { return e.Err.Error() }

// Unwrap returns e.Err.
func (e *MismatchError) Unwrap() error { return e.Err }

// Mismatch returns a *MismatchError for the shards directory dir, formatting its message as
// fmt.Errorf does.
func Mismatch(dir, format string, args ...any) error {
	return &MismatchError{Dir: dir, Err: fmt.Errorf(format, args...)}
}

// Failure is one problem found by Verify.
type Failure struct {
	File string // shard, relative to the directory ("" for the manifest itself)
	Row  int64  // row index within the shard, -1 for the whole shard
	Msg  string
}

func (f Failure) String() string {
	switch {
	case f.File == "":
		return ManifestName + ": " + f.Msg
	case f.Row < 0:
		return f.File + ": " + f.Msg
	}
	return fmt.Sprintf("%s: row %d: %s", f.File, f.Row, f.Msg)
}

// Report is the outcome of Verify.
type Report struct {
	Dir      string
	Shards   int   // shards in the manifest
	Rows     int64 // rows read
	Tokens   int64 // tokens read
	Failures []Failure
	Omitted  int // failures not listed (beyond maxFailuresPerShard per shard)
}

// OK reports whether no failure was found.
func (r *Report) OK() bool { return len(r.Failures) == 0 && r.Omitted == 0 }

// Verify checks every shard listed in DIR/manifest.json: that it exists with
// the recorded size, sha256, rows and tokens, and that every row keeps the
// invariants of a BERT example (see CheckRow); and that the directory holds no shard or
// temporary file the manifest does not list (see unlisted). It returns an error only when
// the manifest cannot be read; everything else is a Failure in the report.
func Verify(dir string) (Report, error) {
	rep := Report{Dir: dir}
	m, err := ReadManifest(dir)
	if err != nil {
		return rep, err // names the manifest
	}
	rep.Shards = len(m.Shards)
	fail := func(file string, row int64, format string, args ...any) {
		rep.Failures = append(rep.Failures, Failure{File: file, Row: row, Msg: fmt.Sprintf(format, args...)})
	}
	if err := m.Info.Validate(); err != nil {
		fail("", -1, "info: %v", err)
		return rep, nil
	}
	if err := m.CheckListing(); err != nil {
		fail("", -1, "%v", err)
	}
	listed := map[string]bool{}
	for _, sh := range m.Shards {
		listed[sh.File] = true
	}
	if _, err := os.Stat(filepath.Join(dir, ProgressName)); err == nil {
		fail("", -1, "%s is present: a run was started in this directory after the manifest was written", ProgressName)
	}
	for _, rel := range unlisted(dir, listed) {
		fail(rel, -1, "file is not listed in the manifest")
	}
	for _, sh := range m.Shards {
		before := len(rep.Failures)
		verifyShard(dir, m, sh, &rep)
		if extra := len(rep.Failures) - before - maxFailuresPerShard; extra > 0 {
			rep.Failures = rep.Failures[:before+maxFailuresPerShard]
			rep.Omitted += extra
		}
	}
	return rep, nil
}

// unlisted returns, sorted, the shards and temporary files in dir, in every layout kiln
// writes, that listed does not hold: a stray or leftover file is reported, not skipped. The
// layouts: the top level and its length bins (bin-NNN/), the partitions of kiln prep
// --partitions (part-NNNNN/, part-NNNNN/bin-NNN/) and the directories the partitioned
// writer stages a partition's shards in (.staging/part-NNNNN.XXXX/, .staging/.../bin-NNN/,
// removed once the manifest is written). The temporary files are a shard's while it is
// written (.shard-NNNNN.tmp), a partition record's (part-NNNNN/.partition.json.*.tmp), and
// those kiln-beam publishes a shard or a partition record through (NAME.tmp-RANDOM). (The
// partition and staging names are pipeline's: PartitionDirName, stagingDirName and
// PartitionResultName there; NAME.tmp- is cmd/kiln-beam's tmpMarker.)
func unlisted(dir string, listed map[string]bool) []string {
	var pats []string
	for _, d := range []string{"", "bin-*/", "part-*/", "part-*/bin-*/", ".staging/*/", ".staging/*/bin-*/"} {
		pats = append(pats, d+"shard-*.arrow", d+".shard-*.tmp", d+"shard-*.arrow.tmp-*")
	}
	pats = append(pats, "part-*/.partition.json.*.tmp", "part-*/partition.json.tmp-*")
	var out []string
	for _, pat := range pats {
		files, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pat)))
		for _, f := range files {
			rel, _ := filepath.Rel(dir, f)
			if rel = filepath.ToSlash(rel); !listed[rel] {
				out = append(out, rel)
			}
		}
	}
	sort.Strings(out)
	return out
}

// CheckFile checks that the shard sh of the manifest in dir has the size and sha256 the
// manifest records: the cheap part of Verify, for readers (the trainer) to run before they
// trust a shard's rows. A difference is a *MismatchError naming the file.
func CheckFile(dir string, sh ShardInfo) error {
	p := filepath.Join(dir, filepath.FromSlash(sh.File))
	size, sum, err := fileio.SHA256(p)
	switch {
	case err != nil:
		return err
	case size != sh.Bytes:
		return sizeChanged(dir, p, size, sh)
	case sum != sh.SHA256:
		return Mismatch(dir, "%s has sha256 %s, but %s says %s: the shard changed after it was written", p, sum, ManifestName, sh.SHA256)
	}
	return nil
}

// CheckSize checks, without reading it, that the shard sh of the manifest in dir exists with
// the size the manifest records: a cheap stand-in for CheckFile's sha256, for a check of every
// shard before a run starts. The error names the file and is a *MismatchError for dir.
func CheckSize(dir string, sh ShardInfo) error {
	p := filepath.Join(dir, filepath.FromSlash(sh.File))
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("shard %s listed in %s: %w", sh.File, filepath.Join(dir, ManifestName), err)
	}
	if st.Size() != sh.Bytes {
		return sizeChanged(dir, p, st.Size(), sh)
	}
	return nil
}

// sizeChanged is CheckFile's and CheckSize's error for the shard at p, of size bytes.
func sizeChanged(dir, p string, size int64, sh ShardInfo) error {
	return Mismatch(dir, "%s is %d bytes, but %s says %d: the shard changed after it was written",
		p, size, filepath.Join(dir, ManifestName), sh.Bytes)
}

func verifyShard(dir string, m *Manifest, sh ShardInfo, rep *Report) {
	fail := func(row int64, format string, args ...any) {
		rep.Failures = append(rep.Failures, Failure{File: sh.File, Row: row, Msg: fmt.Sprintf(format, args...)})
	}
	if err := CheckShardName(sh.File); err != nil {
		fail(-1, "unsafe file name in the manifest: %v", err)
		return
	}
	p := filepath.Join(dir, filepath.FromSlash(sh.File))
	size, sum, err := fileio.SHA256(p)
	if err != nil {
		fail(-1, "%v", err)
		return
	}
	if size != sh.Bytes {
		fail(-1, "size %d bytes, manifest says %d (truncated or overwritten?)", size, sh.Bytes)
	}
	if sum != sh.SHA256 {
		fail(-1, "sha256 %s, manifest says %s", sum, sh.SHA256)
	}
	// A corrupt file can make the Arrow library panic; report it instead.
	defer func() {
		if e := recover(); e != nil {
			fail(-1, "unreadable: %v", e)
		}
	}()
	r, err := Open(p)
	if err != nil {
		fail(-1, "reading: %v", err)
		return
	}
	defer r.Close()
	if r.Info() != m.Info {
		fail(-1, "schema metadata %+v differs from the manifest's %+v", r.Info(), m.Info)
		return
	}
	if r.Stream() != (m.ArrowFormat == IPCStream) {
		fail(-1, "arrow format differs from the manifest's %q", m.ArrowFormat)
	}
	lower := 0 // rows of a length bin are longer than the bound below it
	for _, b := range m.Bins {
		if b < sh.Bin {
			lower = b
		}
	}
	if sh.Bin > 0 && !slices.Contains(m.Bins, sh.Bin) {
		fail(-1, "bin %d is not one of the manifest's bins %v", sh.Bin, m.Bins)
	}
	var row Row
	var n, tokens int64
	var msgs []string
	for {
		err := r.Next(&row)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(-1, "reading: %v", err)
			return
		}
		msgs = CheckRow(&row, m.Info, msgs[:0])
		if sh.Bin > 0 {
			if l := len(row.InputIDs); l > sh.Bin || l <= lower {
				msgs = append(msgs, fmt.Sprintf("length %d outside its bin (%d,%d]", l, lower, sh.Bin))
			}
		}
		for _, msg := range msgs {
			fail(n, "%s", msg)
		}
		n++
		tokens += int64(len(row.InputIDs))
	}
	rep.Rows += n
	rep.Tokens += tokens
	if n != sh.Rows || tokens != sh.Tokens {
		fail(-1, "holds %d rows and %d tokens, manifest says %d and %d", n, tokens, sh.Rows, sh.Tokens)
	}
	if !r.Stream() {
		if got, err := r.NumRows(); err != nil || got != n {
			fail(-1, "batch layout: NumRows %d (err %v), read %d rows", got, err, n)
		}
	}
}

// CheckRow appends to dst a message for every invariant the row breaks:
// [CLS] first and only there, [SEP] last, one [SEP] (task none) or two with
// the first closing segment 0, token types 0…0 1…1, length within
// max_seq_len, ids inside the vocabulary, no [PAD], label 0/1 (or -1 for task
// none), and for static masking: as many masked ids as positions, positions
// strictly increasing and inside the row, never at [CLS]/[SEP], original ids
// that are not special, and [MASK] nowhere but at masked positions.
func CheckRow(r *Row, in Info, dst []string) []string {
	bad := func(format string, args ...any) { dst = append(dst, fmt.Sprintf(format, args...)) }
	sp := in.Special
	n := len(r.InputIDs)
	if n < 2 {
		bad("length %d: too short for [CLS] ... [SEP]", n)
		return dst
	}
	if n > in.MaxSeqLen {
		bad("length %d exceeds max_seq_len %d", n, in.MaxSeqLen)
	}
	if len(r.TokenTypeIDs) != n {
		bad("%d token types for %d tokens", len(r.TokenTypeIDs), n)
		return dst
	}
	if r.InputIDs[0] != sp.CLS {
		bad("first token %d is not [CLS] (%d)", r.InputIDs[0], sp.CLS)
	}
	if r.InputIDs[n-1] != sp.SEP {
		bad("last token %d is not [SEP] (%d)", r.InputIDs[n-1], sp.SEP)
	}
	var seps []int
	masked := make(map[int32]bool, len(r.MaskedPositions))
	for _, p := range r.MaskedPositions {
		masked[p] = true
	}
	for i, id := range r.InputIDs {
		switch {
		case id < 0 || int(id) >= in.VocabSize:
			bad("token %d: id %d outside vocabulary of %d", i, id, in.VocabSize)
		case id == sp.SEP:
			seps = append(seps, i)
		case id == sp.CLS && i != 0:
			bad("token %d: [CLS] inside the row", i)
		case id == sp.PAD:
			bad("token %d: [PAD] stored", i)
		case id == sp.MASK && !masked[int32(i)]:
			bad("token %d: [MASK] at a position that is not masked", i)
		}
	}
	first := n - 1 // end of segment 0
	switch {
	case in.singleSegment() && len(seps) != 1:
		bad("%d [SEP] tokens, want 1 (task none)", len(seps))
	case !in.singleSegment() && len(seps) != 2:
		bad("%d [SEP] tokens, want 2", len(seps))
	case !in.singleSegment():
		first = seps[0]
		if first < 2 {
			bad("segment A is empty")
		}
		if first > n-3 {
			bad("segment B is empty")
		}
	}
	for i, t := range r.TokenTypeIDs {
		want := int8(0)
		if i > first {
			want = 1
		}
		if t != want {
			bad("token %d: token type %d, want %d (first [SEP] at %d)", i, t, want, first)
			break
		}
	}
	switch {
	case in.singleSegment() && r.NextSentenceLabel != -1:
		bad("label %d, want -1 (task none)", r.NextSentenceLabel)
	case !in.singleSegment() && r.NextSentenceLabel != 0 && r.NextSentenceLabel != 1:
		bad("label %d, want 0 or 1", r.NextSentenceLabel)
	}
	if !in.Static {
		if len(r.MaskedPositions)+len(r.MaskedIDs) > 0 {
			bad("masked positions in a dynamic-masking shard")
		}
		return dst
	}
	if len(r.MaskedPositions) != len(r.MaskedIDs) {
		bad("%d masked positions but %d masked ids", len(r.MaskedPositions), len(r.MaskedIDs))
		return dst
	}
	if in.MaxPredictions > 0 && len(r.MaskedPositions) > in.MaxPredictions {
		bad("%d masked positions, max_predictions is %d", len(r.MaskedPositions), in.MaxPredictions)
	}
	for k, p := range r.MaskedPositions {
		if p <= 0 || int(p) >= n-1 {
			bad("masked position %d outside (0,%d)", p, n-1)
			continue
		}
		if k > 0 && p <= r.MaskedPositions[k-1] {
			bad("masked positions not strictly increasing at %d", p)
		}
		cur, orig := r.InputIDs[p], r.MaskedIDs[k]
		if cur == sp.CLS || cur == sp.SEP || cur == sp.PAD {
			bad("masked position %d holds special token %d", p, cur)
		}
		if orig == sp.CLS || orig == sp.SEP || orig == sp.PAD || orig == sp.MASK || orig < 0 || int(orig) >= in.VocabSize {
			bad("masked id %d at position %d is special or outside the vocabulary", orig, p)
		}
	}
	return dst
}

// shardFile is a shard to read and the rows its manifest records (-1 without a manifest).
type shardFile struct {
	path string
	rows int64
}

// shardPaths lists the shards at p: one shard file, the shards listed in a
// directory's manifest (checked with CheckListing), or else the shard files found in it.
func shardPaths(p string) ([]shardFile, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []shardFile{{p, -1}}, nil
	}
	m, err := ReadManifest(p)
	if err == nil {
		if err := m.CheckListing(); err != nil {
			return nil, &MismatchError{Dir: p, Err: fmt.Errorf("%s: %w", filepath.Join(p, ManifestName), err)}
		}
		var out []shardFile
		for _, sh := range m.Shards {
			out = append(out, shardFile{filepath.Join(p, filepath.FromSlash(sh.File)), sh.Rows})
		}
		return out, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	a, _ := filepath.Glob(filepath.Join(p, "shard-*.arrow"))
	b, _ := filepath.Glob(filepath.Join(p, "bin-*", "shard-*.arrow"))
	found := append(a, b...)
	sort.Strings(found)
	if len(found) == 0 {
		return nil, fmt.Errorf("%s: no manifest and no shard-*.arrow files", p)
	}
	out := make([]shardFile, len(found))
	for i, f := range found {
		out[i] = shardFile{f, -1}
	}
	return out, nil
}
