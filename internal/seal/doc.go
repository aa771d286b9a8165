// Package seal is pgseal's encryption interceptor: the wire.Interceptor that cmd/proxy builds when
// [[encrypt]] columns are configured (ForConfig) and hands to the relay (internal/wire), which
// shows it the messages it asked for. It encrypts parameters, literals and COPY data on the way in
// and decrypts results on the way out, under the keyset each statement runs with (docs/design.md
// §3-§5). Sealer is shared by every session; Session is one session's interceptor. Every value is
// sealed and opened through internal/column (one Column per encrypted column and catalog read,
// column.go), as the migration tool does; this package never imports internal/migrate.
//
// # Encryption in flight
//
//   - Catalog (seal.go, catalog.go): per database, read over the session's OWN upstream connection (pgseal
//     has no credentials) after authentication and before the client's first ReadyForQuery
//     (SessionOpener + SessionInfo.Exec), and shared by sessions through a cache with a version.
//     It is read again when a session starts more than 5 s after the last read, after a
//     CREATE/ALTER/DROP TABLE (or DROP/ALTER SCHEMA) CommandComplete on the session, and after a
//     RowDescription contradicts it (an encrypted origin that is not bytea, or a pending origin
//     that is bytea now): that statement is refused with XX000 "schema changed; retry". A reload
//     runs at a safe point (no request in flight) before the next Query/Parse, as an injected
//     query whose answer the relay consumes itself; while it cannot run, statements that name a
//     configured table are refused (fail closed). Every session LISTENs pgseal_catalog (the
//     migration tool's cut-over notifies it) and a notification marks its catalog stale, so idle
//     sessions switch before their next statement (notify.go: the channel's notifications are
//     swallowed unless the client LISTENs it too; a standby that refuses LISTEN is logged, not fatal).
//     After the client's UNLISTEN or DISCARD ALL (a pool's reset) in a simple Query that leaves no
//     block open, pgseal sends LISTEN and the marker as two Queries right behind it and holds the
//     client's ReadyForQuery until they are answered (relisten.go): no round trip of its own.
//     Otherwise pgseal LISTENs again lazily,
//     before the session's next statement and outside a block, and reads the catalog marker
//     (catalog.MarkerQuery: an md5 of the xmin of the pg_class and pg_attribute rows of the
//     configured tables and their descendants, which every cut-over rewrites, their pg_inherits
//     rows and the configured names' oids; after the first read, catalog.FastMarkerQuery
//     computes it over the tree read with the catalog at a fifth of the cost) in the same round
//     trip, as a second pipelined Query (so its snapshot follows the LISTEN's commit: a change
//     committed later is notified, an earlier one is in the marker). The catalog is read again
//     only if the marker differs from the one read just before it; no catalog read per reset.
//     While the LISTEN cannot be made
//     again (requests in flight, e.g. a statement pipelined behind the DISCARD ALL, or inside a
//     transaction block), statements naming a configured table are refused with XX000 "schema
//     changed; retry" (fail closed). A statement sent before
//     the notification arrived still runs on the old catalog: the envelope CHECK the migration
//     installs is what stops plaintext in that window. Catalog errors at session start are a FATAL with
//     a one-line reason. Pending columns (configured, not bytea yet) are relayed as plaintext and
//     logged once. CREATE/ALTER/DROP VIEW and RULE tags mark the catalog stale too.
//     The same read lists the columns of pg_catalog.pg_attribute and information_schema.columns
//     (they differ between PostgreSQL versions) for the catalog view below.
//   - Catalog view (rewrite/catalogview.go, catalog/view.go): through pgseal, catalog
//     introspection shows each encrypted column with its plaintext type, so ORMs and drivers
//     that build type maps from the catalog (psql \d, JDBC getColumns, ActiveRecord-style
//     pg_attribute/format_type queries, information_schema.columns) send plaintext-typed values.
//     catalog.Build fills rewrite.Schema.Catalog (table OID, attnum, names, plaintext type OID,
//     typmod from [[encrypt]] modifiers or -1) and Analyze replaces, in queries only, each FROM
//     reference to those two relations by a subquery with the same columns that patches the type
//     fields (Statement.CatalogView). Simple Query sends the rendered text; a Parse that needs no
//     plan otherwise is forwarded with the patched text and no plan (catalogViewParse). A direct
//     connection still sees bytea. Storage fields (attlen, attalign, …) stay bytea's.
//   - Catalog trust (catalog.go): the read runs on a client session's connection and is
//     shared, so nothing the session did may colour it. (1) The query (catalog.Query) names
//     every function, operator and type with its schema (pg_catalog.format_type,
//     OPERATOR(pg_catalog.=), no IN/row comparisons), quotes literals as E'…', and tests bytea by
//     type OID: a session's search_path, shadowing functions or operators and settings
//     (quote_all_identifiers, standard_conforming_strings) do not change its answer; the marker
//     read with it (catalog.MarkerQuery) follows the same rules. LISTEN pgseal_catalog names no
//     object. (2) A read made while the session is inside a transaction
//     block (its own uncommitted DDL is visible) serves that session only while the block lasts
//     (a private entry with its own plan-cache version); the first statement after the block
//     reads again, and only reads outside a block are published. (3) "Pending" cannot be
//     switched on by a session: once a shared read found a configured column bytea, a later read
//     finding it not bytea refuses (0A000) every statement naming its table, descendants, views
//     and ancestors until pgseal restarts, and logs an error. `proxy decrypt` does this on
//     purpose: restart pgseal after it (and remove the column from [[encrypt]]). A proxy started
//     after such a change cannot know the column was encrypted (a known limit; the envelope CHECK
//     stops plaintext while it stands).
//   - Views, partitions, children: the catalog gives every inheritance child and partition (any
//     depth) of a configured table the same encrypted columns (same column ID and associated
//     data), and refuses every relation whose rewrite rules reach one (views, materialized views,
//     rules) and every non-configured ancestor. Relations created by another connection after
//     the catalog was read are unknown until the next read (5 s at session start, a DDL tag on
//     the session, a notification); the envelope CHECK, inherited by partitions and children,
//     stops plaintext meanwhile. Views reading encrypted tables only through functions are not
//     found (PostgreSQL records no dependency).
//   - Analysis: rewrite.Analyze results are cached by (catalog version, SQL text) in a 4096-entry
//     LRU (texts over 8 KiB are not cached); errors are cached too. Texts the prefilter skips are
//     not cached (their empty plan costs nothing). Simple-protocol texts that differ only in
//     literals share one entry by rewrite.Shape holding a rewrite.Template (or the fact that the
//     shape has none), so they are parsed once per shape, not once per text.
//   - Tenancy (tenancy.go, keysel.go): a tenancy.GUC seeded from startup parameters and
//     options (-c name=value, --name=value); as in PostgreSQL (process_startup_options) options
//     are applied first, so a setting given both ways takes the direct parameter's value. The
//     tenant setting and pgseal.keyset are then read from the server itself (current_setting, in
//     the Query that sends pgseal's LISTEN: no extra round trip), so role and database defaults
//     (ALTER ROLE … SET, which an ordinary role may run on itself) count. "Predicted" settings advance in the client loop with each
//     statement sent and choose keysets; "confirmed" settings advance in the server loop from
//     CommandComplete (statement by statement, using the plan; a COMMIT answered ROLLBACK rolls
//     back), ErrorResponse and ReadyForQuery ('I' ends the block, failed or not). When nothing is in
//     flight, predicted := confirmed. Statements pgseal does not parse change no setting; their
//     transaction boundaries come from the CommandComplete tag. A tracked setting set to an
//     expression is refused (0A000); set_config's $N is read from the Bind. The keyset is checked
//     (exists, active, granted to the session user) at every Query, Parse with literals and Bind
//     that touches an encrypted column, so revocation and disabling act at the next statement.
//     The keyset must agree with the tenant PostgreSQL sees (RLS reads the tenant setting): a
//     tenant setting that is set must name a keyset the client may use, and when pgseal.keyset is
//     set too both must name the same keyset. A SET/SET LOCAL/RESET/set_config (Query, or Bind
//     with set_config's $N resolved) that would break this rule on the predicted settings is
//     refused with 42501 before it reaches PostgreSQL, so the setting stays unchanged; the same
//     check at every statement that needs a keyset covers states made another way (startup
//     parameters, binds pipelined before their executes). A SQL PREPARE of a statement that
//     changes settings is refused (0A000): they would change at each EXECUTE. Known limit: a
//     function that calls set_config on the tenant setting is invisible to pgseal (custom settings
//     send no ParameterStatus); grant no such function to application roles.
//   - Lexical settings (lexical.go): pgseal parses SQL as UTF-8 with
//     standard_conforming_strings on. PostgreSQL converts the client's bytes from client_encoding
//     before it lexes them (SJIS, BIG5, GBK… have multi-byte characters whose second byte is a
//     quote or a backslash), and with standard_conforming_strings off reads backslash escapes in
//     plain strings, so it could run a statement pgseal saw inside a literal. Both settings follow
//     the server's ParameterStatus (sent at startup and on change) and the statements sent.
//     client_encoding: UTF8 (any spelling: utf8, UTF-8, unicode) and SQL_ASCII (no conversion:
//     the bytes are lexed as sent) are safe; under any other, every Parse and Query is refused
//     with 0A000, except a Query of 7-bit ASCII without backslashes made only of SET/RESET
//     statements (the way back), and SET/SET LOCAL/SET NAMES/set_config/RESET (RESET ALL and
//     DISCARD ALL: to the startup value) choosing one are refused at the statement.
//     standard_conforming_strings: without a backslash byte or a U&'…' string, both modes lex a
//     statement identically, so with it off (predicted for the statement: a Query is read whole
//     before any of it runs) only statements containing either are refused; pgseal's own bytea
//     literals are E'\\x…', read alike in both modes. A ParameterStatus with an unsafe encoding,
//     or turning standard strings off while no statement that could do so is in flight (a
//     function calling set_config), ends the session with a FATAL 0A000. Known race: requests the
//     client pipelined behind such a function were analysed under the old setting and may already
//     run under the new one before pgseal sees the ParameterStatus.
//   - Fastpath (execnames.go): FunctionCall runs any function with arguments pgseal cannot
//     analyse (set_config among them), so it is refused (0A000; ErrorResponse, then
//     ReadyForQuery, the session stays usable) unless the function OID is a large-object
//     function (lo_open, lo_close, loread, lowrite, lo_lseek, lo_creat, lo_tell, lo_unlink,
//     lo_truncate, lo_create, lo_lseek64, lo_tell64, lo_truncate64, lo_from_bytea, lo_get, lo_put:
//     OIDs from pg_proc, checked by a test).
//   - SQL EXECUTE (execnames.go): EXECUTE name(args) coerces its arguments to the prepared
//     statement's parameter types; for a statement a protocol Parse made, pgseal forced encrypted
//     parameters to bytea, so the plaintext would be stored. EXECUTE with arguments is allowed
//     only for names made by a SQL PREPARE that passed analysis and that PostgreSQL confirmed
//     (CommandComplete PREPARE; a failed PREPARE, e.g. "already exists", marks nothing); a Parse of
//     the name, DEALLOCATE name/ALL and DISCARD ALL remove names when sent, and a confirmation of a
//     PREPARE sent before such a removal is ignored. Otherwise 0A000. In the extended protocol
//     EXECUTE with arguments is always refused (the portal looks the name up when it runs, after
//     any check pgseal could make). EXECUTE without arguments passes. A client that pipelines
//     EXECUTE behind its PREPARE before the PREPARE is answered is refused too.
//   - Simple Query (query.go): refusals carry rewrite's SQLSTATE and 1-based character
//     position; literals become '\x…'::bytea envelopes or terms under the keyset each statement
//     runs under (settings of earlier statements of the same Query count); an array literal
//     compared with = ANY / <> ALL (pgx's simple protocol inlines `= ANY($1)` as '{…}') becomes
//     ARRAY[term, …]::bytea[] of its elements' terms (NULL elements stay NULL). Statements
//     reading pg_attribute or information_schema.columns get the catalog view's subqueries.
//   - Extended protocol (extended.go, paramtypes.go, params.go): Parse forces
//     encrypted parameters to bytea (bytea[] for = ANY) and refuses other declared types (42804;
//     varchar and text, and their arrays, are accepted for each other, being the same bytes on the
//     wire; int4 for an int8 column and the like stay refused, though PostgreSQL converts them);
//     literals are sealed under the keyset at Parse, and a Bind under another keyset is refused
//     (0A000). Bind encrypts text or binary parameters into binary bytea (arrays: each element's
//     term; a binary array of a text or varchar column may name either element type).
//     ParameterDescription shows, as PostgreSQL does for a plaintext column, the type the client
//     declared in Parse, or when it declared none (0) the type PostgreSQL infers: the cast's
//     (`$1::varchar`, which rewrite removes), the column's where the value is assigned, text
//     (text[]) where a varchar column is compared (known limit: an IN list of two or more items
//     on a varchar column is varchar in PostgreSQL, text here). JDBC fails a batch when the
//     description differs from its declared varchar. RowDescription shows plaintext types. When
//     an Execute's rows would arrive with no Describe of the statement or portal, pgseal sends a
//     Describe P before it and consumes the answer (Verdict.Before). A Parse whose only change
//     is the catalog view is replaced by its patched text and tracked without a plan.
//   - Results (description.go, result.go): fields whose origin is an encrypted column, or whose position the
//     plan names, are decrypted: bytea text (hex or escape) or binary, header keyset = the
//     statement's (else 42501 and one audit line: client, keysets, column, never a value), column.Open
//     with the header's generation, value.Decode in the field's format. NULL stays NULL. A failure
//     replaces the rest of the response up to ReadyForQuery with one ErrorResponse (SkipToReady).
//     Inside a transaction block the block is then failed (poison.go); outside one, the
//     server has already committed the statement (it saw no error): a known limit.
//   - Long results (rows.go): the DataRows already buffered are decrypted as one batch (one
//     snapshot, one clock pair; answers and their effects in row order). After a run of 32 rows
//     the server's read buffer grows to 256 KiB for the rest of the result (internal/wire's frame.go; back to
//     16 KiB at ReadyForQuery once drained), so batches hold about a thousand rows, and up to
//     GOMAXPROCS-1 helper goroutines decrypt 32-row chunks of each batch beside the server loop.
//   - Upstream formats (formats.go): a Bind of a described statement asks PostgreSQL for the
//     encrypted columns in binary (half the bytes, no hex) whatever the client asked for; the
//     portal's RowDescription shows the client's codes and rows are encoded in them. A statement
//     not described before its Bind (the unnamed statement of pgx's Exec mode, pgbench -M
//     extended) gets what an earlier description of the same text said under the same catalog,
//     when the text fixes the result's columns (no `*`, no TABLE keyword; a query or DML). If the
//     result no longer matches the description (a field whose format pgseal changed is not one it
//     decrypts), the statement fails with XX000 "schema changed; retry".
//     A simple Query of one statement whose text fixes its columns, without parameters, settings
//     or transaction control, is sent as an unnamed extended sequence (Parse, Bind, Describe P,
//     Execute, Close S, Sync: wire.Verdict.ResultFormats) asking for the encrypted fields in
//     binary, once the last Query of the same shape (the same text up to literal values) had
//     them and returned 32 rows or more (fewer are not worth the extra messages); the relay hides the answers a Query does not
//     have and the client gets text. Other simple-protocol results stay text; their bytea hex is
//     decoded a digit pair per table look-up (internal/column). Column keys are remembered per result field and goroutine
//     (column.KeyCache: snapshot, column, keyset, generation), after the keyset check.
//   - Migration shadow columns (shadow.go): fields whose origin is "<column>__pgseal" of a
//     configured column's table (or an unknown column of a configured table with that name: the
//     catalog is then reloaded) are dropped from RowDescription and DataRow, so SELECT * is
//     unchanged while `proxy encrypt`/`proxy decrypt` runs. Statements naming a table with a shadow
//     get a plan for it; a hidden field met without a plan is refused as a schema change (the
//     retry is planned). Bind result formats given per visible column get a text code at each
//     hidden position, from the statement's description (or an earlier one of the same text).
//   - COPY (copystmt.go over copy.go's text/CSV and copy_binary.go's binary streaming
//     transformers, and internal/wire's copyin.go): COPY … FROM STDIN in text, CSV or binary, sent in a simple Query
//     or as the Execute of its portal, gets a CopyIn (Verdict.CopyIn; the Syncs a client sends
//     before its copy data are followed by internal/wire's state_copy.go): while it is active the client loop decodes
//     the client's CopyData (only then: the pure relay never does) and forwards whole rows whose
//     encrypted fields are value.Encode'd as the column's type (text/CSV: text format; binary: the
//     type's binary send format), sealed under the keyset chosen (and checked) when the COPY was
//     sent, and written as bytea (hex text, or the envelope's raw bytes in binary). CopyData
//     boundaries may fall anywhere, in a row, a binary header or a field length. A bad field, a
//     malformed stream (binary: signature, flags, field count, field length, truncation, data
//     after the trailer, checked with PostgreSQL's own messages and 22P04) or a keyset failure
//     sends CopyFail upstream, never a partial row; the server's ErrorResponse to it is swapped
//     for pgseal's error (the line and field in Detail) and the client's remaining copy data is
//     dropped. COPY t TO STDOUT and COPY (query) TO STDOUT decrypt each server CopyData between
//     CopyOutResponse and CopyDone (keyset check, Open, value.Decode in the COPY's format, so
//     binary output is byte-identical to a plaintext column's); a failure replaces the rest of the
//     response, as for DataRow. Refused (0A000): FORCE_QUOTE/FORCE_NOT_NULL/FORCE_NULL on
//     encrypted columns (rewrite), and a COPY FROM STDIN of encrypted columns sharing its Query with another COPY (the copy data must
//     belong to it for certain) or placed after a statement of its Query that changes a setting
//     other than the tenant's (it would change how the server reads the fields). Known limits: COPY TO of a column that became bytea after the
//     catalog was read is not noticed (CopyOutResponse names no types); a binary value of the
//     wrong length for a fixed-size type is 22P03 where PostgreSQL says 08P01 ("insufficient data
//     left in message") for a short one.
//
// # Invariants
//
//   - Request runs on the relay's client side and Response on its server side, concurrently:
//     Session keeps the fields each side owns in their own structs, and shares the rest through
//     atomics or locks.
//   - Fail closed: plaintext of an encrypted column is never sent upstream (parameters and
//     literals are encrypted or the statement is refused), and ciphertext never reaches a client
//     as a value (rows of an encrypted origin without a plan, or without a description, are
//     refused).
//   - Logs and errors never carry SQL text, values or keys.
package seal
