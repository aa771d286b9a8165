// Package migrate moves existing data into and out of pgseal encryption while the application
// keeps running: Encrypt turns a plaintext column into an encrypted bytea column of the same
// name, Decrypt turns it back, Reencrypt moves values of a rotated keyset to its primary
// generation, Reindex gives the values of a column that gained ord or match search the terms
// they lack and builds its search indexes (docs/search.md §5; Encrypt builds them at cut-over),
// Status and CountGeneration read the envelope headers in SQL without decrypting.
// It talks to PostgreSQL directly (not through the proxy) with a keyring Snapshot.
//
// Values are sealed and opened through internal/column (Column.Seal, Term, Open), the one
// home of an encrypted column: ColumnKey(primary generation, column id).Seal with, when the
// column has equality search, the term TermKey(domain).Term(tag, value.EqualityForm(plain)). The
// proxy uses it too, so values written by either are the same kind of value.
//
// # How a shadow-column migration stays correct online
//
//  1. Setup (idempotent): schema pgseal with the progress table pgseal.migration; a shadow column
//     "<col>__pgseal"; BEFORE INSERT/UPDATE triggers (named "zz_pgseal_…" so that they fire after
//     the application's own BEFORE triggers) that set the shadow to NULL whenever the source
//     value's exact bytes (its type's send function, so that numeric 1.0 -> 1.00 or jsonb number
//     changes count) or the tenant column change. The database cannot encrypt; a NULL shadow
//     next to a non-NULL source just means "redo this row".
//  2. Backfill by primary key (never OFFSET), one transaction per batch: read pk, source (binary)
//     and tenant, convert in Go, then UPDATE … FROM unnest(pk, new, orig) WHERE t.pk = v.pk AND
//     send(t.col) = v.orig — a row changed after it was read no longer matches and is skipped (its
//     shadow stays NULL for the sweeps). PostgreSQL's EvalPlanQual re-checks the condition on the
//     latest row version when the UPDATE had to wait for a writer. The position (last pk, counts)
//     is written in the same transaction, so a killed run resumes after its last committed batch.
//  3. Catch-up sweeps convert rows whose shadow is NULL while the source is not, until one sweep
//     finds few.
//  4. Cut-over in one transaction with lock_timeout, retried after another sweep: LOCK TABLE …
//     ACCESS EXCLUSIVE, a final sweep under the lock (nothing can change now), a check that no
//     row is left, drop the triggers, ALTER COLUMN … TYPE … USING shadow (the column keeps its
//     position, so SELECT * is unchanged), drop the shadow, rebuild indexes, NOTIFY
//     pgseal_catalog with the column id.
//
// # Decisions
//
//   - Only tables with a one-column primary key (any orderable type, passed as text and cast
//     back); composite keys are refused. The column itself cannot be the key.
//   - Encrypt: a UNIQUE index or constraint on the column becomes CREATE UNIQUE INDEX (same name)
//     on (substring(col from 24 for 16)), the equality term, with the index's other key columns
//     kept (UNIQUE (tenant_id, email) stays per tenant). Needs search = ["eq"], else it is refused
//     at validation. Terms are per keyset, so uniqueness holds per keyset. Non-unique btree
//     indexes become term indexes when the column has eq search (lookups stay indexed) and are
//     dropped otherwise; both are reported. The original index definitions and the column's
//     full type (with typmod) are kept in pgseal.migration for Decrypt.
//   - The CHECK pgseal_envelope_<col> (defined in internal/column's envcheck.go) is PostgreSQL's own backstop: whatever
//     writes to the column around pgseal (a stale client, a function, a rule, dynamic SQL, a
//     direct connection) gets 23514 unless the value is shaped like an envelope: version 1, suite
//     1 or 2 (2 is reserved for ChaCha20-Poly1305, issue 13: add new suites to column's
//     checkSuites and bump its checkVersion), flags 0 with length >= 67 or flags 1 (term) with length >= 83. A CASE
//     guards get_byte (AND has no evaluation order), every function and operator is
//     pg_catalog-qualified, and it costs a length and three get_byte calls per write. It cannot
//     tell a forged envelope from a real one (only the tag can). Its COMMENT ("pgseal envelope
//     check v2") marks the definition: pg_get_constraintdef's text varies with the server and
//     search_path, a comment does not, and PostgreSQL drops it with the constraint; so an older
//     definition (no comment) is reported as "outdated". Encrypt adds it at cut-over; Protect
//     (`proxy protect`) adds or upgrades it on an encrypted column: count the values it would
//     refuse (refuse with the count, never values, changing nothing), ADD … NOT VALID with
//     lock_timeout 5s (brief ACCESS EXCLUSIVE, no scan; an outdated one is dropped in the same
//     transaction), COMMENT, then VALIDATE CONSTRAINT (SHARE UPDATE EXCLUSIVE: reads and writes
//     go on). Idempotent; an interrupted run (NOT VALID) is validated by the next. Status reports
//     the state per bytea column (ok, missing, outdated, not validated), and the proxy logs one
//     warning per database and column when it loads a catalog (EnvelopeCheckQuery).
//   - Refused at validation, before any change: defaults and generated expressions on the column
//     (they would write plaintext), foreign keys, other CHECK constraints, views and rules using
//     it, a configured type that differs from the column's (text and varchar are compatible).
//   - Keysets: --keyset, or --tenant-column whose text value names a keyset (name or UUID), as
//     the proxy's tenant setting does. Every distinct tenant is checked before any change.
//   - The dropped shadow column's bytes stay in the rewritten rows until they are next updated or
//     the table is rewritten (PostgreSQL's DROP COLUMN only hides the column).
//
// What it leaves out: composite primary keys, partial/expression unique indexes, columns used by
// foreign keys or views, and encrypting through the proxy (the tool writes
// ciphertext directly with the keyring, which it must be able to open).
package migrate
