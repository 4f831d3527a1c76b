package main

import (
	"fmt"
	"io"

	"github.com/kiln-bert/kiln/tokenize"
)

// checkpointTokenizer returns tok when the checkpoints can hold its files, else nil after a
// warning naming why.
func checkpointTokenizer(name string, tok *tokenize.Tokenizer, stderr io.Writer) *tokenize.Tokenizer {
	if err := tok.CanWriteHF(); err != nil {
		fmt.Fprintf(stderr, "kiln %s: warning: the checkpoints will hold no tokenizer files (AutoTokenizer will not find one there): %v\n", name, err)
		return nil
	}
	return tok
}
