package seal

// Row and field scanning of COPY text and CSV data (copy.go describes the format decisions).

import (
	"bytes"
)

// copyScan is the row scanner's state at copyStream.scan (CSV quoting only; text needs none
// because the scanner never stops between a backslash and the byte it escapes).
type copyScan struct{ inQuote, lastEsc bool }

// copyRowEnd is where a row ends: content bytes, then a terminator up to end. end < 0 means the
// row is not complete yet.
type copyRowEnd struct {
	content, end int
	marker       bool // the terminator is the end-of-data marker
}

var copyIncomplete = copyRowEnd{end: -1}

// scanRow finds the end of the row b starts with, resuming at s.scan. When the row is
// incomplete it records where to resume; a scan never stops inside a construct that needs
// lookahead (CR LF, a backslash pair, the marker), so resuming needs no more state than copyScan.
func (s *copyStream) scanRow(b []byte, atEOF bool) (copyRowEnd, error) {
	var r copyRowEnd
	var err error
	if s.f.csv {
		r = s.scanCSV(b, atEOF)
	} else {
		r, err = s.scanText(b, atEOF)
	}
	if r.end >= 0 || err != nil {
		s.scan, s.st = 0, copyScan{}
	}
	return r, err
}

// copyEOL is the end of the line end starting at b[i] (LF, CR or CR LF), or false when a CR is
// the last byte and more data may follow.
func copyEOL(b []byte, i int, atEOF bool) (int, bool) {
	if b[i] == '\n' {
		return i + 1, true
	}
	if i+1 < len(b) {
		if b[i+1] == '\n' {
			return i + 2, true
		}
		return i + 1, true
	}
	return i + 1, atEOF
}

func (s *copyStream) scanText(b []byte, atEOF bool) (copyRowEnd, error) {
	// Fast path: most rows have no backslash or CR before their LF (IndexByte is vectorised).
	if k := bytes.IndexByte(b[s.scan:], '\n'); k >= 0 {
		seg := b[s.scan : s.scan+k]
		if bytes.IndexByte(seg, '\\') < 0 && bytes.IndexByte(seg, '\r') < 0 {
			return copyRowEnd{content: s.scan + k, end: s.scan + k + 1}, nil
		}
	}
	for i := s.scan; i < len(b); {
		k := bytes.IndexAny(b[i:], "\\\r\n")
		if k < 0 {
			break
		}
		i += k
		if b[i] != '\\' {
			end, ok := copyEOL(b, i, atEOF)
			if !ok {
				s.scan = i
				return copyIncomplete, nil
			}
			return copyRowEnd{content: i, end: end}, nil
		}
		if i+1 >= len(b) {
			if atEOF {
				return copyRowEnd{content: len(b), end: len(b)}, nil
			}
			s.scan = i
			return copyIncomplete, nil
		}
		if b[i+1] == '.' {
			return s.textMarker(b, i, atEOF)
		}
		i += 2 // any other escaped byte, a line end included, is data
	}
	if atEOF {
		return copyRowEnd{content: len(b), end: len(b)}, nil
	}
	s.scan = len(b)
	return copyIncomplete, nil
}

// textMarker handles `\.` at b[i]: in text format it ends the data wherever it stands, and must
// be followed by a line end (or by the end of the data).
func (s *copyStream) textMarker(b []byte, i int, atEOF bool) (copyRowEnd, error) {
	j := i + 2
	if j >= len(b) {
		if atEOF {
			return copyRowEnd{content: i, end: j, marker: true}, nil
		}
		s.scan = i
		return copyIncomplete, nil
	}
	if b[j] != '\n' && b[j] != '\r' {
		return copyIncomplete, copyErrorf(copyCodeBadFormat, "COPY data line %d: end-of-copy marker corrupt", s.line+1)
	}
	end, ok := copyEOL(b, j, atEOF)
	if !ok {
		s.scan = i
		return copyIncomplete, nil
	}
	return copyRowEnd{content: i, end: end, marker: true}, nil
}

func (s *copyStream) scanCSV(b []byte, atEOF bool) copyRowEnd {
	i := s.scan
	if i == 0 && len(b) > 0 && b[0] == '\\' {
		r, marker, more := copyCSVMarker(b, atEOF)
		if more {
			return copyIncomplete
		}
		if marker {
			return r
		}
	}
	q, e := s.f.quote, s.f.escape
	if e == q {
		e = 0 // as PostgreSQL: no escape processing, the quote is a plain toggle
	}
	for ; i < len(b); i++ {
		c := b[i]
		if !s.st.inQuote && (c == '\n' || c == '\r') {
			end, ok := copyEOL(b, i, atEOF)
			if !ok {
				s.scan = i
				return copyIncomplete
			}
			return copyRowEnd{content: i, end: end}
		}
		// PostgreSQL's CopyReadLineText: an escape counts only inside quotes and only when it
		// is not itself escaped.
		if s.st.inQuote && c == e {
			s.st.lastEsc = !s.st.lastEsc
		}
		if c == q && !s.st.lastEsc {
			s.st.inQuote = !s.st.inQuote
		}
		if c != e {
			s.st.lastEsc = false
		}
	}
	if atEOF {
		return copyRowEnd{content: len(b), end: len(b)}
	}
	s.scan = len(b)
	return copyIncomplete
}

// copyCSVMarker reports whether b starts with the CSV end-of-data marker: `\.` alone on a line
// followed by a line end (at the very end of the data it is a value, as in PostgreSQL 15).
func copyCSVMarker(b []byte, atEOF bool) (r copyRowEnd, marker, more bool) {
	if len(b) < 3 {
		if atEOF || (len(b) == 2 && b[1] != '.') {
			return r, false, false
		}
		return r, false, true
	}
	if b[1] != '.' || (b[2] != '\n' && b[2] != '\r') {
		return r, false, false
	}
	end, ok := copyEOL(b, 2, atEOF)
	if !ok {
		return r, false, true
	}
	return copyRowEnd{content: 0, end: end, marker: true}, true, false
}

// fieldEnd is the end of the raw field of content starting at i (at a delimiter or the end).
func (s *copyStream) fieldEnd(content []byte, i int) (int, error) {
	if !s.f.csv {
		d := bytes.IndexByte(content[i:], s.f.delim)
		if d < 0 {
			d = len(content) - i
		}
		if bytes.IndexByte(content[i:i+d], '\\') < 0 {
			return i + d, nil // no escapes: the first delimiter ends the field
		}
		for ; i < len(content); i++ {
			if content[i] == '\\' {
				i++
			} else if content[i] == s.f.delim {
				return i, nil
			}
		}
		return len(content), nil
	}
	inQuote := false
	for ; i < len(content); i++ {
		c := content[i]
		switch {
		case !inQuote && c == s.f.delim:
			return i, nil
		case !inQuote:
			inQuote = c == s.f.quote
		case c == s.f.escape && i+1 < len(content) && (content[i+1] == s.f.escape || content[i+1] == s.f.quote):
			i++
		case c == s.f.quote:
			inQuote = false
		}
	}
	if inQuote {
		return 0, copyErrorf(copyCodeBadFormat, "COPY data line %d: unterminated CSV quoted field", s.line)
	}
	return len(content), nil
}
