package crypto_test

import (
	"fmt"

	"github.com/pgseal/pgseal/internal/crypto"
)

func Example() {
	root := crypto.RandomSecret() // from the keyring: keyset root of one data generation
	ks := crypto.KeysetID{0x01}
	col, err := crypto.NewColumnKey(root, ks, 1, "public.users.email", crypto.Suite2)
	if err != nil {
		panic(err)
	}
	eq, err := crypto.NewTermKey(crypto.RandomSecret(), ks, 1, "public.users.email")
	if err != nil {
		panic(err)
	}
	const tagText = 0x19 // the caller's type tag for text
	term := eq.Term(nil, tagText, []byte("alice@example.com"))
	env, err := col.Seal(nil, []byte("alice@example.com"), term)
	if err != nil {
		panic(err)
	}
	h, _ := crypto.ParseHeader(env)
	pt, err := col.Open(nil, env)
	fmt.Println(string(pt), err, len(env) == crypto.SealedSize(17, true), h.Generation)
	fmt.Println(root) // secrets never print
	// Output:
	// alice@example.com <nil> true 1
	// [REDACTED]
}
