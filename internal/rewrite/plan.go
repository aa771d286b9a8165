package rewrite

import (
	"fmt"
	"strings"
)

// Plan is what Analyze decides for one SQL text. It is plain data (JSON-marshalable); the wire
// layer applies it.
type Plan struct {
	SQL        string       // the original text
	Statements []*Statement // one per statement; nil when the prefilter skipped parsing
	Params     []Param      // index i is $(i+1); len = highest $N used (0 when not parsed); use Param(n)
	Edits      []Edit       // sorted by Start, non-overlapping, byte offsets into SQL
	// Shape is the shape key (ShapeOf) of a plan a Template made or was made from; "" otherwise.
	// The texts of one Shape differ only in literal values of one class.
	Shape string `json:"-"`

	valueDep bool // the analysis used a constant's value other than as an edit's Literal (shape.go)
}

// Touches reports whether any statement references an encrypted column (needs a keyset).
func (p *Plan) Touches() bool {
	for _, s := range p.Statements {
		if s.Touches {
			return true
		}
	}
	return false
}

// Param returns the action for $n (1-based); ParamPass when the plan says nothing about it.
func (p *Plan) Param(n int) Param {
	if n < 1 || n > len(p.Params) {
		return Param{Kind: ParamPass}
	}
	return p.Params[n-1]
}

// Render applies Edits back to front. Static edits insert e.Text; dynamic ones call fill, which
// returns the SQL text to insert (e.g. '\x…'::bytea). Without edits it returns p.SQL unchanged.
func (p *Plan) Render(fill func(Edit) (string, error)) (string, error) {
	if len(p.Edits) == 0 {
		return p.SQL, nil
	}
	var b strings.Builder
	b.Grow(len(p.SQL) + 64*len(p.Edits))
	prev := 0
	for _, e := range p.Edits {
		if e.Start < prev || e.End < e.Start || e.End > len(p.SQL) {
			return "", fmt.Errorf("rewrite: render: edit [%d,%d) out of order or out of range", e.Start, e.End)
		}
		b.WriteString(p.SQL[prev:e.Start])
		text := e.Text
		if e.Kind != EditStatic {
			if fill == nil {
				return "", fmt.Errorf("rewrite: render: dynamic edit at %d without fill", e.Start)
			}
			t, err := fill(e)
			if err != nil {
				return "", err
			}
			text = t
		}
		// Keep tokens apart: `$$x$$WHERE` is two tokens, `'…'::byteaWHERE` would be one.
		if text != "" && e.Start > 0 && identByte(p.SQL[e.Start-1]) && identByte(text[0]) {
			b.WriteByte(' ')
		}
		b.WriteString(text)
		if text != "" && e.End < len(p.SQL) && identByte(p.SQL[e.End]) && identByte(text[len(text)-1]) {
			b.WriteByte(' ')
		}
		prev = e.End
	}
	b.WriteString(p.SQL[prev:])
	return b.String(), nil
}

// Statement is the analysis of one statement of the text.
type Statement struct {
	Kind    StmtKind
	Start   int // byte range in SQL
	End     int
	Touches bool // references an encrypted column
	// Terms: the statement compares, orders, matches or writes search terms (an equality, order
	// or match term, or a value of a column with search, whose envelope carries them). The wire
	// refuses such statements while the session's keyset rotates its index keys (terms under two
	// index generations cannot be compared; docs/crypto.md §6).
	Terms bool `json:",omitempty"`
	// CatalogView: catalog relations it reads were replaced by subqueries that show encrypted
	// columns with their plaintext types (Schema.Catalog); its text changes without Touches.
	CatalogView bool            `json:",omitempty"`
	Outputs     []Output        `json:",omitempty"` // result columns carrying an encrypted value unchanged
	Settings    []SettingChange `json:",omitempty"` // SET/RESET/DISCARD ALL/set_config in it
	Copy        *Copy           `json:",omitempty"` // for COPY
	Cursor      string          `json:",omitempty"` // DECLARE/FETCH/MOVE/CLOSE: the cursor name
	Tx          string          `json:",omitempty"` // Transaction: begin, commit, rollback, savepoint, release, rollback_to, prepare, commit_prepared, rollback_prepared

	// SQL-level prepared statements share one namespace with the extended protocol's named
	// statements, so the wire must follow them (see doc.go, "Prepared statements").
	PrepareName    string `json:",omitempty"` // PREPARE name AS …: set only when the statement passed analysis
	ExecuteName    string `json:",omitempty"` // EXECUTE name[(args)], also inside EXPLAIN and CREATE TABLE … AS
	ExecuteArgs    bool   `json:",omitempty"` // the EXECUTE passes arguments
	DeallocateName string `json:",omitempty"` // DEALLOCATE [PREPARE] name
	DeallocateAll  bool   `json:",omitempty"` // DEALLOCATE [PREPARE] ALL, or DISCARD ALL (which deallocates too)

	// Filters are LIKE/ILIKE/NOT LIKE/NOT ILIKE conditions on match columns that pgseal decides
	// after decryption (the server's match-term filter only narrows the rows): a row is sent to
	// the client only when every filter is true. Hidden trailing result columns (the last Hidden
	// ones) carry the envelopes the filters read; the wire strips them from RowDescription and
	// DataRow and counts only the rows it sends in CommandComplete.
	Filters []Filter `json:",omitempty"`
	Hidden  int      `json:",omitempty"`
}

// Filter is one exact LIKE-family condition decided by pgseal (Statement.Filters).
type Filter struct {
	Position int     // 0-based result position of the hidden column holding the envelope
	Column   *Column // the match column
	ILike    bool    // ILIKE (case-insensitive)
	Not      bool    // NOT LIKE / NOT ILIKE
	Pattern  string  `json:",omitempty"` // the pattern, when a constant
	Param    int     `json:",omitempty"` // > 0: the pattern is $Param
	// Escape is the ESCAPE character (a constant); NoEscape: ESCAPE '' (none). The default is
	// backslash.
	Escape   string `json:",omitempty"`
	NoEscape bool   `json:",omitempty"`
}

// Output is a result column that carries an encrypted column's value unchanged.
type Output struct {
	Position int // 0-based position in the result row
	Column   *Column
}

// Param is the action for one parameter.
type Param struct {
	Kind   ParamKind
	Column *Column `json:",omitempty"`
	// Cast is the type a removed cast gave the parameter when it differs from the column's
	// plaintext type (`$1::varchar` for a text column), or is an integer, float4 or date/time
	// type (a value the client declares otherwise is then cast, not compared across types): the
	// client's value has that type and the wire converts it (value.EncodeAs). Empty: the
	// column's type.
	Cast string `json:",omitempty"`
	// CastLen > 0: an explicit varchar(CastLen) cast, which truncates the value to that many
	// characters (value.TruncateChars) before it meets the column.
	CastLen int `json:",omitempty"`
	// InList: a ParamTerm or ParamOrd in an IN list of two or more items that are not columns. PostgreSQL
	// types those items by their common type with the column (transformAExprIn), so an undeclared
	// one is varchar for a varchar column, where a lone `col = $1` is text (texteq's operand).
	InList bool `json:",omitempty"`
	// Ord: a ParamTermArray whose elements become order terms, for `c = ANY($1)` on a column
	// with order search and no equality search (ordEqual).
	Ord bool `json:",omitempty"`
}

// Edit is one replacement of SQL[Start:End].
type Edit struct {
	Start, End int
	Kind       EditKind
	Text       string  `json:",omitempty"` // EditStatic: replacement text
	Literal    string  `json:",omitempty"` // dynamic: the literal's decoded value
	Cast       string  `json:",omitempty"` // dynamic: the literal's type when cast to another than the column's (see Param.Cast), or the type PostgreSQL gives an unquoted number it converts (numeric, int8: casts.go)
	CastLen    int     `json:",omitempty"` // dynamic: varchar(CastLen) truncates the literal (see Param.CastLen)
	Numeric    bool    `json:",omitempty"` // dynamic: the literal is a numeric constant that Cast converts (`1.5::int8`: casts.go)
	InList     bool    `json:",omitempty"` // EditTerm, EditOrd: an item of an IN list of two or more (see Param.InList)
	Ord        bool    `json:",omitempty"` // EditTermArray: order terms, not equality terms (see Param.Ord)
	Column     *Column `json:",omitempty"` // dynamic: which column's keys and type
	// EditMatch only: the condition is NOT LIKE / NOT ILIKE (the tokens are an empty array), and
	// the pattern's ESCAPE character (Escape; NoEscape: ESCAPE ''; neither: backslash), as in the
	// condition's Filter.
	Not      bool   `json:",omitempty"`
	Escape   string `json:",omitempty"`
	NoEscape bool   `json:",omitempty"`
}

// SettingChange is one change of a run-time setting made by a statement.
type SettingChange struct {
	Kind       SettingKind
	Name       string `json:",omitempty"` // lower-cased; "" for ResetAll/DiscardAll
	Value      string `json:",omitempty"` // constant value, if known
	ValueParam int    `json:",omitempty"` // >0: set_config's value is $N
	LocalParam int    `json:",omitempty"` // >0: set_config's is_local is $N (Kind then says Set)
	Dynamic    bool   `json:",omitempty"` // value is an expression known only to the server
	Default    bool   `json:",omitempty"` // SET LOCAL x TO DEFAULT: the reset value, locally
}

// Copy describes a COPY statement.
type Copy struct {
	Table     string   `json:",omitempty"` // "schema.table" as written/resolved; "" for COPY (query)
	Columns   []string `json:",omitempty"` // column list (all when omitted and known)
	From      bool     // FROM STDIN (else TO STDOUT)
	Format    string   // "text", "csv", "binary"
	Delimiter string
	Null      string
	Quote     string `json:",omitempty"`
	Escape    string `json:",omitempty"`
	Header    bool
	Fields    []*Column // aligned with the COPY fields: encrypted column or nil
}

// identByte reports bytes that continue an identifier, keyword or number.
func identByte(c byte) bool {
	return c == '_' || c == '$' || c >= 0x80 || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
