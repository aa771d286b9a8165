package seal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"testing"
)

// copyBinHeaderBytes is the header PostgreSQL writes: signature, no flags, no extension.
func copyBinHeaderBytes() []byte {
	return append([]byte(copyBinSignature), 0, 0, 0, 0, 0, 0, 0, 0)
}

// copyBinTuple renders one tuple; a nil field is NULL.
func copyBinTuple(fields ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(fields)))
	for _, f := range fields {
		b = copyBinField(b, f, f == nil)
	}
	return b
}

var copyBinTrailer = []byte{0xff, 0xff}

func copyBinJoin(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// copyBinRun feeds chunks to a fresh binary stream, then finishes it; it returns the emitted
// units joined and how many there were.
func copyBinRun(tr []copyField, maxRow int, chunks ...[]byte) ([]byte, int, error) {
	s := newCopyBinStream(tr, maxRow)
	var out []byte
	units := 0
	emit := func(row []byte) error {
		out = append(out, row...)
		units++
		return nil
	}
	for _, c := range chunks {
		if err := s.feed(c, emit); err != nil {
			return out, units, err
		}
	}
	return out, units, s.finish(emit)
}

func copyErrCode(err error) string {
	if err == nil {
		return ""
	}
	if pe, ok := sqlstate.As(err); ok {
		return pe.Code
	}
	return "?"
}

func TestCopyBinStreamTransformsOnlyTheChosenFields(t *testing.T) {
	hdr := copyBinHeaderBytes()
	ext := append([]byte(copyBinSignature), 0, 0, 0, 0, 0, 0, 0, 3, 'x', 'y', 'z')
	tests := []struct {
		name string
		tr   []copyField
		in   []byte
		want []byte
	}{
		{"the second field is transformed, NULLs stay NULL", copyFields(3, copyUpperASCII, 1),
			copyBinJoin(hdr, copyBinTuple([]byte("ab"), []byte("cd"), nil), copyBinTuple(nil, nil, []byte("e")), copyBinTrailer),
			copyBinJoin(hdr, copyBinTuple([]byte("ab"), []byte("CD"), nil), copyBinTuple(nil, nil, []byte("e")), copyBinTrailer)},
		{"a header extension passes byte for byte", copyFields(1, copyUpperASCII, 0),
			copyBinJoin(ext, copyBinTuple([]byte("q")), copyBinTrailer), copyBinJoin(ext, copyBinTuple([]byte("Q")), copyBinTrailer)},
		{"no transform passes everything", copyFields(2, nil),
			copyBinJoin(hdr, copyBinTuple([]byte("a"), nil), copyBinTrailer), copyBinJoin(hdr, copyBinTuple([]byte("a"), nil), copyBinTrailer)},
		{"data without a trailer ends cleanly", copyFields(1, copyUpperASCII, 0),
			copyBinJoin(hdr, copyBinTuple([]byte("a"))), copyBinJoin(hdr, copyBinTuple([]byte("A")))},
		{"one stray byte at a tuple boundary is an end, as in PostgreSQL", copyFields(1, copyUpperASCII, 0),
			copyBinJoin(hdr, copyBinTuple([]byte("a")), []byte{0}), copyBinJoin(hdr, copyBinTuple([]byte("A")))},
		{"an empty value is not NULL", copyFields(1, copyUpperASCII, 0),
			copyBinJoin(hdr, copyBinTuple([]byte{}), copyBinTrailer), copyBinJoin(hdr, copyBinTuple([]byte{}), copyBinTrailer)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := copyBinRun(tt.tr, 0, tt.in)
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("copyBinStream(%x) = %x, %v, want %x", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestCopyBinStreamRejectsBadInput(t *testing.T) {
	hdr := copyBinHeaderBytes()
	row := copyBinTuple([]byte("ab"), nil)
	badSize := copyBinJoin(hdr, []byte{0, 2, 0, 0, 0, 1, 'a', 0xff, 0xff, 0xff, 0xfe})
	tests := []struct {
		name, code string
		maxRow     int
		in         []byte
		wantOut    []byte // what was emitted before the error
	}{
		{"an empty stream has no signature", copyCodeBadFormat, 0, nil, nil},
		{"a wrong signature is refused at once", copyCodeBadFormat, 0, []byte("PGCOPX"), nil},
		{"text data is not a binary stream", copyCodeBadFormat, 0, []byte("1\tabc\n"), nil},
		{"a truncated signature is refused at the end", copyCodeBadFormat, 0, []byte(copyBinSignature[:8]), nil},
		{"missing flags are refused", copyCodeBadFormat, 0, []byte(copyBinSignature + "\x00\x00"), nil},
		{"WITH OIDS is refused", copyCodeBadFormat, 0, []byte(copyBinSignature + "\x00\x01\x00\x00\x00\x00\x00\x00"), nil},
		{"unknown critical flags are refused", copyCodeBadFormat, 0, []byte(copyBinSignature + "\x80\x00\x00\x00\x00\x00\x00\x00"), nil},
		{"a negative extension length is refused", copyCodeBadFormat, 0, []byte(copyBinSignature + "\x00\x00\x00\x00\xff\xff\xff\xff"), nil},
		{"a short extension is refused", copyCodeBadFormat, 0, []byte(copyBinSignature + "\x00\x00\x00\x00\x00\x00\x00\x05ab"), nil},
		{"a wrong field count is refused", copyCodeBadFormat, 0, copyBinJoin(hdr, copyBinTuple([]byte("a"))), hdr},
		{"a negative field count is refused", copyCodeBadFormat, 0, copyBinJoin(hdr, []byte{0xff, 0xfe}), hdr},
		{"a field size below -1 is refused", copyCodeBadFormat, 0, badSize, hdr},
		{"a truncated tuple is refused", copyCodeBadFormat, 0, copyBinJoin(hdr, row[:len(row)-2]), hdr},
		{"a tuple cut after its count is refused", copyCodeBadFormat, 0, copyBinJoin(hdr, row[:2]), hdr},
		{"data after the trailer is refused", copyCodeBadFormat, 0, copyBinJoin(hdr, row, copyBinTrailer, row), copyBinJoin(hdr, copyBinTuple([]byte("AB"), nil), copyBinTrailer)},
		{"a tuple longer than the cap is refused", copyCodeTooLarge, 12, copyBinJoin(hdr, copyBinTuple([]byte("0123456789"), nil)), hdr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := copyBinRun(copyFields(2, copyUpperASCII, 0), tt.maxRow, tt.in)
			if code := copyErrCode(err); code != tt.code {
				t.Fatalf("copyBinStream(%x) error = %v (%s), want %q", tt.in, err, code, tt.code)
			}
			if !bytes.Equal(got, tt.wantOut) {
				t.Fatalf("copyBinStream(%x) emitted %x before the error, want %x", tt.in, got, tt.wantOut)
			}
		})
	}
}

func TestCopyBinStreamTransformErrorNamesLineAndField(t *testing.T) {
	fail := func(int, []byte, bool) ([]byte, bool, error) {
		return nil, false, copyErrorf("22P03", "incorrect binary data format")
	}
	in := copyBinJoin(copyBinHeaderBytes(), copyBinTuple(nil, nil), copyBinTuple(nil, []byte{1}))
	tr := copyFields(2, copyIdentity, 0)
	tr[1] = func(i int, in []byte, null bool) ([]byte, bool, error) {
		if null {
			return nil, true, nil
		}
		return fail(i, in, null)
	}
	_, units, err := copyBinRun(tr, 0, in)
	pe := copyRefusal(err, "encrypting")
	if pe.Code != "22P03" || pe.Detail != "COPY data line 2, field 2" || units != 2 {
		t.Fatalf("copyBinStream error = %+v after %d units, want 22P03 with Detail \"COPY data line 2, field 2\" after 2", pe, units)
	}
	if !errors.As(err, new(*sqlstate.Error)) {
		t.Fatalf("copyBinStream error %T, want a wrapped *sqlstate.Error", err)
	}
}

func TestCopyBinStreamIsIndependentOfChunkBoundaries(t *testing.T) {
	in := copyBinJoin(append([]byte(copyBinSignature), 0, 0, 0, 0, 0, 0, 0, 2, 'e', 'x'),
		copyBinTuple([]byte("abc"), nil, []byte("")), copyBinTuple(nil, []byte("def"), []byte("gh")), copyBinTrailer)
	tr := copyFields(3, copyUpperASCII, 1, 2)
	want, _, err := copyBinRun(tr, 0, in)
	if err != nil {
		t.Fatalf("copyBinStream(%x) error = %v", in, err)
	}
	for i := 0; i <= len(in); i++ {
		for j := i; j <= len(in); j++ {
			got, _, err := copyBinRun(tr, 0, in[:i], in[i:j], in[j:])
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("copyBinStream split at %d, %d = %x, %v, want %x", i, j, got, err, want)
			}
		}
	}
}

// FuzzCopyBinStream: no input panics, chunking never changes the output or the error, and the
// identity transform reproduces every accepted input byte for byte.
func FuzzCopyBinStream(f *testing.F) {
	hdr := copyBinHeaderBytes()
	f.Add(copyBinJoin(hdr, copyBinTuple([]byte("ab"), nil), copyBinTrailer), uint8(2), uint16(13), uint16(20))
	f.Add(copyBinJoin(hdr, copyBinTuple([]byte("a")), []byte{0, 1, 0xff}), uint8(1), uint16(3), uint16(1))
	f.Add([]byte(copyBinSignature+"\x00\x00\x00\x00\x00\x00\x00\x01x\x00\x00\xff\xff"), uint8(0), uint16(0), uint16(0))
	f.Add(copyBinJoin(hdr, copyBinTuple(nil, []byte{}, []byte("z")), copyBinTrailer, []byte("junk")), uint8(3), uint16(30), uint16(31))
	f.Fuzz(func(t *testing.T, in []byte, nf uint8, a, b uint16) {
		n := int(nf % 5) // 0: any field count
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		i := int(a) % (len(in) + 1)
		j := i + int(b)%(len(in)-i+1)
		for _, tc := range []struct {
			tr       []copyField
			identity bool
		}{{copyFields(n, nil), true}, {copyFields(n, copyIdentity, all...), true}, {copyFields(n, copyUpperASCII, all...), false}} {
			once, u1, err1 := copyBinRun(tc.tr, 1<<16, in)
			split, u2, err2 := copyBinRun(tc.tr, 1<<16, in[:i], in[i:j], in[j:])
			if !bytes.Equal(once, split) || u1 != u2 || errString(err1) != errString(err2) {
				t.Fatalf("copyBinStream(%x) = %x, %d, %v; split at %d, %d = %x, %d, %v", in, once, u1, err1, i, j, split, u2, err2)
			}
			if tc.identity && !bytes.HasPrefix(in, once) {
				t.Fatalf("identity copyBinStream(%x) = %x, want a prefix of the input", in, once)
			}
			if tc.identity && err1 == nil && len(in)-len(once) >= 2 {
				t.Fatalf("identity copyBinStream(%x) = %x, accepted but dropped more than a stray byte", in, once)
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// BenchmarkCopyBinStream measures the framing cost: 1000 tuples of three fields, one transformed,
// fed in 64 KiB chunks as pgx sends them.
func BenchmarkCopyBinStream(b *testing.B) {
	in := copyBinHeaderBytes()
	for i := 0; i < 1000; i++ {
		in = append(in, copyBinTuple([]byte{0, 0, 0, 1}, []byte("someone@example.com"), nil)...)
	}
	in = append(in, copyBinTrailer...)
	tr := copyFields(3, copyIdentity, 1)
	b.SetBytes(int64(len(in)))
	for i := 0; i < b.N; i++ {
		s := newCopyBinStream(tr, 0)
		for off := 0; off < len(in); off += 64 << 10 {
			if err := s.feed(in[off:min(off+64<<10, len(in))], func([]byte) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		if err := s.finish(func([]byte) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}
