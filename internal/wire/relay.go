package wire

import (
	"bytes"
	"encoding/binary"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgproto3"
)

// relay runs the steady state: on a shared event loop when nothing but framing is needed
// (fastrelay.go), else a client->server loop and a server->client loop. The first error
// ends both: a 1-slot channel keeps it, and stop (idempotent) unblocks the other loop.
func (s *session) relay() error {
	if s.fastRelayable() {
		if err := s.fastRelay(); err != errNoFastRelay {
			return err
		}
	}
	s.relaying = true
	errc := make(chan error, 1)
	report := func(err error) {
		select {
		case errc <- err:
		default:
		}
		s.stopOnce.Do(s.interrupt)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); report(s.clientLoop()) }()
	go func() { defer wg.Done(); report(s.serverLoop()) }()
	wg.Wait()
	return <-errc
}

// clientLoop forwards client messages in order, tracking requests on the FIFO. It flushes to the
// server only when no more client input is buffered, so a pipeline goes out in one write.
func (s *session) clientLoop() error {
	var reported int64
	for {
		typ, err := s.cr.next()
		if err != nil {
			return s.clientReadErr(err)
		}
		if err := s.clientMessage(typ); err != nil {
			return err
		}
		if s.cr.idle() {
			if err := s.sw.flush(); err != nil {
				return &serverError{err}
			}
			s.srv.m.BytesIn.Add(float64(s.cr.bytes - reported))
			reported = s.cr.bytes
		}
	}
}

func (s *session) clientMessage(typ byte) error {
	if s.copyIn != nil || s.copyDrop {
		switch typ {
		case 'd', 'c', 'f':
			return s.copyMessage(typ)
		case 'H', 'S': // ignored by the server during COPY IN (state_copy.go)
		default:
			s.copyIn, s.copyDrop = nil, false // the COPY is over, one way or another
			s.st.copyWindow(false)
		}
	}
	switch typ {
	case 'Q', 'P', 'B', 'D', 'E', 'C', 'S', 'F':
		return s.request(typ)
	case 'X':
		s.terminated.Store(true)
		if err := s.cr.forward(s.sw); err != nil {
			return s.toServerErr(err)
		}
		_ = s.sw.flush()
		return errClientTerminated
	}
	// Flush, CopyData, CopyDone, CopyFail, and anything else: the server judges it.
	return s.toServerErr(s.cr.forward(s.sw))
}

// toServerErr classifies an error from forwarding a client message to the server.
func (s *session) toServerErr(err error) error {
	if err == nil {
		return nil
	}
	if s.sw.failed {
		return &serverError{err}
	}
	return s.clientReadErr(err)
}

// request handles a client message that the FIFO tracks (or the interceptor wants to see).
func (s *session) request(typ byte) error {
	if c := s.srv.kind[kindOf(typ)]; c != nil {
		c.Inc()
	}
	var v Verdict
	var msg pgproto3.FrontendMessage
	needBody := typ == 'P' || typ == 'B' || typ == 'C'
	if s.icpt != nil && s.ctypes.Has(typ) {
		body, err := s.cr.load()
		if err != nil {
			return s.clientReadErr(err)
		}
		if msg, err = decodeFrontend(typ, body, &s.fmsgs); err != nil {
			return fatal(CodeProtocolViolation, "invalid frontend message type %q", typ)
		}
		v = s.icpt.Request(msg, s.named(msg))
	}
	var names [2]string
	if b, ok := msg.(*pgproto3.Bind); ok {
		names = [2]string{b.DestinationPortal, b.PreparedStatement} // decoded already
	} else if needBody {
		body, err := s.cr.load()
		if err != nil {
			return s.clientReadErr(err)
		}
		if names, err = leadingNames(typ, body); err != nil {
			return fatal(CodeProtocolViolation, "invalid frontend message type %q", typ)
		}
	}
	if typ == 'P' && strings.HasPrefix(names[0], refusedStatement) {
		v.Refuse = &ProxyError{Code: CodeFeatureNotSupported, Message: "prepared statement name is reserved by pgseal"}
	}
	if v.Refuse != nil {
		return s.refuse(typ, names, v)
	}
	if err := s.sendExtra(v.Before); err != nil {
		return err
	}
	if err := s.send(typ, msg, names, v); err != nil || typ != 'Q' {
		return err
	}
	return s.sendExtra(v.After)
}

// send tracks and sends a client message the interceptor let through (msg: as decoded for it).
func (s *session) send(typ byte, msg pgproto3.FrontendMessage, names [2]string, v Verdict) error {
	if typ == 'Q' && v.ResultFormats != nil && v.CopyIn == nil && s.st.queryExtended(v.Plan) {
		return s.sendAsExtended(msg.(*pgproto3.Query), v)
	}
	if (typ == 'Q' || typ == 'E') && v.CopyIn != nil {
		if seq := s.st.copyRequest(kindOf(typ), v.Plan); seq != 0 {
			s.copyIn, s.copySeq = v.CopyIn, seq
			s.st.copyWindow(true)
		}
	} else {
		s.trackRequest(typ, names, v.Plan, nil)
	}
	if v.Replace != nil {
		return s.toServerErr(s.sw.send(v.Replace))
	}
	return s.toServerErr(s.cr.forward(s.sw))
}

// sendAsExtended sends a Query as the extended-protocol sequence Verdict.ResultFormats describes.
func (s *session) sendAsExtended(q *pgproto3.Query, v Verdict) error {
	sql := q.String
	if r, ok := v.Replace.(*pgproto3.Query); ok {
		sql = r.String
	}
	for _, m := range []encoder{
		&pgproto3.Parse{Query: sql},
		&pgproto3.Bind{ResultFormatCodes: v.ResultFormats},
		&pgproto3.Describe{ObjectType: 'P'},
		&pgproto3.Execute{},
		&pgproto3.Close{ObjectType: 'S'}, // and its portal: a Query leaves neither behind
		&pgproto3.Sync{},
	} {
		if err := s.sw.send(m); err != nil {
			return s.toServerErr(err)
		}
	}
	return nil
}

// named looks up the prepared statement or portal msg names, for Request.
func (s *session) named(msg pgproto3.FrontendMessage) Named {
	var n Named
	switch m := msg.(type) {
	case *pgproto3.Bind:
		n.Plan, n.Known = s.st.statementPlan(m.PreparedStatement)
	case *pgproto3.Describe:
		if m.ObjectType == 'S' {
			n.Plan, n.Known = s.st.statementPlan(m.Name)
		} else {
			n.Plan, n.Known = s.st.portalPlan(m.Name)
		}
	case *pgproto3.Execute:
		n.Plan, n.Known = s.st.portalPlan(m.Portal)
	}
	return n
}

// track pushes the request onto the FIFO (and the statement/portal bookkeeping) in send order.
func (s *session) trackRequest(typ byte, names [2]string, plan Plan, refusal *ProxyError) {
	switch typ {
	case 'Q':
		s.st.query(plan, refusal)
	case 'P':
		s.st.parse(names[0], plan, refusal)
	case 'B':
		s.st.bind(names[0], names[1], plan, refusal)
	case 'C':
		s.st.close(names[0][0], names[1], plan)
	case 'D':
		s.st.push(pending{kind: reqDescribe, plan: plan})
	case 'E':
		s.st.push(pending{kind: reqExecute, plan: plan})
	case 'S':
		if !s.st.sync(plan) {
			s.syncsIgnored(1)
		}
	case 'F':
		s.st.push(pending{kind: reqFunction, plan: plan, refusal: refusal})
	}
}

func kindOf(typ byte) reqKind {
	switch typ {
	case 'Q':
		return reqQuery
	case 'P':
		return reqParse
	case 'B':
		return reqBind
	case 'E':
		return reqExecute
	case 'F':
		return reqFunction
	}
	return 0
}

// leadingNames reads the names a message starts with: Parse (statement), Bind (portal,
// statement), Close ("S"/"P", name). Only names are read; the rest stays raw.
func leadingNames(typ byte, body []byte) ([2]string, error) {
	var out [2]string
	if typ == 'C' {
		if len(body) < 2 || (body[0] != 'S' && body[0] != 'P') {
			return out, errBadLength
		}
		out[0], body = string(body[:1]), body[1:]
		name, _, err := cstring(body)
		out[1] = name
		return out, err
	}
	name, rest, err := cstring(body)
	if err != nil {
		return out, err
	}
	out[0] = name
	if typ == 'B' {
		out[1], _, err = cstring(rest)
	}
	return out, err
}

func cstring(b []byte) (string, []byte, error) { return cstringLike(b, "") }

// frontendMsgs holds the client messages of an extended-protocol round trip, decoded into the same
// structs message after message: an interceptor sees a message only during its call (hooks.go).
type frontendMsgs struct {
	bind     pgproto3.Bind
	describe pgproto3.Describe
	execute  pgproto3.Execute
}

// decodeFrontend decodes the client messages an interceptor may see, into reuse's structs for
// the most frequent ones.
func decodeFrontend(typ byte, body []byte, reuse *frontendMsgs) (pgproto3.FrontendMessage, error) {
	var m interface {
		pgproto3.FrontendMessage
		Decode([]byte) error
	}
	switch typ {
	case 'Q':
		m = &pgproto3.Query{}
	case 'P':
		m = &pgproto3.Parse{}
	case 'B':
		return &reuse.bind, decodeBind(&reuse.bind, body)
	case 'D':
		m = &reuse.describe
	case 'E':
		return &reuse.execute, decodeExecute(&reuse.execute, body)
	case 'C':
		m = &pgproto3.Close{}
	case 'S':
		m = &pgproto3.Sync{}
	case 'F':
		m = &pgproto3.FunctionCall{}
	default:
		return nil, errBadLength
	}
	return m, m.Decode(body)
}

// decodeExecute is pgproto3's Execute.Decode (the same checks: a portal name, then at least
// four bytes of row limit) without its buffer and the copy of the name, keeping dst's name when
// it is the same: an Execute then allocates nothing (two allocations per message were ≈ 7% of
// the relay's user time on pgbench's prepared select-only).
func decodeExecute(dst *pgproto3.Execute, src []byte) error {
	portal, rest, err := cstringLike(src, dst.Portal)
	if err != nil {
		return err
	}
	if len(rest) < 4 {
		return errBadLength
	}
	dst.Portal, dst.MaxRows = portal, binary.BigEndian.Uint32(rest)
	return nil
}

// decodeBind is pgproto3's Bind.Decode (the same checks and fields) into dst's own slices, and
// keeping dst's name strings when the names are the same: a client's Binds then allocate nothing,
// where Decode makes two slices and a string per message. After an error dst's contents are
// unspecified: a Bind that cannot be decoded ends the session.
func decodeBind(dst *pgproto3.Bind, src []byte) error {
	portal, rest, err := cstringLike(src, dst.DestinationPortal)
	if err != nil {
		return err
	}
	stmt, rest, err := cstringLike(rest, dst.PreparedStatement)
	if err != nil {
		return err
	}
	pf, rest, err := formatCodes(dst.ParameterFormatCodes[:0], rest)
	if err != nil {
		return err
	}
	if len(rest) < 2 {
		return errBadLength
	}
	n, rest := int(binary.BigEndian.Uint16(rest)), rest[2:]
	params := dst.Parameters[:0]
	for range n {
		if len(rest) < 4 {
			return errBadLength
		}
		size := int(int32(binary.BigEndian.Uint32(rest)))
		rest = rest[4:]
		if size == -1 {
			params = append(params, nil)
			continue
		}
		if size < 0 || len(rest) < size {
			return errBadLength
		}
		params, rest = append(params, rest[:size:size]), rest[size:]
	}
	rf, _, err := formatCodes(dst.ResultFormatCodes[:0], rest)
	if err != nil {
		return err
	}
	if rf == nil {
		rf = []int16{} // Decode's result formats are never nil
	}
	*dst = pgproto3.Bind{DestinationPortal: portal, PreparedStatement: stmt,
		ParameterFormatCodes: pf, Parameters: params, ResultFormatCodes: rf}
	return nil
}

// formatCodes appends a count-prefixed list of int16 format codes to dst.
func formatCodes(dst []int16, b []byte) ([]int16, []byte, error) {
	if len(b) < 2 {
		return nil, nil, errBadLength
	}
	n := int(binary.BigEndian.Uint16(b))
	if b = b[2:]; len(b) < 2*n {
		return nil, nil, errBadLength
	}
	for i := range n {
		dst = append(dst, int16(binary.BigEndian.Uint16(b[2*i:])))
	}
	return dst, b[2*n:], nil
}

// cstringLike is cstring, returning prev itself when the name equals it (no allocation).
func cstringLike(b []byte, prev string) (string, []byte, error) {
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", nil, errBadLength
	}
	if string(b[:i]) == prev {
		return prev, b[i+1:], nil
	}
	return string(b[:i]), b[i+1:], nil
}
