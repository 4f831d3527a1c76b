package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// PartDoc is one tokenized document on its way to its partition: what TokenizeFile emits and
// PreparePartition takes. Its fields are exported, and MarshalBinary gives it a compact,
// self-delimiting encoding, so that a distributed engine (Apache Beam) can carry it between
// workers; the local engine spills the same encoding to disk.
type PartDoc struct {
	FileIndex int // the input's position in the run's input order, from 0
	Index     int // 0-based index of the document within its file
	Line      int // 1-based line where the document starts (parquet, arrow: its row)
	// Sentences are the document's sentences as token ids, in order.
	Sentences [][]int32
	UNK       int64 // [UNK] tokens among them
	Invalid   int64 // invalid UTF-8 sequences replaced while tokenizing
}

// partDocVersion is the first byte of PartDoc's encoding.
const partDocVersion = 1

// AppendBinary appends d's encoding to b: a version byte, then unsigned varints: FileIndex,
// Index, Line, UNK, Invalid, the number of sentences, and per sentence its length and ids.
func (d *PartDoc) AppendBinary(b []byte) ([]byte, error) {
	if d.FileIndex < 0 || d.Index < 0 || d.Line < 0 || d.UNK < 0 || d.Invalid < 0 {
		return b, fmt.Errorf("document %d of input %d: negative field", d.Index, d.FileIndex)
	}
	b = append(b, partDocVersion)
	for _, v := range []uint64{uint64(d.FileIndex), uint64(d.Index), uint64(d.Line), uint64(d.UNK), uint64(d.Invalid), uint64(len(d.Sentences))} {
		b = binary.AppendUvarint(b, v)
	}
	for _, s := range d.Sentences {
		b = binary.AppendUvarint(b, uint64(len(s)))
		for _, id := range s {
			if id < 0 {
				return b, fmt.Errorf("document %d of input %d: negative token id %d", d.Index, d.FileIndex, id)
			}
			b = binary.AppendUvarint(b, uint64(id))
		}
	}
	return b, nil
}

// MarshalBinary returns d's encoding (see AppendBinary).
func (d *PartDoc) MarshalBinary() ([]byte, error) { return d.AppendBinary(nil) }

// errPartDoc is wrapped by every decoding error.
var errPartDoc = errors.New("corrupt tokenized document")

// UnmarshalBinary decodes what MarshalBinary wrote. Every count is checked against the bytes
// that remain before anything is allocated, so a corrupt or hostile record costs at most its
// own size in memory; the sentences share one backing array.
func (d *PartDoc) UnmarshalBinary(b []byte) error {
	_, err := d.decode(b, nil, nil)
	return err
}

// decode is UnmarshalBinary with the sentences laid out in ids and sents' storage when they
// have room (else in new storage); it returns the ids' storage. A reader that decodes one
// document after another, and lets go of each before the next (spillReader), so allocates
// nothing per document.
func (d *PartDoc) decode(b []byte, ids []int32, sents [][]int32) ([]int32, error) {
	if len(b) == 0 || b[0] != partDocVersion {
		return ids, fmt.Errorf("%w: unknown version", errPartDoc)
	}
	r := uvarintReader{b: b[1:]}
	var head [6]uint64
	for i := range head {
		head[i] = r.next()
	}
	if r.err != nil {
		return ids, r.err
	}
	for i, v := range head[:5] {
		if v > math.MaxInt32 && i < 3 || v > math.MaxInt64/2 {
			return ids, fmt.Errorf("%w: field %d is %d", errPartDoc, i, v)
		}
	}
	nsent := head[5]
	if nsent > uint64(len(r.b)) { // each sentence takes at least its length byte
		return ids, fmt.Errorf("%w: %d sentences in %d bytes", errPartDoc, nsent, len(r.b))
	}
	*d = PartDoc{FileIndex: int(head[0]), Index: int(head[1]), Line: int(head[2]), UNK: int64(head[3]), Invalid: int64(head[4])}
	// Every id takes at least one byte: the ids are fewer than the bytes left.
	if n := len(r.b) - int(nsent); cap(ids) < n {
		ids = make([]int32, 0, n)
	}
	ids = ids[:0]
	if cap(sents) < int(nsent) {
		sents = make([][]int32, nsent)
	}
	d.Sentences = sents[:nsent]
	for i := range d.Sentences {
		n := r.next()
		if r.err != nil {
			return ids, r.err
		}
		if n > uint64(len(r.b)) {
			return ids, fmt.Errorf("%w: sentence %d holds %d tokens in %d bytes", errPartDoc, i, n, len(r.b))
		}
		start := len(ids)
		for range n {
			v := r.next()
			if v > math.MaxInt32 {
				return ids, fmt.Errorf("%w: token id %d", errPartDoc, v)
			}
			ids = append(ids, int32(v))
		}
		if r.err != nil {
			return ids, r.err
		}
		d.Sentences[i] = ids[start:len(ids):len(ids)]
	}
	if len(r.b) != 0 {
		return ids, fmt.Errorf("%w: %d bytes after the last sentence", errPartDoc, len(r.b))
	}
	return ids, nil
}

// tokens returns the number of tokens in d's sentences.
func (d *PartDoc) tokens() int64 {
	var n int64
	for _, s := range d.Sentences {
		n += int64(len(s))
	}
	return n
}

// uvarintReader reads unsigned varints from b, keeping the first error.
type uvarintReader struct {
	b   []byte
	err error
}

func (r *uvarintReader) next() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = fmt.Errorf("%w: truncated or overlong varint", errPartDoc)
		return 0
	}
	r.b = r.b[n:]
	return v
}
