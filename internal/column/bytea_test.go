package column

import (
	"bytes"
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
