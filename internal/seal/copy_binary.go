package seal

// Binary COPY row transforms (issue 11, item 2).
//
// copyBinStream re-encodes the data of a COPY … FROM STDIN / TO STDOUT (FORMAT binary), tuple by
// tuple, so the session can encrypt (FROM) or decrypt (TO) the fields of encrypted columns while
// every other field passes through verbatim. Like copyStream it is pure: no I/O, no keys, no
// logging.
//
// The layout is PostgreSQL's (docs "COPY", "Binary Format"): an 11-byte signature, an int32 of
// flags, an int32 header extension length and that many bytes; then tuples, each an int16 field
// count (-1 is the trailer) and per field an int32 length (-1 = NULL) and that many bytes. All
// integers are big-endian. Checks and messages mirror PostgreSQL 15's copyfromparse.c
// (ReceiveCopyBinaryHeader, NextCopyFrom, CopyReadBinaryAttribute), so a bad stream gets the same
// 22P04 the server would give.
//
// Decisions:
//   - The header and the trailer are passed on byte for byte; so are the field count, the fields
//     of plain columns, and tuples without a transform.
//   - Data after the trailer is an error, as in PostgreSQL ("received copy data after EOF
//     marker"), rather than dropped: the server would refuse it too.
//   - At the end of the data, a tuple boundary with fewer than two bytes left is a clean end
//     (PostgreSQL's CopyGetInt16 reads that as EOF); any other incomplete tuple is "unexpected EOF".
//   - A field value is handed to the transform as its raw bytes; what the transform returns is
//     written with its length. The transform decides what a value means (binary send format of
//     the column's type, or the envelope itself for a bytea column).

import (
	"encoding/binary"
	"fmt"
)

// copyBinSignature starts every binary COPY stream.
const copyBinSignature = "PGCOPY\n\377\r\n\000"

// copyBinHeaderMin is the signature, the flags and the extension length.
const copyBinHeaderMin = len(copyBinSignature) + 8

// copyCoder is a COPY data transformer, text/CSV (copyStream) or binary (copyBinStream): feed
// takes one CopyData payload and emits the whole units it completes; finish ends the data.
type copyCoder interface {
	feed(data []byte, emit func(row []byte) error) error
	finish(emit func(row []byte) error) error
}

// newCopyCoder picks the transformer for f.
func newCopyCoder(f copyFormat, transform []copyField, maxRow int) copyCoder {
	if f.binary {
		return newCopyBinStream(transform, maxRow)
	}
	return newCopyStream(f, transform, maxRow)
}

// copyBinStream re-encodes binary COPY data: feed it each CopyData payload in order; it emits the
// header, then whole tuples, then the trailer (several per call, or none while a tuple is
// incomplete). A copyBinStream is not safe for concurrent use.
type copyBinStream struct {
	transform []copyField // per field; when empty, any field count is accepted
	any       bool        // some transform is non-nil
	maxRow    int

	buf    []byte // the start of an incomplete unit, carried between feeds
	header bool   // the header was seen
	ended  bool   // the trailer was seen
	done   bool   // finish ran: ignore everything else
	line   int    // tuples seen so far (PostgreSQL's "line N")
	out    []byte
}

// newCopyBinStream makes a stream for tuples of len(transform) fields. maxRow caps the bytes of
// one tuple; <= 0 means PostgreSQL's 1 GB limit.
func newCopyBinStream(transform []copyField, maxRow int) *copyBinStream {
	if maxRow <= 0 {
		maxRow = copyDefaultMaxRow
	}
	s := &copyBinStream{transform: transform, maxRow: maxRow}
	for _, t := range transform {
		s.any = s.any || t != nil
	}
	return s
}

// feed takes the data of one CopyData message and emits every unit it completes. The bytes passed
// to emit are only valid during the call.
func (s *copyBinStream) feed(data []byte, emit func(row []byte) error) error {
	if s.done || len(data) == 0 {
		return nil
	}
	if s.ended {
		return copyErrorf(copyCodeBadFormat, "received copy data after EOF marker")
	}
	b := data
	if len(s.buf) > 0 {
		s.buf = append(s.buf, data...)
		b = s.buf
	}
	pos, err := s.units(b, emit)
	if err != nil {
		s.buf = s.buf[:0]
		return err
	}
	s.buf, err = carry(s.buf, b[pos:], s.maxRow, s.line)
	return err
}

// finish ends the stream at CopyDone: an incomplete header or tuple is an error (see the
// decisions above for the one clean case). Later feeds are ignored.
func (s *copyBinStream) finish(emit func(row []byte) error) error {
	if s.done {
		return nil
	}
	s.done = true
	rest := s.buf
	s.buf = nil
	if !s.header {
		_, err := copyBinHeader(rest, true)
		return err
	}
	if s.ended || len(rest) < 2 {
		return nil
	}
	return copyErrorf(copyCodeBadFormat, "unexpected EOF in COPY data")
}

// units handles the header and every complete tuple of b (which starts at a unit start) and
// returns the offset of the first incomplete one.
func (s *copyBinStream) units(b []byte, emit func(row []byte) error) (int, error) {
	pos := 0
	if !s.header {
		n, err := copyBinHeader(b, false)
		if n < 0 || err != nil {
			return 0, err
		}
		if err := emit(b[:n]); err != nil {
			return 0, err
		}
		s.header, pos = true, n
	}
	for pos < len(b) {
		if s.ended {
			return pos, copyErrorf(copyCodeBadFormat, "received copy data after EOF marker")
		}
		end, err := s.tupleEnd(b[pos:])
		if err != nil || end < 0 {
			return pos, err
		}
		if err := s.tuple(b[pos:pos+end], emit); err != nil {
			return pos, err
		}
		pos += end
	}
	return pos, nil
}

// copyBinHeader returns the length of the header b starts with, or -1 when it is incomplete and
// atEOF is false. The signature is checked as soon as its first bytes arrive.
func copyBinHeader(b []byte, atEOF bool) (int, error) {
	sig := min(len(b), len(copyBinSignature))
	if string(b[:sig]) != copyBinSignature[:sig] || (atEOF && sig < len(copyBinSignature)) {
		return 0, copyErrorf(copyCodeBadFormat, "COPY file signature not recognized")
	}
	msg := ""
	switch {
	case len(b) < len(copyBinSignature)+4:
		msg = "invalid COPY file header (missing flags)"
	case len(b) < copyBinHeaderMin:
		msg = "invalid COPY file header (missing length)"
	}
	flags := uint32(0)
	if len(b) >= len(copyBinSignature)+4 {
		flags = binary.BigEndian.Uint32(b[len(copyBinSignature):])
	}
	switch {
	case flags&(1<<16) != 0:
		return 0, copyErrorf(copyCodeBadFormat, "invalid COPY file header (WITH OIDS)")
	case flags>>17 != 0:
		return 0, copyErrorf(copyCodeBadFormat, "unrecognized critical flags in COPY file header")
	case msg != "" && atEOF:
		return 0, copyErrorf(copyCodeBadFormat, "%s", msg)
	case msg != "":
		return -1, nil
	}
	ext := int32(binary.BigEndian.Uint32(b[len(copyBinSignature)+4:]))
	switch {
	case ext < 0:
		return 0, copyErrorf(copyCodeBadFormat, "invalid COPY file header (missing length)")
	case int64(len(b)-copyBinHeaderMin) >= int64(ext):
		return copyBinHeaderMin + int(ext), nil
	case atEOF:
		return 0, copyErrorf(copyCodeBadFormat, "invalid COPY file header (wrong length)")
	case int64(ext) > copyDefaultMaxRow:
		return 0, copyErrorf(copyCodeTooLarge, "COPY file header extension is longer than %d bytes", copyDefaultMaxRow)
	}
	return -1, nil
}

// tupleEnd returns the length of the tuple (or trailer) b starts with, -1 when it is incomplete.
// It only checks the framing; values are the transform's business.
func (s *copyBinStream) tupleEnd(b []byte) (int, error) {
	if len(b) < 2 {
		return -1, nil
	}
	count := int16(binary.BigEndian.Uint16(b))
	if count == -1 {
		return 2, nil
	}
	if count < 0 || (len(s.transform) > 0 && int(count) != len(s.transform)) {
		return 0, copyErrorf(copyCodeBadFormat, "row field count is %d, expected %d", count, len(s.transform))
	}
	pos := 2
	for i := 0; i < int(count); i++ {
		if len(b)-pos < 4 {
			return -1, nil
		}
		size := int32(binary.BigEndian.Uint32(b[pos:]))
		pos += 4
		if size == -1 {
			continue
		}
		if size < 0 {
			return 0, fmt.Errorf("COPY data line %d, field %d: %w", s.line+1, i+1, copyErrorf(copyCodeBadFormat, "invalid field size"))
		}
		if int64(size) > int64(s.maxRow) {
			return 0, copyErrorf(copyCodeTooLarge, "COPY data line %d is longer than %d bytes", s.line+1, s.maxRow)
		}
		if len(b)-pos < int(size) {
			return -1, nil
		}
		pos += int(size)
	}
	if pos > s.maxRow {
		return 0, copyErrorf(copyCodeTooLarge, "COPY data line %d is longer than %d bytes", s.line+1, s.maxRow)
	}
	return pos, nil
}

// tuple handles one complete tuple (framing already checked by tupleEnd) or the trailer.
func (s *copyBinStream) tuple(t []byte, emit func(row []byte) error) error {
	count := int(int16(binary.BigEndian.Uint16(t)))
	if count == -1 {
		s.ended = true
		return emit(t)
	}
	s.line++
	if !s.any {
		return emit(t)
	}
	s.out = append(s.out[:0], t[:2]...)
	pos := 2
	for i := 0; i < count; i++ {
		size := int(int32(binary.BigEndian.Uint32(t[pos:])))
		end := pos + 4 + max(size, 0)
		if i >= len(s.transform) || s.transform[i] == nil {
			s.out = append(s.out, t[pos:end]...)
			pos = end
			continue
		}
		out, null, err := s.transform[i](i, t[pos+4:end], size == -1)
		if err != nil {
			return fmt.Errorf("COPY data line %d, field %d: %w", s.line, i+1, err)
		}
		s.out = copyBinField(s.out, out, null)
		pos = end
	}
	return emit(s.out)
}

// copyBinField appends one field: its int32 length (-1 for NULL) and its bytes.
func copyBinField(dst, v []byte, null bool) []byte {
	if null {
		return binary.BigEndian.AppendUint32(dst, ^uint32(0))
	}
	return append(binary.BigEndian.AppendUint32(dst, uint32(len(v))), v...)
}
