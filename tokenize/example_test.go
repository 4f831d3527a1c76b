package tokenize_test

import (
	"context"
	"fmt"
	"log"

	"github.com/kiln-bert/kiln/tokenize"
)

// Encode one text into a reused Encoding and print its pieces.
func ExampleTokenizer_Encode() {
	tk, err := tokenize.Load("vocab.txt", false) // uncased BERT
	if err != nil {
		log.Fatal(err)
	}
	var e tokenize.Encoding // reuse it: Encode overwrites it
	tk.Encode(&e, "The unaffable Cat sat.")
	fmt.Println(e.IDs, e.Words)
	fmt.Println(tk.Tokens(nil, e.IDs)) // [the una ##ffa ##ble cat sat .]
}

// Encode many texts on two workers.
func ExampleTokenizer_EncodeBatch() {
	tk, err := tokenize.LoadJSON("tokenizer.json")
	if err != nil {
		log.Fatal(err)
	}
	encs, err := tk.EncodeBatch(context.Background(), []string{"first text", "second text"}, 2)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range encs {
		fmt.Println(e.IDs)
	}
}
