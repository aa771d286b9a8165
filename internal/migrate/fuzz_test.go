package migrate

import (
	"testing"

	"github.com/pgseal/pgseal/internal/value"
)

// FuzzOpenValue: OpenValue decodes bytes read from the database; it must never panic and never
// accept bytes that SealValue did not produce for this column.
func FuzzOpenValue(f *testing.F) {
	fx := newFixture(f)
	col := mustColumn(f, configEncrypt("t", "c", "text", true))
	ks, _ := fx.snap().Keyset("default")
	good, err := col.Seal(nil, ks, append([]byte{byte(value.Text)}, "hello"...))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:40])
	f.Add([]byte{1, 1, 0})
	f.Fuzz(func(t *testing.T, env []byte) {
		plain, _, _, err := col.Open(nil, fx.snap(), env, nil)
		if err == nil && string(env) != string(good) {
			t.Fatalf("OpenValue(%x) = %q, want an error for bytes SealValue did not produce", env, plain)
		}
	})
}
