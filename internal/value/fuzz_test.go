package value

import (
	"bytes"
	"testing"
)

func fuzzType(b uint8) Type { return Type(b%uint8(Bytea) + 1) }

// FuzzEncodeText: Encode never panics, and whatever it accepts decodes (text and binary) to
// something that encodes back to the same plaintext.
func FuzzEncodeText(f *testing.F) {
	for typ, ins := range corpus {
		for _, in := range ins {
			f.Add(uint8(typ-1), []byte(in), false)
		}
	}
	f.Fuzz(func(t *testing.T, typb uint8, in []byte, newYork bool) {
		typ := fuzzType(typb)
		s := &Session{}
		if newYork {
			s.Set("TimeZone", "America/New_York")
		}
		plain, err := Encode(nil, typ, FormatText, in, s)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("Encode(%s, %q) error %T, want *Error", typ, in, err)
			}
			return
		}
		for _, format := range []int16{FormatText, FormatBinary} {
			out, err := Decode(nil, typ, plain, format, s)
			if err != nil {
				t.Fatalf("Decode(%s, Encode(%q), %d) = %v", typ, in, format, err)
			}
			again, err := Encode(nil, typ, format, out, s)
			if err != nil || !bytes.Equal(again, plain) {
				t.Fatalf("Encode(%s, Decode(Encode(%q)) = %q, %d) = %x, %v, want %x", typ, in, out, format, again, err, plain)
			}
		}
		if typ.SupportsEquality() {
			if _, err := EqualityForm(nil, typ, plain); err != nil {
				t.Fatalf("EqualityForm(%s, Encode(%q)) = %v", typ, in, err)
			}
		}
	})
}

// FuzzDecode: arbitrary plaintexts (as a corrupted or forged ciphertext could yield after a bug)
// never panic; Decode either refuses them or produces output that encodes back to them (binary)
// or to the same text.
func FuzzDecode(f *testing.F) {
	for typ, ins := range corpus {
		for _, in := range ins {
			if plain, err := Encode(nil, typ, FormatText, []byte(in), nil); err == nil {
				f.Add(uint8(typ-1), plain[1:])
			}
		}
	}
	f.Fuzz(func(t *testing.T, typb uint8, body []byte) {
		typ := fuzzType(typb)
		plain := append([]byte{byte(typ)}, body...)
		out, err := Decode(nil, typ, plain, FormatText, nil)
		if err != nil {
			return
		}
		// Text is lossy only where PostgreSQL's is (NaN payloads), so compare decoded text.
		again, err := Encode(nil, typ, FormatText, out, nil)
		if err != nil {
			t.Fatalf("Encode(%s, Decode(%x) = %q) = %v", typ, plain, out, err)
		}
		if out2, err := Decode(nil, typ, again, FormatText, nil); err != nil || !bytes.Equal(out2, out) {
			t.Fatalf("Decode(Encode(Decode(%x))) = %q, %v, want %q", plain, out2, err, out)
		}
		bin, err := Decode(nil, typ, plain, FormatBinary, nil)
		if err != nil {
			t.Fatalf("Decode(%s, %x, binary) = %v after text succeeded", typ, plain, err)
		}
		if back, err := Encode(nil, typ, FormatBinary, bin, nil); err != nil || !bytes.Equal(back, plain) {
			t.Fatalf("Encode(%s, Decode(%x, binary)) = %x, %v, want the plaintext back", typ, plain, back, err)
		}
		_, _ = EqualityForm(nil, typ, plain)
	})
}
