package special

import (
	"encoding/json"
	"testing"
)

// Shards store Special in their schema metadata and manifest.json: its JSON is part of the
// shard bytes and must not change (no "unk", fields in this order).
func TestJSONIsTheShardFormat(t *testing.T) {
	b, err := json.Marshal(IDs{PAD: 0, UNK: 100, CLS: 101, SEP: 102, MASK: 103})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"pad":0,"cls":101,"sep":102,"mask":103}`; string(b) != want {
		t.Errorf("JSON %s, want %s", b, want)
	}
}
