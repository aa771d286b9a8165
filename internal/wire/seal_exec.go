package wire

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgproto3"
)

// The session side of the interceptor seam: queries pgseal runs on the client's own upstream
// connection (the catalog), messages it adds to the client's stream, and opening the interceptor
// before the client sees its first ReadyForQuery.

// internalQuery is one or more simple queries of pgseal's own in flight during the relay. The
// server loop collects their answers (rows in order, the first error) and never forwards them;
// the client loop waits on done, closed at the last one's ReadyForQuery.
type internalQuery struct {
	rows [][][]byte
	err  error
	left int // ReadyForQuery still to come
	done chan struct{}
}

// noteServerParam records a ParameterStatus of the startup burst (forwarded by the caller).
func (s *session) noteServerParam() error {
	body, err := s.sr.load()
	if err != nil {
		return s.serverReadErr(err)
	}
	var ps pgproto3.ParameterStatus
	if err := ps.Decode(body); err != nil {
		return fatal(CodeProtocolViolation, "invalid ParameterStatus from the server")
	}
	s.info.ServerParams[ps.Name] = ps.Value
	return nil
}

// firstReady handles the server's first ReadyForQuery: the interceptor is opened (it may run
// queries of its own now), then the client gets its ReadyForQuery.
func (s *session) firstReady() error {
	body, err := s.sr.load()
	if err != nil {
		return s.serverReadErr(err)
	}
	if len(body) != 1 {
		return fatal(CodeProtocolViolation, "invalid ReadyForQuery from the server")
	}
	status := body[0]
	s.st.setTxStatus(status)
	if err := s.openInterceptor(); err != nil {
		return err
	}
	return s.clientSideErr(s.cw.send(&pgproto3.ReadyForQuery{TxStatus: status}))
}

func (s *session) openInterceptor() error {
	if s.srv.icpt == nil {
		return nil
	}
	s.info.Exec = func(sql string) ([][][]byte, error) { return s.exec(sql) }
	s.info.ExecEach = s.exec
	s.info.TxStatus = s.st.TxStatus
	s.info.ForgetStatements = s.st.forgetStatements
	var si SessionInterceptor
	if o, ok := s.srv.icpt.(SessionOpener); ok {
		var err error
		if si, err = o.Open(&s.info); err != nil {
			if pe, ok := asProxyError(err); ok {
				pe2 := *pe
				pe2.Severity = SeverityFatal
				return &pe2
			}
			return err
		}
	} else {
		si = s.srv.icpt.Session(&s.info)
	}
	if si != nil {
		s.icpt, s.ctypes, s.stypes = si, si.ClientTypes(), si.ServerTypes()
		s.execCaller, _ = si.(ExecCaller)
	}
	return nil
}

// exec runs simple queries for the interceptor, one Query message each, pipelined in one write,
// and returns their rows.
func (s *session) exec(sqls ...string) ([][][]byte, error) {
	if len(sqls) == 0 {
		return nil, nil // nothing would ever close done
	}
	if !s.relaying {
		return s.execDirect(sqls)
	}
	if !s.st.idle() {
		return nil, ErrNotIdle
	}
	iq := &internalQuery{left: len(sqls), done: make(chan struct{})}
	s.internal.Store(iq)
	for _, sql := range sqls {
		s.st.push(pending{kind: reqQuery})
		if err := s.sw.send(&pgproto3.Query{String: sql}); err != nil {
			return nil, &serverError{err}
		}
	}
	if err := s.sw.flush(); err != nil {
		return nil, &serverError{err}
	}
	select {
	case <-iq.done:
		return iq.rows, iq.err
	case <-s.stopped:
		return nil, errors.New("session ended")
	}
}

// execDirect runs queries before the relay starts, reading the answers on this goroutine.
func (s *session) execDirect(sqls []string) ([][][]byte, error) {
	for _, sql := range sqls {
		if err := s.sw.send(&pgproto3.Query{String: sql}); err != nil {
			return nil, &serverError{err}
		}
	}
	if err := s.sw.flush(); err != nil {
		return nil, &serverError{err}
	}
	iq := &internalQuery{left: len(sqls)}
	for {
		typ, err := s.sr.next()
		if err != nil {
			return nil, s.serverReadErr(err)
		}
		done, err := s.collect(iq, typ)
		if err != nil {
			return nil, err
		}
		if done {
			if iq.left--; iq.left <= 0 {
				return iq.rows, iq.err
			}
		}
	}
}

// internalMessage handles a server message while an internal query is in flight: the FIFO holds
// nothing else, so everything but asynchronous messages answers it.
func (s *session) internalMessage(typ byte) error {
	iq := s.internal.Load()
	if isAsync(typ) && typ != 'N' {
		if s.icpt != nil && s.stypes.Has(typ) {
			return s.intercept(typ, nil)
		}
		return s.toClient()
	}
	if typ == 'Z' {
		body, err := s.sr.load()
		if err != nil {
			return s.serverReadErr(err)
		}
		if len(body) != 1 {
			return fatal(CodeProtocolViolation, "invalid ReadyForQuery from the server")
		}
		s.st.ready(body[0])
		if iq.left--; iq.left <= 0 {
			s.internal.Store(nil)
			close(iq.done)
		}
		return nil
	}
	if typ == 'E' {
		s.st.failed()
	}
	_, err := s.collect(iq, typ)
	return err
}

// copyRow copies a row's values into one allocation (the values stay nil or not as they were).
func copyRow(vals [][]byte) [][]byte {
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	row, buf := make([][]byte, len(vals)), make([]byte, 0, n)
	for i, v := range vals {
		if v != nil {
			buf = append(buf, v...)
			row[i] = buf[len(buf)-len(v) : len(buf) : len(buf)]
		}
	}
	return row
}

// collect adds one message of an internal query's answer to iq; done at ReadyForQuery.
func (s *session) collect(iq *internalQuery, typ byte) (bool, error) {
	switch typ {
	case 'D':
		body, err := s.sr.load()
		if err != nil {
			return false, s.serverReadErr(err)
		}
		dr := &s.rowBuf // the server side's: collect runs there (or before the relay)
		if err := dr.Decode(body); err != nil {
			return false, fatal(CodeProtocolViolation, "invalid DataRow from the server")
		}
		iq.rows = append(iq.rows, copyRow(dr.Values))
		return false, nil
	case 'E':
		body, err := s.sr.load()
		if err != nil {
			return false, s.serverReadErr(err)
		}
		var er pgproto3.ErrorResponse
		if err := er.Decode(body); err != nil {
			return false, fatal(CodeProtocolViolation, "invalid ErrorResponse from the server")
		}
		if er.Severity == "FATAL" || er.SeverityUnlocalized == "FATAL" || er.Severity == "PANIC" {
			s.serverFatal = true
			if err := s.sr.forward(s.cw); err != nil {
				return false, s.clientSideErr(err)
			}
			return false, &serverError{fmt.Errorf("server ended the session: %s", er.Code)}
		}
		if iq.err != nil {
			return false, nil // the first error is the one to report
		}
		iq.err = fmt.Errorf("pgseal's own query failed: SQLSTATE %s: %s", er.Code, er.Message)
		return false, nil
	case 'Z':
		if err := s.sr.skip(); err != nil {
			return false, s.serverReadErr(err)
		}
		return true, nil
	}
	return false, s.serverSideSkip()
}

// sendExtra sends the interceptor's own messages (Verdict.Before and After), tracked on the FIFO.
func (s *session) sendExtra(extra []Extra) error {
	for _, e := range extra {
		switch e.Msg.(type) {
		case *pgproto3.Describe:
			s.trackRequest('D', [2]string{}, e.Plan, nil)
		case *pgproto3.Query:
			s.trackRequest('Q', [2]string{}, e.Plan, nil)
		default:
			panic("BUG: wire: an extra message other than Describe or Query")
		}
		if err := s.sw.send(e.Msg); err != nil {
			return s.toServerErr(err)
		}
	}
	return nil
}
