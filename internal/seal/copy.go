package seal

// COPY text/CSV row transforms (issue 4, item 6).
//
// copyStream re-encodes the data of a COPY … FROM STDIN / TO STDOUT in text or CSV format, field
// by field, so the session can encrypt (FROM) or decrypt (TO) the encrypted columns while every
// other byte of a row passes through verbatim. It is pure: no I/O, no keys, no logging.
//
// Parsing mirrors PostgreSQL 15's src/backend/commands/copyfromparse.c (CopyReadLineText,
// CopyReadAttributesText, CopyReadAttributesCSV) and encoding mirrors copyto.c
// (CopyAttributeOutText, CopyAttributeOutCSV), so an identity transform reproduces the server's own
// COPY TO bytes exactly.
//
// Decisions:
//   - A row ends at LF, CR or CR LF, outside CSV quotes and not escaped by a backslash in text
//     format; its terminator is kept byte for byte. A final row without a terminator is handled
//     by finish.
//   - The end-of-data marker `\.` is recognised as the server does: in text format anywhere
//     unescaped (the row before it still counts), in CSV only alone on a line followed by a line
//     end. The marker is passed on and everything after it is dropped (the server ignores it, and
//     dropping it means no unencrypted data can ride along).
//   - The first row of a HEADER COPY is passed on untouched (FROM: the server skips or matches it;
//     TO: the server sends it first).
//   - Field values are handed over decoded; a bytea column's value is its text form. The helpers
//     column.AppendByteaHex and column.DecodeByteaText convert between raw bytes and that form, so a transform for
//     an encrypted column writes `\x<hex>` to the server, which the text encoder escapes to `\\x…`.
//   - FORCE_QUOTE, FORCE_NOT_NULL and FORCE_NULL are not modelled: the NULL decision is the default
//     one (raw field equals the NULL string; in CSV only when unquoted).
//   - Client encodings whose multibyte characters can embed ASCII bytes (SJIS, BIG5, GBK, …) are
//     not supported: bytes are scanned as ASCII-safe (UTF-8, LATIN*, …).
//   - A value holding a zero byte cannot be written (PostgreSQL text cannot hold one): error.
//
// Invariants: memory per stream is bounded by maxRow (input) plus the transformed output of one
// row; every malformed input is an error, never a panic; rows handed to emit are only valid
// during the call.

import (
	"bytes"
	"fmt"

	"github.com/pgseal/pgseal/internal/rewrite"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// SQLSTATEs of COPY data errors, as PostgreSQL reports them.
const (
	copyCodeBadFormat    = sqlstate.BadCopyFileFormat
	copyCodeInvalidParam = sqlstate.InvalidParameterValue
	copyCodeTooLarge     = sqlstate.ProgramLimitExceeded
	copyDefaultMaxRow    = 1 << 30 // PostgreSQL's MaxAllocSize, when no cap is given
)

func copyErrorf(code, format string, args ...any) *sqlstate.Error {
	return &sqlstate.Error{Severity: sqlstate.SeverityError, Code: code, Message: fmt.Sprintf(format, args...)}
}

// copyFormat is a COPY's data format (from rewrite.Copy: Format "text"|"csv"|"binary", Delimiter, Null,
// Quote, Escape, Header).
type copyFormat struct {
	binary bool // PostgreSQL's binary format (copy_binary.go); the other fields are unused
	csv    bool
	delim  byte
	null   string
	quote  byte // CSV only
	escape byte // CSV only
	header bool
}

// newCopyFormat checks the options the way PostgreSQL's ProcessCopyOptions does (the ones that
// matter for parsing), so the stream never works with a format the server would read otherwise.
func newCopyFormat(c *rewrite.Copy) (copyFormat, error) {
	if c == nil {
		return copyFormat{}, copyErrorf(sqlstate.InternalError, "COPY: no description of the COPY")
	}
	f := copyFormat{null: c.Null, header: c.Header}
	switch c.Format {
	case "text", "":
	case "csv":
		f.csv = true
	case "binary":
		return copyFormat{binary: true}, nil
	default:
		return f, copyErrorf(copyCodeInvalidParam, "COPY format %q not recognized", c.Format)
	}
	if len(c.Delimiter) != 1 || c.Delimiter[0] >= 0x80 {
		return f, copyErrorf(copyCodeInvalidParam, "COPY delimiter must be a single one-byte character")
	}
	f.delim = c.Delimiter[0]
	if f.delim == '\r' || f.delim == '\n' {
		return f, copyErrorf(copyCodeInvalidParam, "COPY delimiter cannot be newline or carriage return")
	}
	if bytes.ContainsAny([]byte(f.null), "\r\n") {
		return f, copyErrorf(copyCodeInvalidParam, "COPY null representation cannot use newline or carriage return")
	}
	if bytes.IndexByte([]byte(f.null), f.delim) >= 0 {
		return f, copyErrorf(copyCodeInvalidParam, "COPY delimiter must not appear in the NULL specification")
	}
	if !f.csv {
		if bytes.IndexByte([]byte(`\.abcdefghijklmnopqrstuvwxyz0123456789`), f.delim) >= 0 {
			return f, copyErrorf(copyCodeInvalidParam, "COPY delimiter cannot be %q", c.Delimiter)
		}
		return f, nil
	}
	return f, f.csvOptions(c)
}

func (f *copyFormat) csvOptions(c *rewrite.Copy) error {
	if len(c.Quote) != 1 || c.Quote[0] >= 0x80 {
		return copyErrorf(copyCodeInvalidParam, "COPY quote must be a single one-byte character")
	}
	if len(c.Escape) != 1 || c.Escape[0] >= 0x80 {
		return copyErrorf(copyCodeInvalidParam, "COPY escape must be a single one-byte character")
	}
	f.quote, f.escape = c.Quote[0], c.Escape[0]
	if f.quote == f.delim {
		return copyErrorf(copyCodeInvalidParam, "COPY delimiter and quote must be different")
	}
	// PostgreSQL does not forbid these, but a quote or escape that is a line end makes row
	// boundaries ambiguous; nobody needs it, so refuse rather than guess.
	if f.quote == '\r' || f.quote == '\n' || f.escape == '\r' || f.escape == '\n' {
		return copyErrorf(copyCodeInvalidParam, "COPY quote and escape cannot be newline or carriage return")
	}
	if bytes.IndexByte([]byte(f.null), f.quote) >= 0 {
		return copyErrorf(copyCodeInvalidParam, "CSV quote character must not appear in the NULL specification")
	}
	return nil
}

// copyField transforms one field value: in = the field's decoded value (escapes/quotes removed),
// null reports SQL NULL; returns the new decoded value (or null). i is the 0-based field index.
// in is only valid during the call; out is copied before the next call, so it may be reused.
type copyField func(i int, in []byte, null bool) (out []byte, outNull bool, err error)

// copyStream re-encodes rows: feed it the data of each CopyData in order; it emits whole rows
// (possibly several per call, possibly none while a row is incomplete). Only fields with
// transform[i] != nil are decoded and re-encoded; all other bytes of a row are copied verbatim.
// A copyStream is not safe for concurrent use.
type copyStream struct {
	f         copyFormat
	transform []copyField
	any       bool // some transform is non-nil
	maxRow    int

	buf  []byte   // the start of an incomplete row, carried between feeds
	scan int      // bytes of buf already scanned
	st   copyScan // scanner state at buf[scan]

	line   int  // rows seen so far (for messages, as PostgreSQL's "line N")
	header bool // the next row is the header
	ended  bool // the end-of-data marker was seen or finish ran: drop everything else
	out    []byte
	val    []byte
}

// newCopyStream makes a stream for rows of len(transform) fields (no check when it is empty).
// maxRow caps the bytes of one input row (pass the session's max message size); <= 0 means
// PostgreSQL's own 1 GB limit.
func newCopyStream(f copyFormat, transform []copyField, maxRow int) *copyStream {
	if maxRow <= 0 {
		maxRow = copyDefaultMaxRow
	}
	s := &copyStream{f: f, transform: transform, maxRow: maxRow, header: f.header}
	for _, t := range transform {
		if t != nil {
			s.any = true
		}
	}
	return s
}

// feed takes the data of one CopyData message and emits every row it completes. The row passed
// to emit is only valid during the call.
func (s *copyStream) feed(data []byte, emit func(row []byte) error) error {
	if s.ended {
		return nil
	}
	b := data
	if len(s.buf) > 0 {
		s.buf = append(s.buf, data...)
		b = s.buf
	}
	pos, err := s.rows(b, false, emit)
	if err != nil || s.ended {
		s.buf = s.buf[:0]
		return err
	}
	s.buf, err = carry(s.buf, b[pos:], s.maxRow, s.line)
	return err
}

// finish ends the stream at CopyDone: a trailing row without a line end is emitted, an open CSV
// quote is an error. Later feeds are ignored.
func (s *copyStream) finish(emit func(row []byte) error) error {
	if s.ended {
		return nil
	}
	_, err := s.rows(s.buf, true, emit)
	s.ended, s.buf = true, nil
	return err
}

// rows handles every complete row of b (which starts at a row start) and returns the offset of
// the first incomplete one.
func (s *copyStream) rows(b []byte, atEOF bool, emit func(row []byte) error) (int, error) {
	pos := 0
	for pos < len(b) && !s.ended {
		r, err := s.scanRow(b[pos:], atEOF)
		if err != nil {
			return pos, err
		}
		if r.end < 0 {
			return pos, nil
		}
		if r.end > s.maxRow {
			return pos, copyErrorf(copyCodeTooLarge, "COPY data line %d is longer than %d bytes", s.line+1, s.maxRow)
		}
		if err := s.row(b[pos:pos+r.end], r.content, r.marker, emit); err != nil {
			return pos, err
		}
		pos += r.end
	}
	return pos, nil
}

// row handles one complete row: content bytes, then its terminator.
func (s *copyStream) row(row []byte, content int, marker bool, emit func(row []byte) error) error {
	s.line++
	s.ended = s.ended || marker
	if s.header || (marker && content == 0) {
		s.header = false
		return emit(row)
	}
	out, err := s.fields(row[:content], row[content:])
	if err != nil {
		return err
	}
	if out == nil {
		return emit(row)
	}
	return emit(out)
}

// fields transforms the fields of one row's content and returns the re-encoded row with term
// appended, or nil when no byte changed.
func (s *copyStream) fields(content, term []byte) ([]byte, error) {
	if !s.any && len(s.transform) == 0 {
		return nil, nil
	}
	s.out = s.out[:0]
	copied, changed, n := 0, false, 0
	for i := 0; ; n++ {
		end, err := s.fieldEnd(content, i)
		if err != nil {
			return nil, err
		}
		if n < len(s.transform) && s.transform[n] != nil {
			s.out = append(s.out, content[copied:i]...)
			if err := s.apply(n, content[i:end]); err != nil {
				return nil, err
			}
			copied, changed = end, true
		}
		if end == len(content) {
			break
		}
		i = end + 1
	}
	if n+1 != len(s.transform) && len(s.transform) > 0 {
		return nil, copyErrorf(copyCodeBadFormat, "COPY data line %d has %d fields, want %d", s.line, n+1, len(s.transform))
	}
	if !changed {
		return nil, nil
	}
	s.out = append(s.out, content[copied:]...)
	return append(s.out, term...), nil
}

// apply decodes raw field n, transforms it and appends its encoding to s.out.
func (s *copyStream) apply(n int, raw []byte) error {
	var val []byte
	var null bool
	if s.f.csv {
		v, sawQuote, err := copyCSVDecode(s.val[:0], raw, s.f)
		if err != nil {
			return copyErrorf(copyCodeBadFormat, "COPY data line %d: %s", s.line, err.Error())
		}
		s.val = v
		val, null = v, !sawQuote && string(raw) == s.f.null
	} else if string(raw) == s.f.null {
		null = true
	} else {
		s.val = copyTextDecode(s.val[:0], raw)
		val = s.val
	}
	out, outNull, err := s.transform[n](n, val, null)
	if err != nil {
		return fmt.Errorf("COPY data line %d, field %d: %w", s.line, n+1, err)
	}
	switch {
	case outNull:
		s.out = append(s.out, s.f.null...)
	case bytes.IndexByte(out, 0) >= 0:
		return copyErrorf(copyCodeBadFormat, "COPY data line %d, field %d: value contains a zero byte", s.line, n+1)
	case s.f.csv:
		s.out = copyCSVEncode(s.out, out, s.f, len(s.transform) == 1)
	default:
		s.out = copyTextEncode(s.out, out, s.f.delim)
	}
	return nil
}
