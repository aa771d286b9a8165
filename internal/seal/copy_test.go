package seal

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// copyText and copyCSV are rewrite.Copy descriptions with PostgreSQL's defaults.
func copyText() *rewrite.Copy {
	return &rewrite.Copy{Format: "text", Delimiter: "\t", Null: `\N`}
}

func copyCSV() *rewrite.Copy {
	return &rewrite.Copy{Format: "csv", Delimiter: ",", Null: "", Quote: `"`, Escape: `"`}
}

func copyWith(c *rewrite.Copy, change func(*rewrite.Copy)) *rewrite.Copy {
	change(c)
	return c
}

func copyMustFormat(t testing.TB, c *rewrite.Copy) copyFormat {
	t.Helper()
	f, err := newCopyFormat(c)
	if err != nil {
		t.Fatalf("newCopyFormat() = %v, want no error", err)
	}
	return f
}

// copyRun feeds chunks to a fresh stream, then finishes it; it returns the emitted rows joined.
func copyRun(f copyFormat, tr []copyField, maxRow int, chunks ...[]byte) ([]byte, int, error) {
	s := newCopyStream(f, tr, maxRow)
	var out []byte
	rows := 0
	emit := func(row []byte) error {
		out = append(out, row...)
		rows++
		return nil
	}
	for _, c := range chunks {
		if err := s.feed(c, emit); err != nil {
			return out, rows, err
		}
	}
	return out, rows, s.finish(emit)
}

func copyIdentity(i int, in []byte, null bool) ([]byte, bool, error) { return in, null, nil }

// copyUpperASCII upper-cases ASCII letters, as PostgreSQL's upper() does under the C collation.
func copyUpperASCII(i int, in []byte, null bool) ([]byte, bool, error) {
	out := make([]byte, len(in))
	for k, c := range in {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		out[k] = c
	}
	return out, null, nil
}

// copyFields makes a transform list of n fields with fn at the given indexes.
func copyFields(n int, fn copyField, at ...int) []copyField {
	tr := make([]copyField, n)
	for _, i := range at {
		tr[i] = fn
	}
	return tr
}

func TestCopyFormatChecksOptions(t *testing.T) {
	tests := []struct {
		name string
		c    *rewrite.Copy
		code string // "" = valid
	}{
		{"text defaults are valid", copyText(), ""},
		{"CSV defaults are valid", copyCSV(), ""},
		{"an empty format means text", copyWith(copyText(), func(c *rewrite.Copy) { c.Format = "" }), ""},
		{"binary is accepted (copy_binary.go)", &rewrite.Copy{Format: "binary"}, ""},
		{"an unknown format is refused", &rewrite.Copy{Format: "xml", Delimiter: ","}, copyCodeInvalidParam},
		{"a two-byte delimiter is refused", copyWith(copyText(), func(c *rewrite.Copy) { c.Delimiter = "||" }), copyCodeInvalidParam},
		{"a multibyte delimiter is refused", copyWith(copyText(), func(c *rewrite.Copy) { c.Delimiter = "é" }), copyCodeInvalidParam},
		{"a newline delimiter is refused", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Delimiter = "\n" }), copyCodeInvalidParam},
		{"a backslash delimiter in text is refused", copyWith(copyText(), func(c *rewrite.Copy) { c.Delimiter = `\` }), copyCodeInvalidParam},
		{"a letter delimiter in text is refused", copyWith(copyText(), func(c *rewrite.Copy) { c.Delimiter = "a" }), copyCodeInvalidParam},
		{"a NULL string with a CR is refused", copyWith(copyText(), func(c *rewrite.Copy) { c.Null = "a\rb" }), copyCodeInvalidParam},
		{"a NULL string holding the delimiter is refused", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Null = "a,b" }), copyCodeInvalidParam},
		{"a NULL string holding the quote is refused", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Null = `"` }), copyCodeInvalidParam},
		{"a quote equal to the delimiter is refused", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Quote = "," }), copyCodeInvalidParam},
		{"an empty quote is refused", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Quote = "" }), copyCodeInvalidParam},
		{"a two-byte escape is refused", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Escape = "ab" }), copyCodeInvalidParam},
		{"a newline quote is refused", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Quote, c.Escape = "\n", "\n" }), copyCodeInvalidParam},
		{"no description is an internal error", nil, sqlstate.InternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newCopyFormat(tt.c)
			code := ""
			if err != nil {
				pe, ok := sqlstate.As(err)
				if !ok {
					t.Fatalf("newCopyFormat() = %v, want a sqlstate.Error", err)
				}
				code = pe.Code
			}
			if code != tt.code {
				t.Errorf("newCopyFormat() code = %q (%v), want %q", code, err, tt.code)
			}
		})
	}
}

func TestCopyStreamTransformsOnlyTheChosenFields(t *testing.T) {
	upper1 := copyFields(3, copyUpperASCII, 1)
	tests := []struct {
		name string
		c    *rewrite.Copy
		tr   []copyField
		in   string
		want string
	}{
		{"text rows keep every other byte", copyText(), upper1,
			"1\tabc\t\\x41\n2\tdé f\t\\N\n", "1\tABC\t\\x41\n2\tDé F\t\\N\n"},
		{"text escapes are decoded and re-encoded canonically", copyText(), upper1,
			"1\ta\\tb\\\\c\\x64\\145\\q\tz\n", "1\tA\\tB\\\\CDEQ\tz\n"},
		{"text NULL stays NULL", copyText(), upper1, "1\t\\N\tx\n", "1\t\\N\tx\n"},
		{"text escaped newline is data", copyText(), upper1, "1\ta\\\nb\tc\n", "1\tA\\nB\tc\n"},
		{"text CRLF and CR line ends are kept", copyText(), upper1, "1\ta\tb\r\n2\tc\td\r\n", "1\tA\tb\r\n2\tC\td\r\n"},
		{"a text row without a line end is emitted at finish", copyText(), upper1, "1\ta\tb", "1\tA\tb"},
		{"text end marker ends the data and drops the rest", copyText(), upper1,
			"1\ta\tb\n\\.\n2\tsecret\tx\n", "1\tA\tb\n\\.\n"},
		{"text end marker after a row's data keeps that row", copyText(), upper1,
			"1\ta\tb\\.\n2\tsecret\tx\n", "1\tA\tb\\.\n"},
		{"text header passes untouched", copyWith(copyText(), func(c *rewrite.Copy) { c.Header = true }), upper1,
			"id\tname\tx\n1\ta\tb\n", "id\tname\tx\n1\tA\tb\n"},
		{"text custom delimiter and NULL", copyWith(copyText(), func(c *rewrite.Copy) { c.Delimiter, c.Null = "|", "nil" }), upper1,
			"1|a\\|b|nil\n2|nil|c\n", "1|A\\|B|nil\n2|nil|c\n"},
		{"text value with control bytes is escaped like PostgreSQL", copyText(), copyFields(3, func(int, []byte, bool) ([]byte, bool, error) {
			return []byte("\b\f\n\r\t\v\x01\\"), false, nil
		}, 1), "1\tx\ty\n", "1\t\\b\\f\\n\\r\\t\\v\x01\\\\\ty\n"},
		{"CSV quoted fields with newlines and doubled quotes", copyCSV(), upper1,
			"1,\"a\nb\"\"c\",x\n2,\"\",\n", "1,\"A\nB\"\"C\",x\n2,\"\",\n"},
		{"CSV unquoted empty is NULL and stays NULL", copyCSV(), upper1, "1,,x\n", "1,,x\n"},
		{"CSV value needing no quotes loses them", copyCSV(), upper1, "1,\"abc\",x\n", "1,ABC,x\n"},
		{"CSV quote in the middle of a field", copyCSV(), upper1, "1,a\"b,c\"d,x\n", "1,\"AB,CD\",x\n"},
		{"CSV header passes untouched, quotes and all", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Header = true }), upper1,
			"id,\"na\nme\",x\n1,a,b\n", "id,\"na\nme\",x\n1,A,b\n"},
		{"CSV custom delimiter, NULL, quote and escape", copyWith(copyCSV(), func(c *rewrite.Copy) {
			c.Delimiter, c.Null, c.Quote, c.Escape = ";", "NULL", "'", `\`
		}), upper1, "1;'a;\\'b\\\\';NULL\n2;NULL;'NULL'\n", "1;'A;\\'B\\\\';NULL\n2;NULL;'NULL'\n"},
		{"CSV end marker alone on a line ends the data", copyCSV(), upper1, "1,a,b\n\\.\n2,secret,x\n", "1,A,b\n\\.\n"},
		{"CSV \\. with more on its line is data", copyCSV(), upper1, "\\.,a,b\n", "\\.,A,b\n"},
		{"CSV \\. without a line end at the end is data", copyCSV(), copyFields(1, copyUpperASCII, 0), "\\.", "\"\\.\""},
		{"CSV row equal to the NULL string is quoted", copyCSV(), copyFields(3, func(int, []byte, bool) ([]byte, bool, error) {
			return nil, false, nil
		}, 1), "1,a,b\n", "1,\"\",b\n"},
		{"a transform can turn a value into NULL", copyText(), copyFields(3, func(int, []byte, bool) ([]byte, bool, error) {
			return nil, true, nil
		}, 2), "1\ta\tb\n", "1\ta\t\\N\n"},
		{"no transform passes bytes verbatim", copyText(), copyFields(3, nil), "1\t\\x41\t\\N\n", "1\t\\x41\t\\N\n"},
		{"an empty transform list checks nothing", copyText(), nil, "1\n1\t2\n", "1\n1\t2\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, _, err := copyRun(copyMustFormat(t, tt.c), tt.tr, 0, []byte(tt.in))
			if err != nil {
				t.Fatalf("copyStream(%q) error = %v, want none", tt.in, err)
			}
			if string(out) != tt.want {
				t.Errorf("copyStream(%q) = %q, want %q", tt.in, out, tt.want)
			}
		})
	}
}

func TestCopyStreamRejectsBadInput(t *testing.T) {
	failing := errors.New("boom")
	tests := []struct {
		name string
		c    *rewrite.Copy
		tr   []copyField
		in   string
		max  int
		code string // SQLSTATE, or "" for the transform's own error
	}{
		{"too few text fields", copyText(), copyFields(3, copyIdentity, 1), "1\ta\n", 0, copyCodeBadFormat},
		{"too many text fields", copyText(), copyFields(3, copyIdentity, 1), "1\ta\tb\tc\n", 0, copyCodeBadFormat},
		{"too many fields without transforms", copyText(), copyFields(2, nil), "1\ta\tb\n", 0, copyCodeBadFormat},
		{"too few CSV fields", copyCSV(), copyFields(3, copyIdentity, 0), "1,\"a,b\"\n", 0, copyCodeBadFormat},
		{"an unterminated CSV quote", copyCSV(), copyFields(2, copyIdentity, 1), "1,\"abc\n", 0, copyCodeBadFormat},
		{"a corrupt text end marker", copyText(), copyFields(2, copyIdentity, 1), "1\ta\\.x\n", 0, copyCodeBadFormat},
		{"a row over the size cap", copyText(), copyFields(2, copyIdentity, 1), "1\t" + strings.Repeat("a", 100) + "\n", 64, copyCodeTooLarge},
		{"an incomplete row over the size cap", copyText(), copyFields(2, copyIdentity, 1), "1\t" + strings.Repeat("a", 100), 64, copyCodeTooLarge},
		{"a value with a zero byte", copyText(), copyFields(2, copyIdentity, 1), "1\ta\\000b\n", 0, copyCodeBadFormat},
		{"a failing transform", copyText(), copyFields(2, func(int, []byte, bool) ([]byte, bool, error) { return nil, false, failing }, 1),
			"1\ta\n", 0, ""},
		{"a transform's sqlstate.Error keeps its code", copyText(), copyFields(2, func(int, []byte, bool) ([]byte, bool, error) {
			return nil, false, &sqlstate.Error{Code: sqlstate.InsufficientPrivilege, Message: "no grant"}
		}, 1), "1\ta\n", 0, sqlstate.InsufficientPrivilege},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := copyRun(copyMustFormat(t, tt.c), tt.tr, tt.max, []byte(tt.in))
			if err == nil {
				t.Fatalf("copyStream(%q) error = nil, want one", tt.in)
			}
			if tt.code == "" {
				if !errors.Is(err, failing) {
					t.Errorf("copyStream(%q) error = %v, want it to wrap %v", tt.in, err, failing)
				}
				return
			}
			pe, ok := sqlstate.As(err)
			if !ok || pe.Code != tt.code {
				t.Errorf("copyStream(%q) error = %v, want SQLSTATE %s", tt.in, err, tt.code)
			}
			if strings.Contains(err.Error(), "aaaa") || strings.Contains(err.Error(), "abc") {
				t.Errorf("copyStream() error = %q, want no values in it", err)
			}
		})
	}
}

func TestCopyStreamIsIndependentOfChunkBoundaries(t *testing.T) {
	tests := []struct {
		name string
		c    *rewrite.Copy
		in   string
	}{
		{"text", copyWith(copyText(), func(c *rewrite.Copy) { c.Header = true }),
			"h1\th2\th3\n1\ta\\\\b\\tc\\\n\t\\N\r\n2\t\\x41\\101\\\\.\tz\r\n3\t\\\\.x\tq\\.\n"},
		{"text with CR line ends and an end marker", copyText(), "1\ta\tb\r2\tc\\\rd\t\\N\r3\te\tf\\.\rjunk"},
		{"CSV", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Header = true }),
			"id,\"a\r\nb\",c\r\n1,\"x\"\"y\r\nz\",\r\n2,\"\",\"\\.\"\r\n\\.\r\nafter"},
		{"CSV with a separate escape", copyWith(copyCSV(), func(c *rewrite.Copy) { c.Escape = `\` }),
			"1,\"a\\\"b\\\\\",\"\n\"\n2,\"\\x\",c\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := copyMustFormat(t, tt.c)
			tr := copyFields(3, copyUpperASCII, 1, 2)
			in := []byte(tt.in)
			want, _, err := copyRun(f, tr, 0, in)
			if err != nil {
				t.Fatalf("copyStream(%q) error = %v", in, err)
			}
			for i := 0; i <= len(in); i++ {
				got, _, err := copyRun(f, tr, 0, in[:i], in[i:])
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("copyStream split at %d = %q, %v, want %q", i, got, err, want)
				}
			}
			var ones [][]byte
			for i := range in {
				ones = append(ones, in[i:i+1])
			}
			if got, _, err := copyRun(f, tr, 0, ones...); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("copyStream byte by byte = %q, %v, want %q", got, err, want)
			}
		})
	}
}

func TestCopyTextDecodeFollowsPostgreSQL(t *testing.T) {
	tests := []struct{ name, raw, want string }{
		{"named escapes", `\b\f\n\r\t\v`, "\b\f\n\r\t\v"},
		{"octal of one to three digits", `\7\101\1012`, "\x07AA2"},
		{"octal wraps at a byte", `\777`, "\xff"},
		{"hex of one or two digits", `\x4\x41\x414`, "\x04AA4"},
		{"a bare \\x is an x", `\xg`, "xg"},
		{"other escapes are literal", `\q\\\.\N`, `q\.N`},
		{"a trailing backslash is dropped", `ab\`, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := copyTextDecode(nil, []byte(tt.raw)); string(got) != tt.want {
				t.Errorf("copyTextDecode(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestCopyByteaDecodeReadsBothOutputFormats(t *testing.T) {
	tests := []struct {
		name, text, want string
		wantErr          bool
	}{
		{"hex", `\x00ff41`, "\x00\xffA", false},
		{"empty hex", `\x`, "", false},
		{"odd hex", `\x0`, "", true},
		{"bad hex digit", `\xzz`, "", true},
		{"escape format", `a\\b\000\377`, "a\\b\x00\xff", false},
		{"bad escape", `a\9`, "", true},
		{"trailing backslash", `a\`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := column.DecodeByteaText(nil, []byte(tt.text))
			if (err != nil) != tt.wantErr || (!tt.wantErr && string(got) != tt.want) {
				t.Errorf("column.DecodeByteaText(%q) = %q, %v, want %q (error %v)", tt.text, got, err, tt.want, tt.wantErr)
			}
		})
	}
	if got := column.AppendByteaHex([]byte("p"), []byte{0, 0xab}); string(got) != `p\x00ab` {
		t.Errorf("column.AppendByteaHex() = %q, want %q", got, `p\x00ab`)
	}
}

func FuzzCopyStream(f *testing.F) {
	f.Add([]byte("1\ta\\tb\t\\N\n2\t\\x41\tc\r\n"), false, uint8(3), uint16(5))
	f.Add([]byte("1,\"a\nb\"\"c\",\n2,x,\"\"\n\\.\n"), true, uint8(3), uint16(9))
	f.Add([]byte("a\\.\nb"), false, uint8(1), uint16(2))
	f.Add([]byte("\\."), true, uint8(1), uint16(1))
	f.Add([]byte("1;'a\\'b';NULL\n"), true, uint8(6), uint16(3))
	f.Fuzz(func(t *testing.T, in []byte, csv bool, nf uint8, split uint16) {
		c := copyText()
		switch {
		case csv && nf&4 != 0:
			c = copyWith(copyCSV(), func(c *rewrite.Copy) { c.Delimiter, c.Null, c.Quote, c.Escape = ";", "NULL", "'", `\` })
		case csv:
			c = copyCSV()
		case nf&4 != 0:
			c = copyWith(copyText(), func(c *rewrite.Copy) { c.Delimiter, c.Null = "|", "nil" })
		}
		fm := copyMustFormat(t, c)
		n := int(nf%4) + 1
		at := int(split) % (len(in) + 1)

		// Pass-through copies every byte up to the end marker.
		plain, _, err := copyRun(fm, copyFields(n, nil), 0, in[:at], in[at:])
		if err == nil && !bytes.HasPrefix(in, plain) {
			t.Fatalf("pass-through(%q) = %q, want a prefix of the input", in, plain)
		}
		if err == nil && !bytes.Contains(in, []byte(`\.`)) && !bytes.Equal(plain, in) {
			t.Fatalf("pass-through(%q) = %q, want the input", in, plain)
		}

		// The identity transform gives the canonical encoding, the same for any chunking, and
		// canonical input comes back byte for byte.
		id := copyFields(n, copyIdentity, func() []int {
			all := make([]int, n)
			for i := range all {
				all[i] = i
			}
			return all
		}()...)
		once, _, err := copyRun(fm, id, 0, in)
		if err != nil {
			return
		}
		split2, _, err := copyRun(fm, id, 0, in[:at], in[at:])
		if err != nil || !bytes.Equal(split2, once) {
			t.Fatalf("identity(%q) split at %d = %q, %v, want %q", in, at, split2, err, once)
		}
		twice, _, err := copyRun(fm, id, 0, once)
		if err != nil || !bytes.Equal(twice, once) {
			t.Fatalf("identity(identity(%q)) = %q, %v, want %q", in, twice, err, once)
		}
	})
}
