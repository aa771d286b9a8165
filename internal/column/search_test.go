package column

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/sqlstate"
	"github.com/pgseal/pgseal/internal/value"
)

// likeCases were checked against PostgreSQL 15 (TestLikeMatchesServer runs them there too).
// want is "t", "f" or "error" (22025).
var likeCases = []struct {
	s, p string
	esc  Escape
	fold Fold
	want string
}{
	{"abc", "abc", DefaultEscape, FoldNone, "t"},
	{"abc", "ab", DefaultEscape, FoldNone, "f"},
	{"abc", "a%", DefaultEscape, FoldNone, "t"},
	{"abc", "%c", DefaultEscape, FoldNone, "t"},
	{"abc", "%b%", DefaultEscape, FoldNone, "t"},
	{"abc", "a_c", DefaultEscape, FoldNone, "t"},
	{"abc", "a__c", DefaultEscape, FoldNone, "f"},
	{"abc", "___", DefaultEscape, FoldNone, "t"},
	{"abc", "____", DefaultEscape, FoldNone, "f"},
	{"", "", DefaultEscape, FoldNone, "t"},
	{"", "%", DefaultEscape, FoldNone, "t"},
	{"", "_", DefaultEscape, FoldNone, "f"},
	{"a", "", DefaultEscape, FoldNone, "f"},
	{"a%c", `a\%c`, DefaultEscape, FoldNone, "t"},
	{"abc", `a\%c`, DefaultEscape, FoldNone, "f"},
	{"a_c", `a\_c`, DefaultEscape, FoldNone, "t"},
	{"abc", `a\_c`, DefaultEscape, FoldNone, "f"},
	{`a\c`, `a\\c`, DefaultEscape, FoldNone, "t"},
	{"abc", `a\bc`, DefaultEscape, FoldNone, "t"},
	{"abcd", `abc\`, DefaultEscape, FoldNone, "error"},
	{"abc", `abc\`, DefaultEscape, FoldNone, "f"}, // the text ends before the escape is reached
	{"xbc", `abc\`, DefaultEscape, FoldNone, "f"},
	{"abc", `%\`, DefaultEscape, FoldNone, "error"},
	{"", `%\`, DefaultEscape, FoldNone, "f"},
	{"a%c", "a#%c", Escape{Char: '#'}, FoldNone, "t"},
	{"abc", "a#%c", Escape{Char: '#'}, FoldNone, "f"},
	{`a\c`, `a\c`, Escape{Char: '#'}, FoldNone, "t"},
	{"a#c", "a##c", Escape{Char: '#'}, FoldNone, "t"},
	{"abcd", "abc#", Escape{Char: '#'}, FoldNone, "error"},
	{`a\c`, `a\c`, Escape{None: true}, FoldNone, "t"},
	{`a\\c`, `a\\c`, Escape{None: true}, FoldNone, "t"},
	{"abcd", `abc\`, Escape{None: true}, FoldNone, "f"},
	{`abc\`, `abc\`, Escape{None: true}, FoldNone, "t"},
	{"a%c", "a%c", Escape{None: true}, FoldNone, "t"},
	{"日本語", "日_語", DefaultEscape, FoldNone, "t"},
	{"日本語", "日__語", DefaultEscape, FoldNone, "f"},
	{"日本語", "%本%", DefaultEscape, FoldNone, "t"},
	{"日本語", "___", DefaultEscape, FoldNone, "t"},
	{"😀x", "_x", DefaultEscape, FoldNone, "t"},
	{"é", "_", DefaultEscape, FoldNone, "t"},
	{"aé", `a\é`, DefaultEscape, FoldNone, "t"},
	{"ABC", "abc", DefaultEscape, FoldNone, "f"},
	{"ABC", "abc", DefaultEscape, FoldASCII, "t"},
	{"ÉCOLE", "école", DefaultEscape, FoldASCII, "f"},
	{"ÉCOLE", "école", DefaultEscape, FoldUnicode, "t"},
	{"ÉCOLE", "%COLE", DefaultEscape, FoldUnicode, "t"},
	{"Straße", "STRASSE", DefaultEscape, FoldUnicode, "f"},
	{"ΣΊΣΥΦΟΣ", "σίσυφοσ", DefaultEscape, FoldUnicode, "t"},
	{"aaa", "%a%a%a%a%", DefaultEscape, FoldNone, "f"},
	{"aaaa", "%a%a%a%a%", DefaultEscape, FoldNone, "t"},
	{"mississippi", "%iss%ipp%", DefaultEscape, FoldNone, "t"},
	{"mississippi", "m%i_s%pi", DefaultEscape, FoldNone, "t"},
	{"abc", "%%%", DefaultEscape, FoldNone, "t"},
	{"ab", "%_%_%_%", DefaultEscape, FoldNone, "f"},
	{"x%", `%\%`, DefaultEscape, FoldNone, "t"},
	{"Abc", `\Abc`, DefaultEscape, FoldASCII, "t"},
}

func TestLikeTable(t *testing.T) {
	for _, tc := range likeCases {
		got, err := Like(tc.s, tc.p, tc.esc, tc.fold)
		res := "f"
		if got {
			res = "t"
		}
		if err != nil {
			res = "error"
			var se *sqlstate.Error
			if !errors.As(err, &se) || se.Code != "22025" || se.Message != "LIKE pattern must not end with escape character" {
				t.Errorf("Like(%q, %q) error %v, want 22025", tc.s, tc.p, err)
			}
		}
		if res != tc.want {
			t.Errorf("Like(%q, %q, %+v, fold %d) = %s, want %s", tc.s, tc.p, tc.esc, tc.fold, res, tc.want)
		}
	}
}

func TestFoldRune(t *testing.T) {
	for _, c := range [][2]rune{{'A', 'a'}, {'k', 'k'}, {'\u212a', 'k'}, {'S', 's'}, {'ſ', 's'}, {'Σ', 'σ'}, {'ς', 'σ'},
		{'İ', 'i'}, {'É', 'é'}, {'1', '1'}, {'日', '日'}} {
		if got := foldRune(c[0]); got != c[1] {
			t.Errorf("foldRune(%q) = %q, want %q", c[0], got, c[1])
		}
	}
	// fold depends on a rune only through unicode.ToLower, and ASCII folding commutes with it.
	for r := rune(0); r < 0x20000; r++ {
		if foldRune(r) != foldRune(FoldUnicode.apply(r)) || foldRune(r) != foldRune(FoldASCII.apply(r)) {
			t.Fatalf("foldRune(%U) differs from the fold of its lower case", r)
		}
	}
}

func searchColumn(t testing.TB, typ string, search ...string) Column {
	t.Helper()
	col, err := FromConfig(config.Encrypt{Table: "t", Column: "c", Type: typ, Search: search})
	if err != nil {
		t.Fatal(err)
	}
	return col
}

func tokenSet(s string) []string {
	s = strings.Trim(s, "{}")
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

// TestMatchTokensNecessary: whenever Like(s, p) holds, MatchTokens(s) contains every token of
// PatternTokens(p), for every fold; and the lists have the documented shape.
func TestMatchTokensNecessary(t *testing.T) {
	snap := testSnapshot(t)
	acme, _ := snap.Keyset("acme")
	col := searchColumn(t, "text", "match")
	rng := rand.New(rand.NewPCG(21, 22))
	alpha := []rune("abcABC%_\\é É日ΣσςkK\u212aİi")
	randStr := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alpha[rng.IntN(len(alpha))])
		}
		return b.String()
	}
	matched := 0
	for i := 0; i < 4000; i++ {
		s := randStr(rng.IntN(14))
		// A pattern from pieces of s, with wildcards and random case changes, so that many match.
		var p strings.Builder
		for _, r := range s {
			switch rng.IntN(9) {
			case 0:
				p.WriteByte('%')
			case 1:
				p.WriteByte('_')
				continue
			case 2:
				p.WriteString(strings.ToUpper(string(r)))
				continue
			case 3:
				continue
			}
			if r == '%' || r == '_' || r == '\\' {
				p.WriteByte('\\')
			}
			p.WriteRune(r)
		}
		pat := p.String()
		if i%5 == 0 {
			pat = randStr(rng.IntN(8))
		}
		env, err := col.MatchTokens(nil, acme, append([]byte{byte(value.Text)}, s...))
		if err != nil {
			t.Fatal(err)
		}
		have := tokenSet(string(env))
		if !slices.IsSorted(have[1:]) || have[0] != "k"+hexID(acme.ID) {
			t.Fatalf("MatchTokens(%q) = %q: not keyset token then sorted tokens", s, env)
		}
		pt, err := col.PatternTokens(acme, pat, DefaultEscape)
		if err != nil {
			if strings.HasSuffix(pat, `\`) {
				continue
			}
			t.Fatalf("PatternTokens(%q): %v", pat, err)
		}
		for _, fold := range []Fold{FoldNone, FoldASCII, FoldUnicode} {
			ok, err := Like(s, pat, DefaultEscape, fold)
			if err != nil || !ok {
				continue
			}
			matched++
			for _, tok := range tokenSet(pt) {
				if !slices.Contains(have, tok) {
					t.Fatalf("Like(%q, %q, fold %d) holds but token %s of the pattern (%s) is not among %q", s, pat, fold, tok, pt, env)
				}
			}
		}
	}
	if matched < 1000 {
		t.Fatalf("only %d matching pairs: the generator is too weak", matched)
	}
	// Short values have only the keyset token; other keysets have other keyset tokens.
	globex, _ := snap.Keyset("globex")
	a, _ := col.MatchTokens(nil, acme, append([]byte{byte(value.Text)}, "ab"...))
	g, _ := col.MatchTokens(nil, globex, append([]byte{byte(value.Text)}, "ab"...))
	if string(a) != "k"+hexID(acme.ID) || string(g) == string(a) {
		t.Fatalf("short values: %q, %q", a, g)
	}
	pa, _ := col.PatternTokens(acme, "%ab%", DefaultEscape)
	if pa != "{k"+hexID(acme.ID)+"}" {
		t.Fatalf("PatternTokens without trigrams = %q", pa)
	}
	if _, err := col.PatternTokens(acme, `abc\`, DefaultEscape); err == nil {
		t.Fatal("a pattern ending in the escape character was accepted")
	}
	intCol := searchColumn(t, "int4", "ord")
	if _, err := intCol.MatchTokens(nil, acme, []byte{byte(value.Int4), 0, 0, 0, 1}); err == nil {
		t.Fatal("an int4 column has match tokens")
	}
}

func hexID(id crypto.KeysetID) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for _, c := range id {
		b.WriteByte(digits[c>>4])
		b.WriteByte(digits[c&15])
	}
	return b.String()
}

// TestOrdTermSortsAsPlaintexts: for every ordered type, terms under one keyset sort as the
// order forms (which value's tests hold to PostgreSQL's order); terms of two keysets start with
// their keyset ids.
func TestOrdTermSortsAsPlaintexts(t *testing.T) {
	snap := testSnapshot(t)
	acme, _ := snap.Keyset("acme")
	globex, _ := snap.Keyset("globex")
	inputs := map[string][]string{
		"int2":        {"-32768", "-1", "0", "1", "32767"},
		"int4":        {"-2147483648", "-5", "0", "7", "2147483647"},
		"int8":        {"-9223372036854775808", "-1", "0", "1", "9223372036854775807"},
		"float4":      {"-Infinity", "-1.5", "-0", "0", "1e-40", "2.5", "Infinity", "NaN"},
		"float8":      {"-Infinity", "-1e300", "-0", "0", "1e-320", "2.5", "Infinity", "NaN"},
		"numeric":     {"-Infinity", "-100", "-1.5", "-1.25", "0", "0.001", "1.0", "1.00", "1.5", "10", "Infinity", "NaN"},
		"date":        {"-infinity", "1999-12-31", "2000-01-01", "2024-02-29", "infinity"},
		"timestamp":   {"-infinity", "1999-12-31 23:59:59", "2000-01-01 00:00:00.000001", "infinity"},
		"timestamptz": {"-infinity", "1999-12-31 23:59:59+00", "2000-01-01 00:00:00.000001+00", "infinity"},
		"text":        {"", "A", "a", "ab", "abc", "b", "é", "日本"},
		"varchar":     {"", "a", "ab", "b"},
	}
	for typ, ins := range inputs {
		col := searchColumn(t, typ, "ord")
		var terms [][]byte
		for _, in := range ins {
			plain, err := value.Encode(nil, col.Type, value.FormatText, []byte(in), &value.Session{})
			if err != nil {
				t.Fatal(err)
			}
			term, err := col.OrdTerm(nil, acme, plain)
			if err != nil {
				t.Fatalf("%s %q: %v", typ, in, err)
			}
			if !bytes.HasPrefix(term, append(acme.ID[:], 1)) {
				t.Fatalf("%s %q: term does not start with keyset ‖ 01", typ, in)
			}
			g, _ := col.OrdTerm(nil, globex, plain)
			if !bytes.HasPrefix(g, globex.ID[:]) {
				t.Fatalf("%s %q: globex term does not start with its keyset", typ, in)
			}
			terms = append(terms, term)
		}
		for i := 1; i < len(terms); i++ {
			c := bytes.Compare(terms[i-1], terms[i])
			equal := (typ == "numeric" && ins[i] == "1.00") || (strings.HasPrefix(typ, "float") && ins[i] == "0")
			if (equal && c != 0) || (!equal && c >= 0) {
				t.Fatalf("%s: term of %q vs %q compares %d", typ, ins[i-1], ins[i], c)
			}
		}
	}
}

func TestOrdTermLimit(t *testing.T) {
	snap := testSnapshot(t)
	acme, _ := snap.Keyset("acme")
	col := searchColumn(t, "text", "ord")
	ok := append([]byte{byte(value.Text)}, strings.Repeat("x", config.DefaultOrdMaxBytes)...)
	if _, err := col.OrdTerm(nil, acme, ok); err != nil {
		t.Fatalf("a value of ord_max_bytes: %v", err)
	}
	_, err := col.OrdTerm(nil, acme, append(ok, 'x'))
	var se *sqlstate.Error
	if !errors.As(err, &se) || se.Code != "22001" || se.Message != "value too long for an ord search term (ord_max_bytes = 64)" {
		t.Fatalf("a value over ord_max_bytes: %v", err)
	}
	col.OrdMaxBytes = 128
	if _, err := col.OrdTerm(nil, acme, append(ok, 'x')); err != nil {
		t.Fatalf("ord_max_bytes 128: %v", err)
	}
	if _, err := col.Seal(nil, acme, append([]byte{byte(value.Text)}, strings.Repeat("y", 129)...)); err == nil {
		t.Fatal("Seal wrote a value over ord_max_bytes")
	}
}

// TestSealAllTermsOpen: a column with eq, ord and match writes all three; Open returns them in
// the header, and re-sealing with them (reencrypt) keeps them.
func TestSealAllTermsOpen(t *testing.T) {
	snap := testSnapshot(t)
	acme, _ := snap.Keyset("acme")
	col := searchColumn(t, "text", "eq", "ord", "match")
	plain := append([]byte{byte(value.Text)}, "alice@example.com"...)
	env, err := col.Seal(nil, acme, plain)
	if err != nil {
		t.Fatal(err)
	}
	want, err := col.Terms(acme, plain)
	if err != nil {
		t.Fatal(err)
	}
	got, ks, h, err := col.Open(nil, snap, env, &acme.ID)
	if err != nil || !bytes.Equal(got, plain) || ks != acme {
		t.Fatalf("Open() = %q, %v", got, err)
	}
	if h.Flags != crypto.FlagTerm|crypto.FlagOrd|crypto.FlagMatch || !bytes.Equal(h.Term, want.Eq) ||
		!bytes.Equal(h.Ord, want.Ord) || !bytes.Equal(h.Match, want.Match) {
		t.Fatalf("header %+v, want terms %+v", h, want)
	}
	again, err := col.SealWithTerms(nil, acme, got, h.Terms())
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := crypto.ParseHeader(again)
	if bytes.Equal(again, env) || !bytes.Equal(h2.Ord, want.Ord) || !bytes.Equal(h2.Match, want.Match) || !bytes.Equal(h2.Term, want.Eq) {
		t.Fatal("re-sealing did not keep the terms")
	}
	// Another row's order term makes the value fail to open.
	other, _ := col.Seal(nil, acme, append([]byte{byte(value.Text)}, "bob@example.com"...))
	oh, _ := crypto.ParseHeader(other)
	forged, err := acmeColumnKey(t, acme, col.ID).SealTerms(nil, plain, crypto.Terms{Eq: want.Eq, Ord: want.Ord, Match: want.Match})
	if err != nil {
		t.Fatal(err)
	}
	fh, _ := crypto.ParseHeader(forged)
	if len(oh.Ord) == len(fh.Ord) {
		copy(fh.Ord, oh.Ord)
		if _, _, _, err := col.Open(nil, snap, forged, nil); err == nil {
			t.Fatal("a copied order term was accepted")
		}
	}
	// Without ord or match, the envelope is the old layout.
	eqOnly := searchColumn(t, "text", "eq")
	e1, _ := eqOnly.Seal(nil, acme, plain)
	if e1[crypto.FlagsOffset] != crypto.FlagTerm || len(e1) != crypto.SealedSize(len(plain), true) {
		t.Fatal("an eq-only column changed its layout")
	}
}

func acmeColumnKey(t *testing.T, ks *keyring.Keyset, id string) *crypto.ColumnKey {
	t.Helper()
	ck, err := ks.PrimaryColumnKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

func FuzzLike(f *testing.F) {
	for _, tc := range likeCases {
		f.Add(tc.s, tc.p, uint8(tc.fold))
	}
	f.Fuzz(func(t *testing.T, s, p string, fold uint8) {
		fd := Fold(fold % 3)
		ok, err := Like(s, p, DefaultEscape, fd)
		if err != nil {
			var se *sqlstate.Error
			if !errors.As(err, &se) || se.Code != sqlstate.InvalidEscapeSequence {
				t.Fatalf("Like(%q, %q) error %v", s, p, err)
			}
			return
		}
		// The necessary condition, on folded trigrams (no key needed).
		if !ok {
			return
		}
		toks, _ := parsePattern(p, DefaultEscape, FoldNone)
		have := map[string]bool{}
		for _, tri := range foldedTrigrams(s) {
			have[tri] = true
		}
		var run []rune
		check := func() {
			for _, tri := range foldedTrigrams(string(run)) {
				if !have[tri] {
					t.Fatalf("Like(%q, %q, %d) holds but the trigram %q of the pattern is not in the value", s, p, fd, tri)
				}
			}
			run = run[:0]
		}
		for _, tk := range toks {
			if tk.kind == tokLit {
				run = append(run, tk.r)
			} else {
				check()
			}
		}
		check()
	})
}

func foldedTrigrams(s string) []string {
	var rs []rune
	for _, r := range s {
		rs = append(rs, foldRune(r))
	}
	var out []string
	for i := 0; i+3 <= len(rs); i++ {
		out = append(out, string(rs[i:i+3]))
	}
	return out
}

// BenchmarkSearchTerms: a column's order term and match tokens per text value, by length.
func BenchmarkSearchTerms(b *testing.B) {
	snap := testSnapshot(b)
	acme, _ := snap.Keyset("acme")
	col := searchColumn(b, "text", "ord", "match")
	for _, n := range []int{8, 32, 64} {
		plain := append([]byte{byte(value.Text)}, strings.Repeat("abcdefghij", 7)[:n]...)
		b.Run("ord/text/"+strconv.Itoa(n)+"B", func(b *testing.B) {
			b.ReportAllocs()
			var dst []byte
			for b.Loop() {
				dst, _ = col.OrdTerm(dst[:0], acme, plain)
			}
		})
		b.Run("match/text/"+strconv.Itoa(n)+"B", func(b *testing.B) {
			b.ReportAllocs()
			var dst []byte
			for b.Loop() {
				dst, _ = col.MatchTokens(dst[:0], acme, plain)
			}
		})
	}
	b.Run("ord/int8", func(b *testing.B) {
		c := searchColumn(b, "int8", "ord")
		plain := []byte{byte(value.Int8), 0, 0, 0, 0, 0, 0, 0x30, 0x39}
		b.ReportAllocs()
		var dst []byte
		for b.Loop() {
			dst, _ = c.OrdTerm(dst[:0], acme, plain)
		}
	})
}

// TestSearchTypesAgreeWithConfig: every type config accepts for ord has an order form, and every
// type it accepts for match has match tokens.
func TestSearchTypesAgreeWithConfig(t *testing.T) {
	for _, name := range config.OrdTypes {
		typ, err := value.ParseType(name)
		if err != nil || !value.SupportsOrder(typ) {
			t.Errorf("config allows ord on %s, which has no order form (%v)", name, err)
		}
	}
	for _, name := range config.MatchTypes {
		if typ, err := value.ParseType(name); err != nil || (typ != value.Text && typ != value.Varchar) {
			t.Errorf("config allows match on %s, which has no match tokens", name)
		}
	}
}

// TestOrdBound: a bound longer than ord_max_bytes compares with the term of every storable value
// as the bound's plaintext compares with the value.
func TestOrdBound(t *testing.T) {
	snap := testSnapshot(t)
	acme, _ := snap.Keyset("acme")
	rng := rand.New(rand.NewPCG(51, 52))
	for _, typ := range []string{"text", "numeric"} {
		col := searchColumn(t, typ, "ord")
		col.OrdMaxBytes = 6
		if typ == "numeric" {
			col.OrdMaxBytes = 8 // class, exponent and up to three digits (two when negative)
		}
		enc := func(s string) []byte {
			p, err := value.Encode(nil, col.Type, value.FormatText, []byte(s), nil)
			if err != nil {
				t.Fatal(err)
			}
			return p
		}
		gen := func() string {
			if typ == "text" {
				return strings.Repeat("ab", 3)[:rng.IntN(7)] + string(rune('a'+rng.IntN(3)))
			}
			s := strconv.Itoa(rng.IntN(200) - 100)
			if rng.IntN(2) == 0 {
				s += "." + strings.Repeat(strconv.Itoa(rng.IntN(10)), rng.IntN(4))
			}
			return strings.TrimSuffix(s, ".")
		}
		cut := 0
		for range 300 {
			x, v := gen(), gen()
			vt, err := col.OrdTerm(nil, acme, enc(v))
			if err != nil {
				continue // not storable under the small limit
			}
			bt, err := col.OrdBound(nil, acme, enc(x))
			if err != nil {
				t.Fatal(err)
			}
			xf, _ := value.OrderForm(nil, col.Type, enc(x))
			vf, _ := value.OrderForm(nil, col.Type, enc(v))
			truncated := len(xf) > col.OrdMaxBytes
			if want, got := bytes.Compare(vf, xf), bytes.Compare(vt, bt); got != want {
				t.Fatalf("%s: %q vs bound %q (truncated %v): %d, want %d", typ, v, x, truncated, got, want)
			}
			if truncated {
				cut++
			}
		}
		if cut < 30 {
			t.Fatalf("%s: only %d comparisons with a cut bound", typ, cut)
		}
	}
}

func TestLikePatternEndsInEscape(t *testing.T) {
	bs := DefaultEscape
	for _, tt := range []struct {
		pattern string
		esc     Escape
		want    bool
	}{
		{`abc`, bs, false}, {`abc\`, bs, true}, {`abc\\`, bs, false}, {`abc\\\`, bs, true}, {`\%`, bs, false},
		{`ab!`, Escape{Char: '!'}, true}, {`ab\`, Escape{Char: '!'}, false}, {`ab\`, Escape{None: true}, false},
		{`ö§`, Escape{Char: '§'}, true}, {``, bs, false},
	} {
		if got := CompileLike(tt.pattern, tt.esc, FoldNone).EndsInEscape(); got != tt.want {
			t.Errorf("EndsInEscape(%q, %q) = %v, want %v", tt.pattern, tt.esc.Char, got, tt.want)
		}
	}
}
