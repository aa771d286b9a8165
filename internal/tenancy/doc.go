// Package tenancy tracks the session settings that choose a keyset, with PostgreSQL's own rules
// for when a setting takes effect and when it is undone.
//
// pgseal must know, for every statement, which keyset the session has selected — `pgseal.keyset`
// or the configured tenant setting (e.g. `app.tenant`). The settings are forwarded to PostgreSQL
// (so row-level-security policies reading current_setting see the same tenant); this package keeps
// pgseal's copy in step with the server's by replaying the same events:
//
//   - SET / SET SESSION / RESET / RESET ALL / DISCARD ALL and set_config(name, value, false) change the
//     session value; inside a transaction block the change is undone if the block rolls back.
//   - SET LOCAL and set_config(…, true) last until the end of the transaction block (outside a block
//     they end with the statement, as in PostgreSQL, where they only warn).
//   - SAVEPOINT / ROLLBACK TO / RELEASE restore or keep what was set after the savepoint.
//   - An implicit transaction (one simple Query message, or the messages up to a Sync) behaves like a
//     block: an error in it undoes the settings it made.
//   - RESET returns a setting to its startup value (startup `options=-c name=value`), not to "unset".
//
// Reference: PostgreSQL src/backend/utils/misc/guc.c (AtEOXact_GUC, NewGUCNestLevel), and the SET
// documentation. The model keeps two maps — the effective values and the values a COMMIT would keep —
// plus snapshots at the block start and at each savepoint; that is enough for SET/SET LOCAL/SAVEPOINT
// in any order (guc.c's per-variable stack gives the same results for these statements).
//
// What it leaves out: it does not parse SQL (the caller reports events) and does not know keysets
// (Selection maps settings to a keyset name; the caller checks grants).
package tenancy
