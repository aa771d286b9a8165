package wire

import (
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"
)

// copyFailMessage is what the server is told when pgseal fails a COPY's data; the client gets
// pgseal's own error instead of the server's answer to it.
const copyFailMessage = "pgseal refused the COPY data"

// copyMessage handles CopyData, CopyDone and CopyFail from the client while an interceptor's
// CopyIn is active (or after pgseal failed the COPY, when they are dropped: the server is no
// longer in COPY mode and would ignore them, and they may hold plaintext).
func (s *session) copyMessage(typ byte) error {
	if s.copyDrop {
		if err := s.cr.skip(); err != nil {
			return s.clientReadErr(err)
		}
		return nil
	}
	switch typ {
	case 'd':
		body, err := s.cr.load()
		if err != nil {
			return s.clientReadErr(err)
		}
		return s.copyResult(s.copyIn.Data(body, s.sendCopyData))
	case 'c':
		if err := s.cr.skip(); err != nil {
			return s.clientReadErr(err)
		}
		if err := s.copyResult(s.copyIn.Done(s.sendCopyData)); err != nil || s.copyDrop {
			return err
		}
		s.copyIn = nil
		s.st.copyWindow(false)
		return s.toServerErr(s.sw.send(&pgproto3.CopyDone{}))
	}
	s.copyIn = nil // CopyFail: the server fails the COPY with the client's message
	s.st.copyWindow(false)
	return s.toServerErr(s.cr.forward(s.sw))
}

// sendCopyData forwards one chunk of transformed rows.
func (s *session) sendCopyData(data []byte) error {
	if err := s.sw.send(&pgproto3.CopyData{Data: data}); err != nil {
		return &serverError{err}
	}
	return nil
}

// copyResult fails the COPY when the CopyIn refused its data: CopyFail upstream, and the server's
// ErrorResponse to it is replaced by the refusal (refuse.go's mechanism).
func (s *session) copyResult(err error) error {
	if err == nil {
		return nil
	}
	var se *serverError
	pe, ok := asProxyError(err)
	if !ok || errors.As(err, &se) {
		return err
	}
	refusal := *pe
	refusal.Severity = SeverityError
	s.st.refuseLater(s.copySeq, &refusal)
	s.copyIn, s.copyDrop = nil, true
	s.st.copyWindow(false)
	return s.toServerErr(s.sw.send(&pgproto3.CopyFail{Message: copyFailMessage}))
}

// syncsIgnored tells the interceptor that n Syncs it saw will get no ReadyForQuery.
func (s *session) syncsIgnored(n int) {
	if si, ok := s.icpt.(SyncIgnorer); ok && n > 0 {
		si.SyncsIgnored(n)
	}
}
