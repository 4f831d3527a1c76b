package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"unicode/utf8"

	"github.com/kiln-bert/kiln/internal/atomicfile"
	"github.com/kiln-bert/kiln/internal/fileio"
)

// Tensor is one named tensor of a checkpoint: a row-major float32 array of the given shape.
// A scalar has an empty Shape and one element.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// maxSafetensorsHeader bounds the JSON header we accept, as the reference implementation does
// (100 MB); a larger length is a corrupt or hostile file, not a checkpoint.
const maxSafetensorsHeader = 100 << 20

// safetensorsFormat is the "format" metadata value that transformers' from_pretrained requires.
const safetensorsFormat = "pt"

// supportedDtypes lists the keys of dtypeSize for messages.
const supportedDtypes = "F64, F32, F16, BF16, I64, I32, I16, I8, U8 and BOOL"

// dtypeSize gives the element size in bytes of each safetensors dtype ReadSafetensors converts
// (the unsigned U16, U32 and U64 and the F8 types are not among them).
var dtypeSize = map[string]uint64{
	"F64": 8, "F32": 4, "F16": 2, "BF16": 2,
	"I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
}

// WriteSafetensors writes ts to path in the safetensors format: an 8-byte little-endian header
// length, a compact JSON header (padded with spaces to a multiple of 8 bytes) giving each
// tensor's dtype, shape and data_offsets, then the tensors' float32 little-endian bytes.
// Tensors are laid out in name order and metadata keys are sorted, so the same tensors give the
// same bytes. meta goes into the header's "__metadata__"; "format":"pt" is added when meta has
// no "format", since transformers refuses safetensors files without it.
//
// The file is written under a temporary name in the same directory, synced, then renamed over
// path, so a crash leaves either the old file or the new one, never a partial one.
func WriteSafetensors(path string, ts []Tensor, meta map[string]string) error {
	sorted := make([]Tensor, len(ts))
	copy(sorted, ts)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for i, t := range sorted {
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("safetensors %s: invalid tensor name %q", path, t.Name)
		}
		if i > 0 && sorted[i-1].Name == t.Name {
			return fmt.Errorf("safetensors %s: tensor %q appears twice", path, t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("safetensors %s: tensor %q: negative dimension in shape %v", path, t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors %s: tensor %q: shape %v needs %d values, have %d", path, t.Name, t.Shape, n, len(t.Data))
		}
	}

	header, err := safetensorsHeader(sorted, meta)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var prefix [8]byte
		binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
		if _, err := w.Write(prefix[:]); err != nil {
			return err
		}
		if _, err := w.Write(header); err != nil {
			return err
		}
		buf := make([]byte, 0, 64<<10)
		for _, t := range sorted {
			for _, v := range t.Data {
				if len(buf)+4 > cap(buf) {
					if _, err := w.Write(buf); err != nil {
						return err
					}
					buf = buf[:0]
				}
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
		}
		_, err := w.Write(buf)
		return err
	})
}

// safetensorsHeader builds the JSON header for tensors already in name order: __metadata__
// first, then the tensors with consecutive offsets, padded with spaces to a multiple of 8.
func safetensorsHeader(ts []Tensor, meta map[string]string) ([]byte, error) {
	m := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		m[k] = v
	}
	if _, ok := m["format"]; !ok {
		m["format"] = safetensorsFormat
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)

	var b bytes.Buffer
	b.WriteString(`{"__metadata__":{`)
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := writeJSONString(&b, k); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := writeJSONString(&b, m[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	var off uint64
	for _, t := range ts {
		b.WriteByte(',')
		if err := writeJSONString(&b, t.Name); err != nil {
			return nil, err
		}
		b.WriteString(`:{"dtype":"F32","shape":[`)
		for i, d := range t.Shape {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprint(&b, d)
		}
		end := off + 4*uint64(len(t.Data))
		fmt.Fprintf(&b, `],"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}

// writeJSONString appends s as a JSON string without HTML escaping (as serde_json writes it).
func writeJSONString(b *bytes.Buffer, s string) error {
	var sb bytes.Buffer
	enc := json.NewEncoder(&sb)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encode %q: %w", s, err)
	}
	b.Write(bytes.TrimSuffix(sb.Bytes(), []byte("\n")))
	return nil
}

// stEntry is one tensor's header entry as found in the file.
type stEntry struct {
	name        string
	DType       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets []uint64 `json:"data_offsets"`
}

// ReadSafetensors reads a safetensors file and returns its tensors, sorted by name, as float32,
// and its "__metadata__" (nil when absent). F32 is read as is; F16, BF16 and F64 (as PyTorch
// and transformers may write) are converted to float32, and so are the integer dtypes
// (I64, I32, I16, I8, U8, BOOL; e.g. the position_ids buffer older transformers saved) when
// every value is exactly representable. The header is checked strictly before any data is
// used: its length against the file, every entry's fields, each byte range against the data
// section, each range's length against its dtype and shape, and the ranges against each other
// (they must tile the data section with no gap or overlap, as the format requires). Errors
// name the file and the tensor.
func ReadSafetensors(path string) ([]Tensor, map[string]string, error) {
	f, err := fileio.OpenRegular(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	entries, meta, dataStart, err := readSafetensorsHeader(f, path)
	if err != nil {
		return nil, nil, err
	}
	out := make([]Tensor, len(entries))
	var raw []byte
	for i, e := range entries {
		nbytes := e.DataOffsets[1] - e.DataOffsets[0]
		if uint64(cap(raw)) < nbytes {
			raw = make([]byte, nbytes)
		}
		raw = raw[:nbytes]
		if _, err := f.ReadAt(raw, int64(dataStart+e.DataOffsets[0])); err != nil {
			return nil, nil, fmt.Errorf("safetensors %s: tensor %q: read data: %w", path, e.name, err)
		}
		data, err := decodeFloat32(e.DType, raw)
		if err != nil {
			return nil, nil, fmt.Errorf("safetensors %s: tensor %q: %w", path, e.name, err)
		}
		shape := make([]int, len(e.Shape))
		for j, d := range e.Shape {
			shape[j] = int(d)
		}
		out[i] = Tensor{Name: e.name, Shape: shape, Data: data}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, meta, nil
}

// readSafetensorsHeader reads and checks the header of the safetensors file f (at path, for
// messages) as ReadSafetensors describes, reading none of the data: it returns the entries,
// the metadata and where the data section starts.
func readSafetensorsHeader(f *os.File, path string) (entries []stEntry, meta map[string]string, dataStart uint64, err error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, 0, fmt.Errorf("safetensors %s: %w", path, err)
	}
	size := uint64(st.Size())
	if size < 8 {
		return nil, nil, 0, fmt.Errorf("safetensors %s: file is %d bytes, shorter than the 8-byte header length", path, size)
	}
	var prefix [8]byte
	if _, err := io.ReadFull(f, prefix[:]); err != nil {
		return nil, nil, 0, fmt.Errorf("safetensors %s: read header length: %w", path, err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n > maxSafetensorsHeader {
		return nil, nil, 0, fmt.Errorf("safetensors %s: header length %d exceeds the %d-byte limit (corrupt file?)", path, n, maxSafetensorsHeader)
	}
	if n > size-8 {
		return nil, nil, 0, fmt.Errorf("safetensors %s: header length %d runs past the end of the %d-byte file", path, n, size)
	}
	header := make([]byte, n)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, nil, 0, fmt.Errorf("safetensors %s: read header: %w", path, err)
	}
	if !utf8.Valid(header) {
		return nil, nil, 0, fmt.Errorf("safetensors %s: header is not valid UTF-8", path)
	}
	entries, meta, err = parseSafetensorsHeader(header)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("safetensors %s: %w", path, err)
	}
	dataStart = 8 + n
	if err := checkSafetensorsLayout(entries, size-dataStart); err != nil {
		return nil, nil, 0, fmt.Errorf("safetensors %s: %w", path, err)
	}
	return entries, meta, dataStart, nil
}

// parseSafetensorsHeader decodes the JSON header strictly: an object whose keys are unique,
// "__metadata__" (string to string) or tensor names mapping to {dtype, shape, data_offsets}
// with no other fields, followed only by whitespace padding.
func parseSafetensorsHeader(header []byte) ([]stEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, nil, fmt.Errorf("header is not a JSON object")
	}
	var (
		entries []stEntry
		meta    map[string]string
		seen    = map[string]bool{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, fmt.Errorf("header JSON: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, nil, fmt.Errorf("header JSON: expected a key, got %v", tok)
		}
		if seen[name] {
			return nil, nil, fmt.Errorf("header: key %q appears twice", name)
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, nil, fmt.Errorf("header JSON at %q: %w", name, err)
		}
		if name == "__metadata__" {
			if err := json.Unmarshal(raw, &meta); err != nil {
				return nil, nil, fmt.Errorf("header: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		e := stEntry{name: name}
		ed := json.NewDecoder(bytes.NewReader(raw))
		ed.DisallowUnknownFields()
		if err := ed.Decode(&e); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: bad header entry: %w", name, err)
		}
		if _, ok := dtypeSize[e.DType]; !ok {
			return nil, nil, fmt.Errorf("tensor %q: unsupported dtype %q (this reader takes %s)", name, e.DType, supportedDtypes)
		}
		if e.Shape == nil {
			return nil, nil, fmt.Errorf("tensor %q: header entry has no shape", name)
		}
		if len(e.DataOffsets) != 2 {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %v", name, e.DataOffsets)
		}
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, fmt.Errorf("header JSON: %w", err)
	}
	// Only the spaces that pad the header to a multiple of 8 bytes may follow the object.
	if len(bytes.TrimRight(header[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, nil, fmt.Errorf("header: unexpected bytes after the JSON object")
	}
	return entries, meta, nil
}

// checkSafetensorsLayout checks each entry's byte range against its dtype and shape and the
// data section, and that the ranges, in offset order, tile [0, dataLen) exactly.
func checkSafetensorsLayout(entries []stEntry, dataLen uint64) error {
	for _, e := range entries {
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin > end {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] end before they begin", e.name, begin, end)
		}
		if end > dataLen {
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] run past the %d-byte data section", e.name, begin, end, dataLen)
		}
		count := uint64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return fmt.Errorf("tensor %q: negative dimension in shape %v", e.name, e.Shape)
			}
			if d != 0 && count > math.MaxUint64/uint64(d) {
				return fmt.Errorf("tensor %q: shape %v is too large", e.name, e.Shape)
			}
			count *= uint64(d)
		}
		es := dtypeSize[e.DType]
		if count > math.MaxUint64/es {
			return fmt.Errorf("tensor %q: shape %v of %s is too large", e.name, e.Shape, e.DType)
		}
		if count*es != end-begin {
			return fmt.Errorf("tensor %q: shape %v of %s needs %d bytes (%d elements of %d bytes) but data_offsets [%d, %d] hold %d bytes",
				e.name, e.Shape, e.DType, count*es, count, es, begin, end, end-begin)
		}
		if count > math.MaxInt32 {
			return fmt.Errorf("tensor %q: %d elements is more than this reader supports", e.name, count)
		}
	}
	byOffset := make([]stEntry, len(entries))
	copy(byOffset, entries)
	sort.Slice(byOffset, func(i, j int) bool {
		a, b := byOffset[i].DataOffsets, byOffset[j].DataOffsets
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		return a[1] < b[1]
	})
	var pos uint64
	for i, e := range byOffset {
		begin := e.DataOffsets[0]
		switch {
		case begin < pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] overlap tensor %q", e.name, begin, e.DataOffsets[1], byOffset[i-1].name)
		case begin > pos:
			return fmt.Errorf("tensor %q: data_offsets [%d, %d] leave a gap of %d bytes before them", e.name, begin, e.DataOffsets[1], begin-pos)
		}
		pos = e.DataOffsets[1]
	}
	if pos != dataLen {
		return fmt.Errorf("data section is %d bytes but the tensors cover %d (truncated or padded file?)", dataLen, pos)
	}
	return nil
}

// decodeFloat32 converts little-endian raw bytes of the given dtype to float32.
func decodeFloat32(dtype string, raw []byte) ([]float32, error) {
	n := uint64(len(raw)) / dtypeSize[dtype]
	out := make([]float32, n)
	le := binary.LittleEndian
	const exact = 1 << 24 // integers up to 2^24 are exact in float32
	for i := range out {
		switch dtype {
		case "F32":
			out[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		case "F16":
			out[i] = float16ToFloat32(le.Uint16(raw[2*i:]))
		case "BF16":
			out[i] = math.Float32frombits(uint32(le.Uint16(raw[2*i:])) << 16)
		case "F64":
			v := math.Float64frombits(le.Uint64(raw[8*i:]))
			out[i] = float32(v)
			if math.IsInf(float64(out[i]), 0) && !math.IsInf(v, 0) {
				return nil, fmt.Errorf("element %d: F64 value %g overflows float32", i, v)
			}
		case "I64":
			v := int64(le.Uint64(raw[8*i:]))
			if v > exact || v < -exact {
				return nil, fmt.Errorf("element %d: I64 value %d is not exact in float32", i, v)
			}
			out[i] = float32(v)
		case "I32":
			v := int32(le.Uint32(raw[4*i:]))
			if v > exact || v < -exact {
				return nil, fmt.Errorf("element %d: I32 value %d is not exact in float32", i, v)
			}
			out[i] = float32(v)
		case "I16":
			out[i] = float32(int16(le.Uint16(raw[2*i:])))
		case "I8":
			out[i] = float32(int8(raw[i]))
		case "U8":
			out[i] = float32(raw[i])
		case "BOOL":
			if raw[i] > 1 {
				return nil, fmt.Errorf("element %d: BOOL byte %d is neither 0 nor 1", i, raw[i])
			}
			out[i] = float32(raw[i])
		default:
			return nil, fmt.Errorf("unsupported dtype %q", dtype)
		}
	}
	return out, nil
}

// float16ToFloat32 converts IEEE 754 half precision bits to float32, exactly (every half value,
// subnormals, infinities and NaNs included, is representable in float32).
func float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0: // zero or subnormal: mant * 2^-24
		v := float32(mant) / (1 << 24)
		return math.Float32frombits(math.Float32bits(v) | sign)
	case 0x1f: // infinity or NaN
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	default:
		return math.Float32frombits(sign | (exp-15+127)<<23 | mant<<13)
	}
}
