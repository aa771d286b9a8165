// Package wire is pgseal's per-connection session: it speaks the PostgreSQL frontend/backend
// protocol (version 3) to a client on one side and to the real server on the other, and relays
// between them so that the client notices nothing.
//
// # What it does
//
//   - Startup (startup.go): reads startup packets under server.startup_timeout and PostgreSQL's
//     10000-byte limit. SSLRequest gets TLS with the configured certificate, or 'N'; GSSENCRequest
//     gets 'N'; a CancelRequest is routed and the connection closed; protocol 3.x is forwarded
//     (the server negotiates minor versions itself); any other version is a FATAL 08P01. The
//     upstream is dialled only after a valid StartupMessage, and only within max_connections.
//   - Upstream (upstream.go): TLS per upstream.tls with libpq's sslmode semantics.
//   - Authentication (auth.go): the server's exchange is relayed message by message (trust,
//     cleartext, md5, SCRAM-SHA-256) with a round-trip cap; pgseal stores no passwords.
//     SCRAM-SHA-256-PLUS is removed from the server's mechanism list. BackendKeyData is replaced
//     by a pgseal key (cancel.go) that maps to the upstream's real key.
//   - Relay (relay.go, serverloop.go, frame.go): two loops; messages are framed by their 5-byte
//     header, checked against max_message_size, and forwarded as raw bytes (large ones streamed)
//     unless an Interceptor asked to see their type. Each loop flushes only when its input buffer
//     is empty, so a batch of messages costs one write.
//   - State (state.go): the transaction status, prepared statements and portals by name, and a
//     FIFO of pending requests (pushed by the client loop in send order, popped by the server loop
//     as responses finish them) carrying each request's Plan.
//   - Refusals (refuse.go): an Interceptor can refuse a Query, Parse or Bind; the server is made to
//     fail it at the same protocol point and pgseal swaps in its own error, so transaction state
//     and response order stay PostgreSQL's own.
//   - Errors (errors.go): ProxyError and its one conversion to an ErrorResponse; SQLSTATE constants.
//
// # What it leaves out
//
// Encryption, SQL analysis and keysets (the Interceptor seam is where they plug in); GSSAPI and
// SSPI authentication and GSS encryption; SCRAM channel binding (it cannot cross a proxy that
// terminates TLS; a client that announces binding support over TLS to a TLS upstream is refused
// with a hint, because the server must reject it); direct TLS (PostgreSQL 17 sslnegotiation=direct);
// replication connections beyond plain relay; connection pooling.
//
// # Invariants
//
//   - Responses arrive in request order, so the FIFO head is the request a response answers.
//     Requests sent after an extended-protocol error and before Sync are dropped from the FIFO,
//     because the server skips them.
//   - The session goroutine owns both conns; relay's two loops are the only other goroutines and
//     relay waits for both. Serve waits for every session. Nothing polls: kills and
//     shutdown become deadlines (context.AfterFunc + SetDeadline).
//   - A proxy-originated FATAL is sent only at a message boundary of the client stream; when a
//     message was half written the connection is just closed.
//   - Logs and errors never carry SQL text, values, passwords or keys.
//
// # Decisions
//
//   - Framing is done here over bufio (peek the header, forward bytes) and decoding uses pgproto3's
//     message types only for the messages that need it; pgproto3.Backend/Frontend are not used
//     because their internal buffers would hide bytes from the raw relay.
//   - The extended-protocol message 'p' is told apart by the auth request it answers, as
//     pgproto3's SetAuthType does.
package wire
