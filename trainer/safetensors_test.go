package trainer

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// expectedTensor is one tensor of a fixture's .expected.json, written by gen.py from torch.
type expectedTensor struct {
	Shape   []int    `json:"shape"`
	F32Bits []uint32 `json:"f32_bits"`
}

func readExpected(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// sameBits compares float32 slices bit for bit (so NaN, -0 and Inf count).
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestSafetensorsRoundTrip(t *testing.T) {
	nan := math.Float32frombits(0x7fc00123)
	cases := []struct {
		name string
		ts   []Tensor
		meta map[string]string
	}{
		{"empty file", nil, nil},
		{"bert names", []Tensor{
			{Name: "cls.seq_relationship.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, 1e-30, -1e30}},
			{Name: "bert.embeddings.word_embeddings.weight", Shape: []int{4, 3}, Data: []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
			{Name: "cls.predictions.bias", Shape: []int{4}, Data: []float32{0.25, -0.25, 0.125, 7}},
		}, map[string]string{"step": "100", "kiln": "v0"}},
		{"special values, scalar, zero-sized", []Tensor{
			{Name: "special", Shape: []int{2, 3}, Data: []float32{nan, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), math.SmallestNonzeroFloat32, math.MaxFloat32}},
			{Name: "scalar", Shape: []int{}, Data: []float32{42}},
			{Name: "zero", Shape: []int{0, 5}, Data: []float32{}},
		}, map[string]string{"format": "pt", "quote\"and<html>": "é"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.safetensors")
			if err := WriteSafetensors(path, tc.ts, tc.meta); err != nil {
				t.Fatal(err)
			}
			got, meta, err := ReadSafetensors(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.ts) {
				t.Fatalf("read %d tensors, wrote %d", len(got), len(tc.ts))
			}
			byName := map[string]Tensor{}
			for _, w := range tc.ts {
				byName[w.Name] = w
			}
			for i, g := range got {
				if i > 0 && got[i-1].Name >= g.Name {
					t.Errorf("tensors not sorted by name: %q before %q", got[i-1].Name, g.Name)
				}
				w := byName[g.Name]
				if !reflect.DeepEqual(g.Shape, w.Shape) && !(len(g.Shape) == 0 && len(w.Shape) == 0) {
					t.Errorf("%s: shape %v, want %v", g.Name, g.Shape, w.Shape)
				}
				if !sameBits(g.Data, w.Data) {
					t.Errorf("%s: data %v, want %v", g.Name, g.Data, w.Data)
				}
			}
			wantMeta := map[string]string{"format": "pt"}
			for k, v := range tc.meta {
				wantMeta[k] = v
			}
			if !reflect.DeepEqual(meta, wantMeta) {
				t.Errorf("metadata %v, want %v", meta, wantMeta)
			}

			// Same tensors in another order: the same bytes. Header padded to 8 bytes.
			first, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := binary.LittleEndian.Uint64(first); n%8 != 0 {
				t.Errorf("header length %d is not a multiple of 8", n)
			}
			rev := make([]Tensor, len(tc.ts))
			for i, x := range tc.ts {
				rev[len(rev)-1-i] = x
			}
			path2 := filepath.Join(t.TempDir(), "again.safetensors")
			if err := WriteSafetensors(path2, rev, tc.meta); err != nil {
				t.Fatal(err)
			}
			second, err := os.ReadFile(path2)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(first, second) {
				t.Error("writing the same tensors in another order gave different bytes")
			}
		})
	}
}

// TestSafetensorsReadTorch reads a file written from real PyTorch tensors (gen.py) holding F32,
// F16, BF16, F64 and I64 tensors, and checks every value against torch's own float32
// conversion, bit for bit.
func TestSafetensorsReadTorch(t *testing.T) {
	var want struct {
		Metadata map[string]string         `json:"metadata"`
		Tensors  map[string]expectedTensor `json:"tensors"`
	}
	readExpected(t, "testdata/safetensors/torch_mixed.expected.json", &want)
	got, meta, err := ReadSafetensors("testdata/safetensors/torch_mixed.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(meta, want.Metadata) {
		t.Errorf("metadata %v, want %v", meta, want.Metadata)
	}
	if len(got) != len(want.Tensors) {
		t.Fatalf("read %d tensors, want %d", len(got), len(want.Tensors))
	}
	for _, g := range got {
		w, ok := want.Tensors[g.Name]
		if !ok {
			t.Errorf("unexpected tensor %q", g.Name)
			continue
		}
		if len(g.Shape) != len(w.Shape) || (len(w.Shape) > 0 && !reflect.DeepEqual(g.Shape, w.Shape)) {
			t.Errorf("%s: shape %v, want %v", g.Name, g.Shape, w.Shape)
		}
		if len(g.Data) != len(w.F32Bits) {
			t.Errorf("%s: %d values, want %d", g.Name, len(g.Data), len(w.F32Bits))
			continue
		}
		for i, v := range g.Data {
			if math.Float32bits(v) != w.F32Bits[i] {
				t.Errorf("%s[%d] = %g (%#08x), torch says %g (%#08x)", g.Name, i, v, math.Float32bits(v), math.Float32frombits(w.F32Bits[i]), w.F32Bits[i])
			}
		}
	}
}

// TestSafetensorsWriteMatchesTorch writes the tensors of a file made by gen.py (laid out as the
// safetensors library does) and expects the same bytes.
func TestSafetensorsWriteMatchesTorch(t *testing.T) {
	var want map[string]expectedTensor
	readExpected(t, "testdata/safetensors/torch_f32.expected.json", &want)
	var ts []Tensor
	for name, w := range want {
		data := make([]float32, len(w.F32Bits))
		for i, b := range w.F32Bits {
			data[i] = math.Float32frombits(b)
		}
		ts = append(ts, Tensor{Name: name, Shape: w.Shape, Data: data})
	}
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := WriteSafetensors(path, ts, nil); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile("testdata/safetensors/torch_f32.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, ref) {
		t.Errorf("kiln wrote\n%q\ntorch fixture is\n%q", got[:min(len(got), 400)], ref[:min(len(ref), 400)])
	}
}

// stFile assembles a safetensors file from a header (written verbatim, not padded) and data.
func stFile(header string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestSafetensorsCorrupt(t *testing.T) {
	data16 := make([]byte, 16)
	good := stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}`, data16)
	hugeLen := binary.LittleEndian.AppendUint64(nil, 1<<40)
	cases := []struct {
		name string
		file []byte
		want string // substring of the error, besides the file name
	}{
		{"empty file", nil, "shorter than the 8-byte header length"},
		{"short file", []byte{1, 2, 3}, "shorter than the 8-byte header length"},
		{"huge header length", append(hugeLen, "{}"...), "exceeds the"},
		{"header past end", good[:40], "runs past the end"},
		{"not json", stFile(`{"a":`, nil), "header JSON"},
		{"not utf-8", stFile("{\"\xff\":{}}   ", nil), "not valid UTF-8"},
		{"not an object", stFile(`[1,2]   `, nil), "not a JSON object"},
		{"trailing junk", stFile(`{}xyz`, nil), "unexpected bytes after"},
		{"duplicate tensor", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, data16[:8]), `key "a" appears twice`},
		{"unknown dtype", stFile(`{"w":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}`, data16[:4]), `tensor "w": unsupported dtype "F8_E4M3"`},
		{"missing shape", stFile(`{"w":{"dtype":"F32","data_offsets":[0,4]}}`, data16[:4]), `tensor "w": header entry has no shape`},
		{"extra field", stFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}`, data16[:4]), `tensor "w": bad header entry`},
		{"negative offset", stFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}`, data16[:4]), `tensor "w": bad header entry`},
		{"three offsets", stFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}`, data16[:4]), `tensor "w": data_offsets must be [begin, end]`},
		{"negative dimension", stFile(`{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}`, data16[:4]), `tensor "w": negative dimension`},
		{"fractional dimension", stFile(`{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}`, data16[:4]), `tensor "w": bad header entry`},
		{"offsets reversed", stFile(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}`, data16[:8]), `tensor "w": data_offsets [8, 4] end before`},
		{"offsets past data", stFile(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, data16[:8]), `tensor "w": data_offsets [0, 16] run past the 8-byte data section`},
		{"size mismatch", stFile(`{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, data16[:8]), `tensor "w": shape [3] of F32 needs 12 bytes (3 elements of 4 bytes) but data_offsets [0, 8] hold 8 bytes`},
		{"f16 size mismatch", stFile(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, data16[:8]), `tensor "w": shape [2] of F16 needs 4 bytes (2 elements of 2 bytes) but data_offsets [0, 8] hold 8 bytes`},
		{"u64 not supported", stFile(`{"u":{"dtype":"U64","shape":[1],"data_offsets":[0,8]}}`, data16[:8]), `tensor "u": unsupported dtype "U64" (this reader takes ` + supportedDtypes + ")"},
		{"overflowing shape", stFile(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, data16[:8]), `tensor "w": shape`},
		{"overlap", stFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, data16[:12]), `tensor "b": data_offsets [4, 12] overlap tensor "a"`},
		{"gap", stFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}`, data16[:12]), `tensor "b": data_offsets [8, 12] leave a gap of 4 bytes`},
		{"truncated data", good[:len(good)-4], `tensor "b": data_offsets [8, 16] run past the 12-byte data section`},
		{"extra data", append(append([]byte{}, good...), 0, 0, 0, 0), "data section is 20 bytes but the tensors cover 16"},
		{"metadata not strings", stFile(`{"__metadata__":{"step":1}}`, nil), "__metadata__ must map strings to strings"},
		{"bool not 0 or 1", stFile(`{"m":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}`, []byte{1, 7}), `tensor "m": element 1: BOOL byte 7`},
		{"i64 not exact", stFile(`{"p":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}`, binary.LittleEndian.AppendUint64(nil, 1<<40)), `tensor "p": element 0: I64 value 1099511627776 is not exact`},
		{"f64 overflow", stFile(`{"d":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}`, binary.LittleEndian.AppendUint64(nil, math.Float64bits(1e300))), `tensor "d": element 0: F64 value 1e+300 overflows float32`},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, tc.file, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err := ReadSafetensors(path)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q should name %s and say %q", err, path, tc.want)
			}
		})
	}
	// The dtypes the message lists are exactly those the reader converts.
	listed := strings.Fields(strings.NewReplacer(",", "", " and ", " ").Replace(supportedDtypes))
	if len(listed) != len(dtypeSize) {
		t.Errorf("supportedDtypes lists %d dtypes, the reader converts %d", len(listed), len(dtypeSize))
	}
	for _, d := range listed {
		if _, ok := dtypeSize[d]; !ok {
			t.Errorf("supportedDtypes lists %s, which the reader does not convert", d)
		}
	}
	if _, _, err := ReadSafetensors(filepath.Join(dir, "missing.safetensors")); err == nil || !strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("missing file: error %v should name it", err)
	}
	// The good file the cases are cut from is itself valid.
	path := filepath.Join(dir, "good.safetensors")
	if err := os.WriteFile(path, good, 0o644); err != nil {
		t.Fatal(err)
	}
	if ts, _, err := ReadSafetensors(path); err != nil || len(ts) != 2 {
		t.Errorf("good file: %d tensors, %v", len(ts), err)
	}
}

func TestSafetensorsWriteErrors(t *testing.T) {
	cases := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"duplicate", []Tensor{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{2}}}, `tensor "a" appears twice`},
		{"shape mismatch", []Tensor{{Name: "a", Shape: []int{2, 2}, Data: []float32{1, 2, 3}}}, `tensor "a": shape [2 2] needs 4 values, have 3`},
		{"negative dim", []Tensor{{Name: "a", Shape: []int{-1}, Data: nil}}, `tensor "a": negative dimension`},
		{"empty name", []Tensor{{Name: "", Shape: []int{}, Data: []float32{1}}}, `invalid tensor name ""`},
		{"metadata name", []Tensor{{Name: "__metadata__", Shape: []int{}, Data: []float32{1}}}, `invalid tensor name "__metadata__"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "model.safetensors")
			old := []byte("previous checkpoint")
			if err := os.WriteFile(path, old, 0o644); err != nil {
				t.Fatal(err)
			}
			err := WriteSafetensors(path, tc.ts, nil)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v should name %s and say %q", err, path, tc.want)
			}
			if b, _ := os.ReadFile(path); !bytes.Equal(b, old) {
				t.Error("a failed write changed the existing file")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 1 {
				t.Errorf("a failed write left files behind: %v", ents)
			}
		})
	}
	// A directory that does not exist: an error, nothing written.
	if err := WriteSafetensors(filepath.Join(t.TempDir(), "no", "such", "x.safetensors"), nil, nil); err == nil {
		t.Error("writing into a missing directory succeeded")
	}
}

// TestSafetensorsFloat16 checks the half-precision conversion for all 65,536 bit patterns
// against the definition (sign, 5-bit exponent with bias 15, 10-bit fraction).
func TestSafetensorsFloat16(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		sign := 1.0
		if h>>15 == 1 {
			sign = -1
		}
		exp, frac := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch exp {
		case 0:
			want = sign * math.Ldexp(float64(frac), -24)
		case 0x1f:
			if frac != 0 {
				if got := float16ToFloat32(uint16(h)); !math.IsNaN(float64(got)) {
					t.Errorf("%#04x: %g, want NaN", h, got)
				}
				continue
			}
			want = math.Inf(int(sign))
		default:
			want = sign * math.Ldexp(1+float64(frac)/1024, exp-15)
		}
		got := float16ToFloat32(uint16(h))
		if float64(got) != want || math.Signbit(float64(got)) != (sign < 0) {
			t.Errorf("%#04x: %g, want %g", h, got, want)
		}
	}
}

func TestSafetensorsHFConfig(t *testing.T) {
	// The config.json published with bert-base-uncased (an older transformers wrote it).
	c, err := ReadHFConfig("testdata/safetensors/bert-base-uncased.config.json")
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultHFConfig()
	want.Architectures = []string{"BertForMaskedLM"}
	want.TransformersVersion = "4.6.0.dev0"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("read %+v\nwant %+v", c, want)
	}

	// Round trip a tiny config; the file is what transformers writes (sorted keys, indent 2).
	tiny := DefaultHFConfig()
	tiny.HiddenSize, tiny.NumHiddenLayers, tiny.NumAttentionHeads, tiny.IntermediateSize = 128, 2, 2, 512
	tiny.TransformersVersion = TransformersVersion // WriteHFConfig fills it in
	path := filepath.Join(t.TempDir(), "config.json")
	if err := WriteHFConfig(path, tiny); err != nil {
		t.Fatal(err)
	}
	back, err := ReadHFConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, tiny) {
		t.Errorf("round trip %+v\nwant %+v", back, tiny)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	sorted, _ := json.MarshalIndent(generic, "", "  ") // encoding/json sorts map keys
	if string(raw) != string(sorted)+"\n" {
		t.Errorf("config.json is not in sorted-key form:\n%s", raw)
	}
	for _, k := range []string{`"architectures": [`, `"BertForPreTraining"`, `"model_type": "bert"`, `"hidden_act": "gelu"`, `"layer_norm_eps": 1e-12`} {
		if !strings.Contains(string(raw), k) {
			t.Errorf("config.json lacks %s:\n%s", k, raw)
		}
	}

	// Missing fields take BertConfig's defaults.
	partial := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(partial, []byte(`{"model_type":"bert","hidden_size":256,"num_attention_heads":4,"num_hidden_layers":4,"intermediate_size":1024}`), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := ReadHFConfig(partial)
	if err != nil {
		t.Fatal(err)
	}
	if p.VocabSize != 30522 || p.LayerNormEps != 1e-12 || p.MaxPositionEmbeddings != 512 || p.HiddenSize != 256 {
		t.Errorf("defaults not applied: %+v", p)
	}
}

func TestSafetensorsHFConfigErrors(t *testing.T) {
	cases := []struct{ name, json, want string }{
		{"not json", `{"hidden_size":`, "unexpected end"},
		{"wrong type", `{"hidden_size":"big"}`, "hidden_size"},
		{"heads", `{"hidden_size":100,"num_attention_heads":3}`, "not a multiple of num_attention_heads"},
		{"zero layers", `{"num_hidden_layers":0}`, "num_hidden_layers must be positive"},
		{"activation", `{"hidden_act":"relu"}`, `hidden_act "relu" is not supported`},
		{"relative positions", `{"position_embedding_type":"relative_key"}`, "position_embedding_type"},
		{"untied", `{"tie_word_embeddings":false}`, "tie_word_embeddings"},
		{"model type", `{"model_type":"roberta"}`, `model_type is "roberta"`},
		{"eps", `{"layer_norm_eps":0}`, "layer_norm_eps"},
		{"dropout", `{"hidden_dropout_prob":1.5}`, "hidden_dropout_prob"},
		{"pad", `{"pad_token_id":40000}`, "pad_token_id"},
	}
	dir := t.TempDir()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".json")
			if err := os.WriteFile(path, []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadHFConfig(path)
			if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v should name %s and say %q", err, path, tc.want)
			}
		})
	}
	bad := DefaultHFConfig()
	bad.HiddenAct = "gelu_new"
	path := filepath.Join(dir, "config.json")
	if err := WriteHFConfig(path, bad); err == nil {
		t.Error("WriteHFConfig accepted an unsupported activation")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Error("a rejected config was written")
	}
}

func BenchmarkSafetensorsWriteRead(b *testing.B) {
	// A mini-sized embedding matrix (30522 x 256, 31 MB).
	ts := []Tensor{{Name: "bert.embeddings.word_embeddings.weight", Shape: []int{30522, 256}, Data: make([]float32, 30522*256)}}
	path := filepath.Join(b.TempDir(), "model.safetensors")
	b.SetBytes(4 * 30522 * 256)
	for b.Loop() {
		if err := WriteSafetensors(path, ts, nil); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ReadSafetensors(path); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSafetensorsTorchCheckpoint reads the micro BERT checkpoint the PyTorch reference wrote
// (tools/torchref via gen.py): its config.json through ReadHFConfig, its weights through
// ReadSafetensors, with the Hugging Face names and [out, in] shapes the config implies.
func TestSafetensorsTorchCheckpoint(t *testing.T) {
	dir := "testdata/safetensors/torch_bert_micro"
	c, err := ReadHFConfig(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.VocabSize != 64 || c.HiddenSize != 16 || c.NumHiddenLayers != 2 || c.NumAttentionHeads != 2 || c.IntermediateSize != 32 || c.MaxPositionEmbeddings != 32 {
		t.Fatalf("config %+v", c)
	}
	ts, meta, err := ReadSafetensors(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" {
		t.Errorf("metadata %v lacks format pt", meta)
	}
	h, in, v := c.HiddenSize, c.IntermediateSize, c.VocabSize
	want := map[string][]int{
		"bert.embeddings.word_embeddings.weight":       {v, h},
		"bert.embeddings.position_embeddings.weight":   {c.MaxPositionEmbeddings, h},
		"bert.embeddings.token_type_embeddings.weight": {c.TypeVocabSize, h},
		"bert.embeddings.LayerNorm.weight":             {h}, "bert.embeddings.LayerNorm.bias": {h},
		"bert.pooler.dense.weight": {h, h}, "bert.pooler.dense.bias": {h},
		"cls.predictions.transform.dense.weight": {h, h}, "cls.predictions.transform.dense.bias": {h},
		"cls.predictions.transform.LayerNorm.weight": {h}, "cls.predictions.transform.LayerNorm.bias": {h},
		"cls.predictions.bias": {v}, "cls.seq_relationship.weight": {2, h}, "cls.seq_relationship.bias": {2},
	}
	for l := range c.NumHiddenLayers {
		p := fmt.Sprintf("bert.encoder.layer.%d.", l)
		for _, n := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			want[p+n+".weight"], want[p+n+".bias"] = []int{h, h}, []int{h}
		}
		for _, n := range []string{"attention.output.LayerNorm", "output.LayerNorm"} {
			want[p+n+".weight"], want[p+n+".bias"] = []int{h}, []int{h}
		}
		want[p+"intermediate.dense.weight"], want[p+"intermediate.dense.bias"] = []int{in, h}, []int{in}
		want[p+"output.dense.weight"], want[p+"output.dense.bias"] = []int{h, in}, []int{h}
	}
	if len(ts) != len(want) {
		t.Errorf("%d tensors, want %d", len(ts), len(want))
	}
	for _, x := range ts {
		if !reflect.DeepEqual(x.Shape, want[x.Name]) {
			t.Errorf("%s: shape %v, want %v", x.Name, x.Shape, want[x.Name])
		}
	}
}
