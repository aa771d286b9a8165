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
//     SCRAM-SHA-256-PLUS is removed from the server's mechanism list unless pgseal presents the
//     server's own certificate (then channel binding holds end to end). BackendKeyData keeps the
//     upstream's real process id, so pg_backend_pid(), pg_stat_activity and pg_terminate_backend
//     agree with the key the client holds (pgx's pool health checks rely on it), but its secret is
//     replaced by a fresh random one of pgseal's, of the upstream secret's length (at least 4
//     bytes). The swap happens before the relay is chosen, so the fast and the goroutine relay
//     serve the same key.
//   - Cancel (cancel.go): a CancelRequest is looked up by (pid, pgseal secret), the secret compared
//     in constant time, and only a match is forwarded upstream, on a new connection, with the
//     upstream's real secret; anything else is dropped without a reply, as PostgreSQL does. A
//     client never learns a real secret, so it can cancel only its own session. Should a live
//     entry already hold the upstream's pid (a session lingering across a server restart, a pid
//     the OS reused before the session of the backend that had it ended, several upstreams in
//     future), the newcomer gets a synthetic pid in [2^30, 2^31), above any real pid, and loses
//     only pg_backend_pid() agreement; the older entry is never replaced, since its session may
//     still be live and cancellable.
//   - Relay (relay.go, serverloop.go, frame.go): two loops; messages are framed by their 5-byte
//     header, checked against max_message_size, and forwarded as raw bytes (large ones streamed)
//     unless an Interceptor asked to see their type; the DataRows (or CopyData) of a result nobody
//     decodes are forwarded as one run of what is buffered, not message by message. Each loop
//     flushes only when its input buffer is empty, so a batch of messages costs one write.
//   - Event loop (fastrelay*.go, fastloop_linux.go, loopseal_linux.go; Linux): after
//     authentication a session's sockets go to a shared epoll loop (one per two Ps, as PgBouncer
//     runs one loop per process) and the session goroutine ends: one blocking epoll_wait serves
//     every ready socket, each is read once (level-triggered), and a slow peer pauses the other
//     side. A session with no interceptor needs only message boundaries: whole messages are
//     forwarded as bytes. A session with an interceptor runs the relay code above (clientMessage,
//     serverMessage) on the loop over readers fed by that read, reading again (up to 8 times)
//     while a read fills the buffer so that one write carries a long answer; a message longer
//     than the buffer is accumulated until whole, and idle sessions give their buffers back to
//     pools. While a long result streams, the read buffer and the client's write buffer grow to
//     256 KiB (pooled, back at the next flush or when drained).
//     Exec, the one wait in the relay code, is a step instead: a message that may call it
//     (ExecCaller) runs on a goroutine while the loop parks the client side and goes on serving
//     the server side. TLS sessions stay on the goroutine relay: crypto/tls reads and writes
//     records only through a blocking net.Conn. The goroutine relay costs an extra EAGAIN read
//     and a goroutine wake-up per direction and round trip, which on a busy machine is most of
//     the proxy's CPU.
//   - State (state.go): the transaction status, prepared statements and portals by name, and a
//     FIFO of pending requests (pushed by the client loop in send order, popped by the server loop
//     as responses finish them) carrying each request's Plan.
//   - Refusals (refuse.go): an Interceptor can refuse a Query, Parse, Bind or FunctionCall; the
//     server is made to fail it at the same protocol point (a FunctionCall is replaced by a failing
//     Query: both are answered by ErrorResponse and ReadyForQuery) and pgseal swaps in its own
//     error, so transaction state and response order stay PostgreSQL's own. The stand-ins make the
//     server's log say "pgseal refused a statement (SQLSTATE xxxxx)" (no client value): a DO block
//     raising it for a Query, a Parse whose analysis fails casting that text to pg_catalog.int4, a
//     Bind of the (non-existent, reserved) statement of that name. None depends on the session's
//     search_path or settings. Inside an already failed block the Query and Parse stand-ins get
//     the server's 25P02, which passes through as it would for the refused statement itself.
//   - Errors (errors.go): ProxyError is internal/sqlstate's Error (the type rewrite, value and the
//     interceptor fail with too), whose ErrorResponse is its one conversion to a wire message; the
//     Code* constants are wire's names for the sqlstate codes the relay itself reports.
//   - Interceptor (hooks.go, seal_exec.go, copyin.go, state_copy.go): Options.Interceptor is the
//     encryption work (internal/seal, built by cmd/proxy when [[encrypt]] columns are configured);
//     without one the session is a pure relay at full speed. The relay runs the interceptor's own
//     queries on the session's connection (SessionInfo.Exec), adds its messages (Verdict.Before,
//     After), sends a Query as an extended sequence with the result formats it asks for, hiding
//     the answers a Query has not (Verdict.ResultFormats; not while the server skips to a Sync),
//     feeds a client COPY through its CopyIn and hands runs of DataRows to a RowsResponder; it
//     knows nothing of encryption.
//
// # What it leaves out
//
// Encryption (internal/seal), SQL analysis (internal/rewrite) and keys (internal/keyring,
// internal/crypto); GSSAPI and
// SSPI authentication and GSS encryption; SCRAM channel binding with a certificate of pgseal's own
// (it cannot cross a proxy that terminates TLS; a client that announces binding support over TLS
// to a TLS upstream is refused with a hint, because the server must reject it); direct TLS (PostgreSQL 17 sslnegotiation=direct);
// replication connections beyond plain relay; connection pooling.
//
// # Invariants
//
//   - Responses arrive in request order, so the FIFO head is the request a response answers.
//     Requests sent after an extended-protocol error and before Sync are dropped from the FIFO,
//     because the server skips them.
//   - The session goroutine owns both conns until the event loop takes them; relay's two loops
//     are the only other goroutines and relay waits for both, besides decrypt helpers, which touch only the rows of their batch and
//     are waited for chunk by chunk (one that never got a core may outlive the batch's use, holding
//     only the pooled batch). Serve waits for every session. Nothing polls: kills and
//     shutdown become deadlines (context.AfterFunc + SetDeadline). On the event loop the loop
//     holds duplicates of the session's descriptors from add to end only; a kill is a command to
//     the loop, and a goroutine started at the end gives the session fresh conns for its FATAL and
//     close (after the goroutine of a parked message, which the kill unblocks, has returned). The loops live
//     while some Serve runs.
//   - A proxy-originated FATAL is sent only at a message boundary of the client stream; when a
//     message was half written the connection is just closed.
//   - Logs and errors never carry SQL text, values, passwords or keys.
//   - Fail closed: plaintext of an encrypted column is never sent upstream (parameters and
//     literals are encrypted or the statement is refused), and ciphertext never reaches a client
//     as a value (rows of an encrypted origin without a plan, or without a description, are
//     refused).
//
// # Decisions
//
//   - Framing is done here over bufio (peek the header, forward bytes) and decoding uses pgproto3's
//     message types only for the messages that need it; pgproto3.Backend/Frontend are not used
//     because their internal buffers would hide bytes from the raw relay.
//   - The extended-protocol message 'p' is told apart by the auth request it answers, as
//     pgproto3's SetAuthType does.
package wire
