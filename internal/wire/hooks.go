package wire

import (
	"errors"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Plan is what a pending request carries for handling its results: the decrypt plan, once the
// encryption work exists. The relay never looks inside; nil in a pure relay.
type Plan any

// TypeSet is a set of message type bytes.
type TypeSet [4]uint64

// Types returns the set of the given message type bytes.
func Types(ts ...byte) TypeSet {
	var s TypeSet
	for _, t := range ts {
		s[t>>6] |= 1 << (t & 63)
	}
	return s
}

// Has reports whether t is in the set.
func (s *TypeSet) Has(t byte) bool { return s[t>>6]&(1<<(t&63)) != 0 }

// SessionInfo is what a session knows about its client once the server accepted it.
type SessionInfo struct {
	RemoteAddr string
	// User is the startup user the server authenticated (AuthenticationOk): the client identity.
	User     string
	Database string
	// Parameters are the startup parameters as sent, including "options" (e.g. "-c app.tenant=acme").
	Parameters map[string]string
	// TLS reports whether the client connection is encrypted.
	TLS bool
	// ServerParams are the ParameterStatus values the server reported at startup (TimeZone, ...).
	ServerParams map[string]string

	// The functions below are set by the session before Interceptor.Session (or SessionOpener.Open)
	// is called. Exec may be called during Open and from Request (the client loop) only.

	// Exec runs one simple query on the session's own upstream connection and returns its rows
	// (text format, copied). The client sees nothing of it. During the relay it works only at a safe
	// point, when no request is in flight (else ErrNotIdle); it then waits for the answer.
	Exec func(sql string) ([][][]byte, error)
	// ExecEach is Exec for several queries, each its own Query message (so each ends its own
	// implicit transaction before the next begins), pipelined in one write: one round trip. It
	// returns the rows of all of them in order and the first error; a failed query does not stop
	// the later ones.
	ExecEach func(sqls ...string) ([][][]byte, error)
	// TxStatus is the transaction status of the session's last ReadyForQuery ('I', 'T', 'E'),
	// the one of Exec's own query right after it.
	TxStatus func() byte
	// ForgetStatements drops prepared statements from the session's bookkeeping (DEALLOCATE name,
	// DEALLOCATE ALL / DISCARD ALL when all is set), as the server did.
	ForgetStatements func(all bool, name string)
}

// SessionOpener is implemented by an Interceptor that must do work before the client sees its
// first ReadyForQuery (e.g. read the catalog with Exec) and may refuse the session: an error is
// sent to the client as FATAL (a ProxyError keeps its code and message) and the session ends.
type SessionOpener interface {
	Open(info *SessionInfo) (SessionInterceptor, error)
}

// ErrNotIdle is Exec's error when requests are in flight (not a safe point to inject a query).
var ErrNotIdle = errors.New("upstream busy: requests in flight")

// SkipToReady may be returned by SessionInterceptor.Response together with a message to send
// (usually an ErrorResponse): the message is sent, and every later server message up to the next
// ReadyForQuery, except asynchronous ones, is still shown to Response but not sent to the client.
// This is how an error in the middle of a result replaces the rest of it.
var SkipToReady = errors.New("skip to ReadyForQuery")

// Interceptor is the seam the encryption work plugs into; nil means a pure relay.
//
// NOTE: Request runs on the client->server goroutine and Response on the server->client goroutine
// of the same session, concurrently; an implementation must be safe for that.
type Interceptor interface {
	// Session is called once per session after authentication. A nil SessionInterceptor relays the
	// session untouched.
	Session(info *SessionInfo) SessionInterceptor
}

// SessionInterceptor sees decoded messages of one session.
type SessionInterceptor interface {
	// ClientTypes and ServerTypes name the message types to decode and pass to Request and Response;
	// every other message is forwarded as raw bytes without being decoded. Called once.
	ClientTypes() TypeSet
	ServerTypes() TypeSet
	// Request sees a client message (only Query, Parse, Bind, Describe, Execute, Close, Sync and
	// FunctionCall are ever decoded) in send order, before it is forwarded, with what the session
	// knows of the prepared statement or portal it names (Named). The message and its byte slices
	// are valid only during the call.
	Request(msg pgproto3.FrontendMessage, named Named) Verdict
	// Response sees a server message with the Plan of the request it answers (nil when none). It
	// returns the message to send to the client: msg itself, a replacement, or nil to send nothing
	// (the answer to a request the interceptor added itself). An error ends the session with a
	// FATAL (fail closed: a message that cannot be handled is never forwarded), except SkipToReady.
	// DataRows of a request whose Plan is nil are relayed raw without calling Response. The
	// message and its byte slices are valid only during the call (DataRow values are reused).
	Response(plan Plan, msg pgproto3.BackendMessage) (pgproto3.BackendMessage, error)
}

// ExecCaller is implemented by a SessionInterceptor whose Request may call SessionInfo.Exec (or
// ExecEach), which waits for the server's answer. A session on an event loop cannot wait on the
// loop's thread: for a message of type typ for which MayExec reports true, the loop runs the
// client side of that one message on a goroutine of its own and goes on serving the server side
// (and other sessions) meanwhile (loopseal_linux.go). An interceptor without the method is
// assumed never to call Exec from Request. Called on the client side, like Request.
type ExecCaller interface {
	MayExec(typ byte) bool
}

// Named is what the session knows of the prepared statement a Bind or Describe S names, or of
// the portal a Describe P or Execute names: the Plan attached to the Parse or Bind that made it,
// and whether it exists (as far as the messages sent so far go). Zero for other messages.
type Named struct {
	Plan  Plan
	Known bool
}

// Verdict is a SessionInterceptor's decision on one client message.
type Verdict struct {
	// Refuse, when set, refuses the message: the client gets this error (severity ERROR) in request
	// order with PostgreSQL's own transaction semantics (see refuse.go). Only Query, Parse and Bind
	// can be refused.
	Refuse *ProxyError
	// Replace, when set, is forwarded instead of the message (e.g. rewritten SQL).
	Replace pgproto3.FrontendMessage
	// Plan is attached to the pending request and handed back with its responses.
	Plan Plan
	// Before are messages of the interceptor's own, sent (and tracked) just before this one; their
	// responses reach Response with the Extra's Plan. Only Describe is supported.
	Before []Extra
	// After are the interceptor's own Query messages, sent (and tracked) right after a Query, in
	// the same write; their responses reach Response with the Extra's Plan.
	After []Extra
	// ResultFormats, on a Query, asks the relay to run its text (Replace's, if set) as one unnamed
	// extended-protocol statement whose result columns come in these formats: Parse, Bind,
	// Describe P, Execute, Close S, Sync. The relay hides the answers a Query does not have
	// (ParseComplete, BindComplete, NoData, CloseComplete), so the client sees a Query's answers,
	// except that the RowDescription and DataRows carry the formats asked for: the interceptor
	// turns them back into text. The server reads it as it would the Query (one statement, one
	// implicit transaction, the unnamed statement and portal gone afterwards) only when it is
	// not skipping messages up to a Sync, nor in a COPY; then the relay sends the Query as is.
	// Only for a text of one statement without parameters.
	ResultFormats []int16
	// CopyIn, on a Query, re-encodes the data the client sends for the Query's COPY … FROM STDIN:
	// the client's CopyData, CopyDone and CopyFail go through it until the COPY ends (or the
	// client sends any other message). Without it CopyData is relayed raw.
	CopyIn CopyIn
}

// CopyIn transforms the data of a client's COPY … FROM STDIN, on the client loop. Data and Done
// hand what is to be forwarded to send, as chunks of whole rows. A *ProxyError fails the COPY: the
// session sends CopyFail upstream (no partial row is ever sent), the client gets that error in
// place of the server's, and the rest of the client's copy data is dropped. Any other error (a
// failed send included) ends the session.
type CopyIn interface {
	// Data takes the payload of one CopyData.
	Data(data []byte, send func([]byte) error) error
	// Done ends the data at the client's CopyDone (a final row without a line end).
	Done(send func([]byte) error) error
}

// Extra is a message the interceptor adds to the client's stream: a Describe (Before) or a Query
// (After).
type Extra struct {
	Msg  pgproto3.FrontendMessage
	Plan Plan
}

// Batches of DataRows handed to a RowsResponder (serverloop.go's interceptRows).
const (
	minRowBatch = 5    // shorter runs go through Response one by one
	maxRowBatch = 2048 // bounds a batch (a grown read buffer holds about 1,300 rows of one value)
	// growRowRun is the run of rows after which the server's read buffer grows to rowReadBufSize
	// for the rest of the result, and the client's write buffer until its next flush (frame.go):
	// the result is long, and bigger batches need fewer reads, writes and wake-ups per row.
	growRowRun     = 32
	rowReadBufSize = 256 << 10
)

// RowsResponder is an optional extension of SessionInterceptor: Response for a run of consecutive
// DataRows of one Plan (bodies, valid until RowsSent). The answers are what Response would have
// returned for each row, in order, with its effects applied in that order; an invalid DataRow
// ends the answers with ErrInvalidRow. The session calls RowsSent once it has sent them.
type RowsResponder interface {
	ResponseRows(plan Plan, bodies [][]byte) []RowAnswer
	RowsSent()
}

// RowAnswer is Response's answer to one row: Msg and Err, or Raw to forward the row unchanged.
type RowAnswer struct {
	Msg pgproto3.BackendMessage
	Raw bool
	Err error
}

// ErrInvalidRow is a RowsResponder's answer to a DataRow it cannot decode.
var ErrInvalidRow = errors.New("invalid DataRow")

// IsUpstreamError reports whether err is the relay's failure to read or write the upstream
// connection (as returned by SessionInfo.Exec or a CopyIn's send), rather than a refusal.
func IsUpstreamError(err error) bool {
	var se *serverError
	return errors.As(err, &se)
}
