package shards

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// Summary holds the statistics that `kiln inspect` prints.
type Summary struct {
	Info    Info
	Shards  int
	Bytes   int64 // on disk
	Rows    int64
	Tokens  int64
	Lengths []int64 // Lengths[n]: rows of n tokens

	Candidates   int64 // tokens that are neither [CLS] nor [SEP]
	Masked       int64 // masked positions
	MaskedAsMask int64 // masked positions holding [MASK]
	MaskedKept   int64 // masked positions holding their original id
	MaskedRandom int64 // masked positions holding another id

	IsNext, NotNext, NoLabel int64
}

// MaskingRate is masked positions over candidate tokens.
func (s *Summary) MaskingRate() float64 { return ratio(s.Masked, s.Candidates) }

// Split returns the shares of masked positions replaced by [MASK], kept and
// replaced by a random token (the 80/10/10 split).
func (s *Summary) Split() (mask, kept, random float64) {
	return ratio(s.MaskedAsMask, s.Masked), ratio(s.MaskedKept, s.Masked), ratio(s.MaskedRandom, s.Masked)
}

// NotNextShare is the share of labelled rows that are NotNext (label 1).
func (s *Summary) NotNextShare() float64 { return ratio(s.NotNext, s.IsNext+s.NotNext) }

// BytesPerToken is the size on disk over the tokens stored.
func (s *Summary) BytesPerToken() float64 { return ratio(s.Bytes, s.Tokens) }

func ratio(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// Add counts one row.
func (s *Summary) Add(r *Row) {
	n := len(r.InputIDs)
	for len(s.Lengths) <= n {
		s.Lengths = append(s.Lengths, 0)
	}
	s.Lengths[n]++
	s.Rows++
	s.Tokens += int64(n)
	for _, id := range r.InputIDs {
		if id != s.Info.Special.CLS && id != s.Info.Special.SEP {
			s.Candidates++
		}
	}
	for k, p := range r.MaskedPositions {
		if int(p) >= n || k >= len(r.MaskedIDs) {
			continue
		}
		s.Masked++
		switch cur := r.InputIDs[p]; {
		case cur == s.Info.Special.MASK:
			s.MaskedAsMask++
		case cur == r.MaskedIDs[k]:
			s.MaskedKept++
		default:
			s.MaskedRandom++
		}
	}
	switch r.NextSentenceLabel {
	case 0:
		s.IsNext++
	case 1:
		s.NotNext++
	default:
		s.NoLabel++
	}
}

// Stats reads every row of a shard, of the shards listed in a directory's
// manifest, or of the shard files in a directory, and summarises them.
func Stats(path string) (*Summary, error) {
	paths, err := shardPaths(path)
	if err != nil {
		return nil, err
	}
	s := &Summary{}
	var row Row
	for i, sf := range paths {
		r, err := Open(sf.path)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			s.Info = r.Info()
		}
		if st, err := r.f.Stat(); err == nil {
			s.Bytes += st.Size()
		}
		s.Shards++
		var n int64
		for {
			err := r.Next(&row)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return nil, err
			}
			s.Add(&row)
			n++
		}
		r.Close()
		if sf.rows >= 0 && n != sf.rows {
			return nil, Mismatch(path, "%s holds %d rows, but %s says %d", sf.path, n, filepath.Join(path, ManifestName), sf.rows)
		}
	}
	return s, nil
}

// WriteText prints the summary for people, with a length histogram of
// buckets of width tokens.
func (s *Summary) WriteText(w io.Writer, width int) error {
	if width <= 0 {
		width = 16
	}
	var b strings.Builder
	fmt.Fprintf(&b, "shards %d, rows %d, tokens %d, %.2f tokens/row, %.3f bytes/token on disk\n",
		s.Shards, s.Rows, s.Tokens, ratio(s.Tokens, s.Rows), s.BytesPerToken())
	if s.Masked > 0 {
		m, k, r := s.Split()
		fmt.Fprintf(&b, "masking: %d of %d candidate tokens (%.2f%%): [MASK] %.1f%%, kept %.1f%%, random %.1f%%\n",
			s.Masked, s.Candidates, 100*s.MaskingRate(), 100*m, 100*k, 100*r)
	} else {
		fmt.Fprintf(&b, "masking: none stored (dynamic masking)\n")
	}
	if s.IsNext+s.NotNext > 0 {
		fmt.Fprintf(&b, "labels: IsNext %d, NotNext %d (%.2f%% NotNext)", s.IsNext, s.NotNext, 100*s.NotNextShare())
		if s.NoLabel > 0 {
			fmt.Fprintf(&b, ", unlabelled %d", s.NoLabel)
		}
		b.WriteString("\n")
	} else {
		fmt.Fprintf(&b, "labels: none (%d rows)\n", s.NoLabel)
	}
	b.WriteString("lengths:\n")
	var peak int64
	buckets := make([]int64, (len(s.Lengths)+width-1)/width)
	for n, c := range s.Lengths {
		buckets[n/width] += c
	}
	for _, c := range buckets {
		peak = max(peak, c)
	}
	for i, c := range buckets {
		bar := 0
		if peak > 0 {
			bar = int(40 * c / peak)
		}
		fmt.Fprintf(&b, "  %4d-%-4d %9d %5.1f%% %s\n", i*width, (i+1)*width-1, c, 100*ratio(c, s.Rows), strings.Repeat("#", bar))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Sample returns the first n rows found at path (a shard or a directory)
// and the shard settings.
func Sample(path string, n int) ([]Row, Info, error) {
	paths, err := shardPaths(path)
	if err != nil {
		return nil, Info{}, err
	}
	var rows []Row
	var info Info
	for _, sf := range paths {
		r, err := Open(sf.path)
		if err != nil {
			return nil, info, err
		}
		info = r.Info()
		for len(rows) < n {
			var row Row
			err := r.Next(&row)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				r.Close()
				return nil, info, err
			}
			rows = append(rows, row)
		}
		r.Close()
		if len(rows) >= n {
			break
		}
	}
	return rows, info, nil
}

// VocabLookup returns a token lookup for FormatRow over a vocabulary given
// as strings indexed by id.
func VocabLookup(tokens []string) func(id int32) string {
	return func(id int32) string {
		if id < 0 || int(id) >= len(tokens) {
			return fmt.Sprintf("<%d?>", id)
		}
		return tokens[id]
	}
}

// FormatRow renders a row as text: the label, then the tokens joined with
// spaces (## pieces glued to their word), segment B after "|". A masked
// position shows as [MASK:orig] when replaced by [MASK], {tok→orig} when
// replaced by a random token, and <orig> when kept unchanged.
func FormatRow(r *Row, info Info, token func(id int32) string) string {
	var b strings.Builder
	switch r.NextSentenceLabel {
	case 0:
		b.WriteString("IsNext  ")
	case 1:
		b.WriteString("NotNext ")
	default:
		b.WriteString("-       ")
	}
	fmt.Fprintf(&b, "(%d tokens, %d masked) ", len(r.InputIDs), len(r.MaskedPositions))
	k := 0
	for i, id := range r.InputIDs {
		var tok string
		if k < len(r.MaskedPositions) && int(r.MaskedPositions[k]) == i && k < len(r.MaskedIDs) {
			orig := token(r.MaskedIDs[k])
			switch {
			case id == info.Special.MASK:
				tok = "[MASK:" + orig + "]"
			case id == r.MaskedIDs[k]:
				tok = "<" + orig + ">"
			default:
				tok = "{" + token(id) + "→" + orig + "}"
			}
			k++
		} else {
			tok = token(id)
		}
		if i > 0 && i < len(r.TokenTypeIDs) && r.TokenTypeIDs[i] != r.TokenTypeIDs[i-1] {
			b.WriteString(" |")
		}
		if rest, ok := strings.CutPrefix(tok, "##"); ok && i > 0 {
			b.WriteString(rest)
		} else {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(tok)
		}
	}
	return b.String()
}
