package column

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
)

func TestDecodeByteaText(t *testing.T) {
	cases := []struct {
		name, in string
		want     []byte
		err      bool
	}{
		{"hex output decodes", `\x01ff`, []byte{1, 0xff}, false},
		{"escape output decodes octal and backslashes", `a\\\001\377`, []byte{'a', '\\', 1, 0xff}, false},
		{"odd hex is an error", `\x0`, nil, true},
		{"a lone backslash is an error", `a\`, nil, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeByteaText(nil, []byte(c.in))
			if (err != nil) != c.err || (!c.err && !bytes.Equal(got, c.want)) {
				t.Fatalf("DecodeByteaText(%q) = %x, %v, want %x", c.in, got, err, c.want)
			}
		})
	}
}

func TestAppendByteaHex(t *testing.T) {
	got := AppendByteaHex([]byte("x"), []byte{1, 0xff})
	if string(got) != `x\x01ff` {
		t.Fatalf("AppendByteaHex() = %q, want %q", got, `x\x01ff`)
	}
	back, err := DecodeByteaText(nil, got[1:])
	if err != nil || !bytes.Equal(back, []byte{1, 0xff}) {
		t.Fatalf("DecodeByteaText(AppendByteaHex()) = %x, %v", back, err)
	}
}

// TestDecodeByteaTextHex: the hex decoder accepts exactly what encoding/hex does, at every
// length and with a bad digit at every position, in either case.
func TestDecodeByteaTextHex(t *testing.T) {
	for n := 0; n <= 70; n++ {
		raw := make([]byte, n)
		for i := range raw {
			raw[i] = byte(i*37 + n)
		}
		for _, enc := range []string{hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw))} {
			got, err := DecodeByteaText([]byte("pre"), []byte(`\x`+enc))
			if err != nil || !bytes.Equal(got, append([]byte("pre"), raw...)) {
				t.Fatalf("n=%d: DecodeByteaText = %x, %v, want pre+%x", n, got, err, raw)
			}
			for pos := range len(enc) {
				for _, c := range []byte{'g', 'G', ' ', 0, 0x80, 0xff, '/', ':', '@', '`'} {
					bad := []byte(enc)
					bad[pos] = c
					got, err := DecodeByteaText([]byte("pre"), append([]byte(`\x`), bad...))
					if err == nil || string(got) != "pre" {
						t.Fatalf("n=%d: %q at %d: DecodeByteaText = %q, %v, want an error and dst unchanged", n, c, pos, got, err)
					}
				}
			}
		}
	}
	if _, err := DecodeByteaText(nil, []byte(`\x0102030405060708091`)); err == nil {
		t.Fatal("odd length after a full step: no error")
	}
}

func BenchmarkDecodeByteaText(b *testing.B) {
	raw := make([]byte, 104) // a 20-character text value's suite 2 envelope is about this long
	for i := range raw {
		raw[i] = byte(i * 7)
	}
	src := []byte(`\x` + hex.EncodeToString(raw))
	b.Run("pair-table", func(b *testing.B) {
		var dst []byte
		for b.Loop() {
			dst, _ = DecodeByteaText(dst[:0], src)
		}
	})
	b.Run("encoding-hex", func(b *testing.B) {
		dst := make([]byte, len(raw))
		for b.Loop() {
			_, _ = hex.Decode(dst, src[2:])
		}
	})
}
