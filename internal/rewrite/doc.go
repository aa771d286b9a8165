// Package rewrite decides, for one SQL text and the encryption schema, what the wire layer must
// do so that configured columns only ever hold ciphertext: Analyze(sql, schema) returns a Plan.
//
// It is a pure function of its inputs: no I/O, no keys, no logging; deterministic and safe for
// concurrent use (a Schema must not be mutated once built). It parses with pg_query (PostgreSQL's
// own parser): Parse for the tree and node start locations, Scan for where a constant, column
// reference or type name ends.
//
// What a plan says:
//   - Params: for each $N, pass it, encrypt it for a column (ParamEncrypt), or turn it into that
//     column's equality term (ParamTerm, ParamTermArray for `= ANY($N)`).
//   - Edits: byte-range replacements of the original text. Literals assigned to an encrypted
//     column become EditEncrypt, literals compared with one EditTerm (the wire fills in a bytea
//     literal), an array literal compared with = ANY / <> ALL one EditTermArray (a bytea[] of
//     terms); a compared column reference becomes TermExpr(ref); a cast of a parameter to the
//     column's plaintext type (or to a type it converts from, below) is removed so that
//     PostgreSQL infers bytea. Render applies them.
//   - Catalog view (catalogview.go): with Schema.Catalog set, each FROM reference of a query
//     (SELECT, EXPLAIN, DECLARE, COPY (…) TO, PREPARE; never DDL, which would persist it, nor a
//     DML target) to
//     pg_attribute (unqualified or pg_catalog.) or information_schema.columns becomes an
//     EditStatic subquery with every column of the relation in order (`a.*` still works), the
//     type fields of the encrypted columns patched to the plaintext type: atttypid, atttypmod and
//     attcollation by (attrelid, attnum); data_type, udt_name and the length, precision and
//     scale fields of information_schema.columns, computed by the view's own information_schema
//     functions from the plaintext type, joined by (schema, table, column) names. Without an
//     alias the subquery gets the relation's name as alias. Statement.CatalogView marks it.
//     The texts name every function, operator and type with its schema and quote names as
//     E'…', so session settings and objects do not change them; they hold names and OIDs only,
//     never values. Not patched: an unqualified `columns` (information_schema on the search
//     path), a column reference qualified with the relation's schema
//     (`pg_catalog.pg_attribute.attname`: the subquery's alias is unqualified, PostgreSQL says
//     42P01), system columns of pg_attribute (ctid, xmin), and views or functions of the user
//     that read pg_attribute themselves.
//   - Statements: kind, whether it touches an encrypted column, the result positions that carry an
//     encrypted column unchanged (Outputs, to decrypt), setting changes (SET, SET LOCAL, RESET,
//     RESET ALL, DISCARD ALL, set_config anywhere), COPY details, cursor and transaction info,
//     SQL-level prepared statement names (below).
//
// What it leaves out: keys, encryption, catalog lookups (the wire builds the Schema from config
// and the catalog), and SQL-level PREPARE of statements on encrypted tables (refused: the
// extended protocol does the same job and is analysed at Parse).
//
// Prepared statements: SQL PREPARE/EXECUTE/DEALLOCATE share one per-session namespace with the
// extended protocol's named statements, so `EXECUTE s1('x')` runs a statement pgseal analysed at
// Parse, whose $1 it meant to encrypt, with a plaintext argument. Analyze cannot know what s1 is;
// it reports the names and the wire decides (it holds the session's statements):
//   - PrepareName: a PREPARE that passed analysis (it names no encrypted table and calls no
//     set_config). Its $N are the prepared statement's, so they make no Params.
//   - ExecuteName, ExecuteArgs: an EXECUTE, also inside EXPLAIN [ANALYZE] or CREATE TABLE … AS
//     EXECUTE (whatever the statement's Kind). The wire must refuse it (0A000) unless ExecuteName
//     is a statement the session prepared with SQL PREPARE (PrepareName) and not since
//     deallocated; a Parse-named statement that touches an encrypted column, or a name it does not
//     know, must never run through EXECUTE, with or without arguments (without, its result would
//     be ciphertext handed out undecrypted). Arguments that mention an encrypted table are
//     analysed like any expression.
//   - DeallocateName, DeallocateAll: DEALLOCATE [PREPARE] name | ALL; DISCARD ALL sets
//     DeallocateAll too (it deallocates every prepared statement, Parse-named ones included).
//
// Invariants (asserted by every golden case, by FuzzAnalyze and by FuzzLeak, which generates
// statements mixing encrypted columns with every construct below and marker literals):
//   - A statement that names no table with encrypted columns gets no edits and no parameter
//     decisions: its text comes out byte-identical, except the catalog view's static edits
//     (Statement.CatalogView). A plan without edits renders p.SQL itself.
//   - No literal assigned to or compared with an encrypted column survives rendering; every such
//     literal is an edit whose span covers it (and any cast around it).
//   - Rendered SQL parses again. Edits are sorted and never overlap (Analyze refuses otherwise).
//   - Anything touching an encrypted column that is not understood is refused with 0A000 naming
//     the column and the construct: functions, operators other than =/<>, ORDER BY, GROUP BY,
//     DISTINCT, aggregates other than count, casts (except those under Casts), unknown node types
//     (the order and match searches below make exact exceptions for ready ord/match columns).
//     Never a pass-through.
//   - Error messages never contain literal values (syntax errors drop the quoted token).
//
// Decisions:
//   - Casts (casts.go): a constant or parameter assigned to or compared with an encrypted column may
//     be cast to the column's plaintext type, or to another type of its family whose conversion
//     the wire reproduces exactly (value.Convertible): text ↔ varchar (same bytes); int2, int4,
//     int8 among themselves; date, timestamp, timestamptz among themselves (`CAST(? AS VARCHAR)`,
//     `$1::varchar`, `'5'::int8` for an int4 column, `'2024-01-02'::timestamptz` for a date one).
//     Edit.Cast / Param.Cast name the cast's type; the wire parses the value as that type (its
//     syntax and range errors), converts it to the column's like PostgreSQL's casts (int84 and
//     co.: 22003 "integer out of range"; date_timestamptz and co. in the session TimeZone the
//     wire follows from ParameterStatus, 22008 out of range), and reports the cast's type in
//     ParameterDescription (a type the client declared in Parse instead, if it converts the same
//     way, is parsed as declared and converted: JDBC's int4 for `?::bigint`). In a comparison
//     PostgreSQL does not convert integers (`int4col = $1::int8` runs int48eq): a value out of
//     the column's range becomes an empty term, which no stored term equals (= false, <> true).
//     A date or timestamp compared with a timestamp or timestamptz column is converted, as
//     PostgreSQL's cross-type operators convert that side (comparable; the wire places a value
//     beyond the column type's range, seal's datetimeBeyond); the other date/time comparisons
//     across types convert the column's side (`datecol = x::timestamp` is false unless x is
//     midnight) and are refused. An explicit varchar(n) cast for a text or varchar column
//     truncates to n characters of the database encoding, as PostgreSQL's does (CastLen;
//     value.TruncateChars); assigning a longer value to a varchar(n) column raises 22001 in
//     PostgreSQL, while pgseal, which knows no column typmods, stores it whole, with or without
//     a cast. A NULL cast to the column's type
//     or family becomes a bare NULL (typed, it would meet the bytea column: 42804). Refused
//     (0A000), because pgseal would store or compare something else than PostgreSQL: bpchar and
//     char (trailing spaces; char is char(1)), casts of constants PostgreSQL converts by another
//     route (`true::int4`, `5::varchar`; but `1.5::int8`, a numeric cast to an integer type, is
//     rounded half away from zero here, as numeric_int8 does: numericCast), a conversion or length
//     inside another (`'5'::int2::int8`), and array casts other than to the column's own array
//     type or, for a text or varchar column, to text[] or varchar[] (`= ANY($1::varchar[])`).
//   - The equality term lives at bytes 24..39 of the envelope; TermExpr is the one canonical SQL
//     expression for it (substring(col from 24 for 16)), matching expression indexes exactly, so
//     ON CONFLICT (email) becomes ON CONFLICT ((substring(email from 24 for 16))).
//   - Order and match searches (docs/search.md §4; ord.go, ordcmp.go, between.go, ordsort.go,
//     match.go, matchctx.go). OrdExpr(ref, eq) and MatchExpr(ref, eq) are the canonical order-term
//     and match-token expressions (search.md §1), unqualified like TermExpr. They are used only
//     for columns with Ord && OrdReady (Match && MatchReady); a column with Ord (Match) whose terms
//     are not ready is refused with 0A000 "… the order (match) terms of c are incomplete; run
//     proxy reindex"; without Ord (Match) the old refusals stay. Order uses on a text/varchar
//     column need Column.ByteOrder or `COLLATE "C"` written on the column (which the rewrite
//     drops); otherwise 0A000 naming text_order; any other COLLATE, or one on a non-text column,
//     is refused.
//     Order: `c op x` (op <, <=, >, >=; x a constant or parameter, either side, with the casts and
//     typing of equality) becomes `(ord(c) op T AND ord(c) > substring(T from 1 for 17))` when c is
//     below x, `(… AND ord(c) < substring(T from 1 for 16) || decode('02', 'hex'))` when above:
//     T is written twice (two EditOrd edits of one literal, or $n twice; ParamOrd). The operands
//     must not be parenthesized (the comparison is wrapped), else 0A000. `c [NOT] BETWEEN
//     [SYMMETRIC] x AND y` puts terms in place; NOT BETWEEN is wrapped as
//     `((ord(c) NOT BETWEEN Tx AND Ty) AND ord(c) > low(P) AND ord(c) < high(P))`, P the first
//     constant bound, else coalesce($x, $y) (a NULL upper bound is refused). Two ord columns of
//     one domain compare their terms. ORDER BY c (queries, windows, aggregate ORDER BY) becomes
//     ORDER BY ord(c), keeping ASC/DESC/NULLS/USING; an output position or output name that is a
//     bare column becomes ord(<the select list's reference>), for an output of `*` ord("name") when
//     that name is the column in exactly one FROM item of the level; otherwise refused. min(c) /
//     max(c) as a plain select-list item (no DISTINCT, FILTER, OVER, ORDER BY) becomes
//     `(array_agg(c ORDER BY ord(c) [DESC]) FILTER (WHERE c IS NOT NULL))[1]`, an Output of c.
//     Anything else (`c + 1 < 5`, greatest, lower, PARTITION BY, min elsewhere) stays refused.
//     Match: `c [NOT] LIKE|ILIKE p [ESCAPE 'x']` (also written ~~, !~~, ~~*, !~~*) on a text or
//     varchar column, p a constant or parameter: LIKE/ILIKE become `(match(c) @> P)`, the NOT forms
//     `(c IS NOT NULL AND P IS NOT NULL)`, P an EditMatch (Edit.Not, Edit.Escape, Edit.NoEscape
//     say how to make its tokens) or `$n::text[]` (ParamMatch; a parameter serves one LIKE only).
//     Only where pgseal's decision after decryption is the last step: a top-level AND conjunct of
//     the WHERE of a top-level SELECT without set operations, LIMIT/OFFSET/FETCH, GROUP BY,
//     HAVING, DISTINCT, WINDOW or window functions, built-in aggregates (a user-defined one fails
//     in PostgreSQL: the hidden output is ungrouped), FOR UPDATE/SHARE, INTO; elsewhere (OR, NOT,
//     subqueries, CTEs, INSERT/UPDATE/DELETE/MERGE, DECLARE, COPY, EXPLAIN ANALYZE) 0A000 naming
//     the construct. Each distinct column reference becomes one hidden output appended to the
//     select list (`, ref`) unless a select-list item is the same reference as written (the
//     filter reads that one), Statement.Hidden counts them, one Filter per condition names its
//     position; Outputs list only the visible columns. Plain EXPLAIN of such a SELECT gets the
//     same condition rewrite without hidden outputs or Filters (it returns a plan, not rows).
//     A NULL pattern needs no rewrite. Filters carry the pattern: such plans set valueDep.
//   - Prefilter: a text with no encrypted or refused relation name, none of Schema.ParseWords,
//     no U& identifier and none of the words
//     set, discard, execute, prepare, deallocate, function, procedure, trigger, rule, policy,
//     index, statistics, view (case-insensitive substrings; set covers reset and set_config) and
//     no word "do" standing alone (a DO statement's keyword is always its own token) cannot
//     matter (with Schema.Catalog set, also none of pg_attribute, information_schema); it is
//     not parsed (a parse costs ~15 µs; the scan ~2 ns per byte, one bit test
//     per byte pair). Such plans have Statements == nil. When unsure, we parse.
//   - Whether a statement "mentions" an encrypted table is decided by a generic reflective walk
//     over every node (so unknown node types cannot hide a table); only those statements get the
//     precise walk, in which unknown node types are refused.
//   - Coverage (coverage.go): after the precise walk of a statement that mentions an encrypted
//     table, every column reference and every INSERT/UPDATE/DELETE/MERGE in it (listed by the
//     walk that decides "mentions", which reaches every node) must have been examined by the
//     precise walk; anything it skipped is refused (0A000). A field the precise walk forgets
//     thus fails closed instead of passing a literal. Aggregate FILTER,
//     aggregate ORDER BY, OVER and WINDOW definitions and HAVING are walked like any expression:
//     `count(email) FILTER (WHERE email = 'x')` compares terms; PARTITION BY / ORDER BY of an
//     encrypted column (in OVER or WINDOW) is refused.
//   - The target table of INSERT/UPDATE/DELETE is never a WITH query of the same name (as in
//     PostgreSQL), so `WITH users AS (…) UPDATE users … WHERE email = 'x'` rewrites email.
//     SELECT INTO a table with encrypted columns is refused.
//   - Relation names do not follow a search path (pgseal cannot know the session's: SET,
//     ALTER ROLE … SET, startup options, "$user" and functions change it unseen). A qualified
//     name resolves exactly. An unqualified name N resolves to the one table with encrypted
//     columns named N, in whatever schema; when several such tables (or refused relations) are
//     named N, the statement is refused with 0A000 "relation name N is ambiguous among encrypted
//     tables; schema-qualify it". So a same-named plain relation elsewhere on the session's path
//     (another schema, a temporary table) is treated as the encrypted one: its values are
//     encrypted (ciphertext or a type error at worst, never plaintext). Plain tables the Schema
//     lists only to expand `*` are found by a name no encrypted relation has.
//   - Schema.Refused names relations no statement may name, read or write: views and
//     materialized views over an encrypted table (they would hand ciphertext to clients as values
//     and let plaintext be written through them), relations with rewrite rules involving one,
//     children of several encrypted tables (the catalog finds them). The check runs on every
//     RangeVar of every statement (collect's generic walk), so no node type hides one; the
//     prefilter knows their names. Inheritance children and partitions are ordinary Tables
//     sharing their root's *Column.
//   - Name resolution is fail-closed: a bare name that could be an encrypted column or a column of
//     a relation whose shape is unknown resolves to the encrypted column (a wrong result at
//     worst, never plaintext sent for an encrypted column). Whole-row references to relations
//     with encrypted columns are refused.
//   - `*` expands with Table.Columns. After `*` of a relation of unknown shape, positions are
//     unknown: an encrypted output after it is refused. USING/NATURAL joins of encrypted tables
//     change `*` and compare with plain `=`: refused when they involve encrypted columns.
//   - UNION ALL branches must carry the same column at a position (a NULL constant fits any);
//     UNION, INTERSECT, EXCEPT, DISTINCT compare ciphertexts and are refused on encrypted outputs.
//   - Ciphertext may be copied only into the same column (INSERT … SELECT email FROM users into
//     users, EXCLUDED.email): associated data binds it to its column.
//   - A parameter used for two purposes (two columns, or term and value) is refused.
//   - set_config needs a constant name; its value may be a constant, $N (ValueParam) or an
//     expression (Dynamic: the wire refuses it for settings it tracks); is_local a constant or $N.
//   - Utility statements naming an encrypted table pass only when they carry no values
//     (TRUNCATE, LOCK, VACUUM, GRANT, DROP, COMMENT) or, for CREATE INDEX (ddl.go), when every
//     key is a column name or the canonical TermExpr of an encrypted column and every other
//     expression and the WHERE predicate mention only plaintext columns. DDL expressions persist
//     and run for every keyset, so they never get term rewrites: ALTER TABLE (CHECK, DEFAULT,
//     generated columns, USING), CREATE POLICY/RULE/TRIGGER/STATISTICS/VIEW/MATERIALIZED VIEW,
//     CREATE TABLE … AS and CREATE TABLE … (LIKE/INHERITS/PARTITION OF) naming such a table are
//     refused with 0A000 ("run it directly against PostgreSQL"). DDL naming no such table is
//     byte-identical, whatever literals it holds.
//   - DO blocks and CREATE [OR REPLACE] FUNCTION/PROCEDURE bodies (any language, BEGIN ATOMIC
//     and RETURN bodies too; trigger functions are functions) are not analysed. When the schema
//     has encrypted columns, a body is refused (0A000, naming the construct and the matched
//     word, never a value) if its language is not sql or plpgsql, or its text contains, ignoring
//     ASCII case, the name of a table with encrypted columns or of an encrypted column, execute,
//     set_config, reset, u&, a Schema.TrackedSettings name or one of pgseal.keyset,
//     standard_conforming_strings, client_encoding, search_path. Otherwise it passes untouched.
//     Reason: a body runs later, out of pgseal's sight, and can store plaintext or change a
//     tracked setting. It is a text test: plpgsql runs dynamic SQL only through EXECUTE, so a
//     name assembled from pieces is refused by that word; what a text test cannot see (a body
//     calling a function created directly on the server, dblink) is stopped server-side by the
//     envelope CHECK constraint every encrypted column carries.
//   - COMMENT ON COLUMN users.email IS '…' passes: a comment is catalog metadata written by the
//     client in the clear on purpose, never a value of the column.
//   - Column.MarshalJSON writes the column ID, keeping plans small in goldens.
//   - Shapes (shape.go): simple-protocol texts differ only in their literals. ShapeOf cuts out
//     the literals pg_query lexes the same whatever their content ('…' without backslashes,
//     unsigned decimal numbers) and gives up on anything else; NewTemplate turns the plan of one
//     text into a Template that makes the plan of any text of the same shape without parsing,
//     only for plain SELECT/INSERT/UPDATE/DELETE whose analysis used no constant's value except as
//     an edit's Literal. Code that reads a constant's value for a decision must set
//     Plan.valueDep (as ORDER BY 2 does). TestTemplateAgreesWithAnalyze checks every golden.
//     DO and function bodies, DDL, PREPARE/EXECUTE/DEALLOCATE never get a template (their
//     bodies and arguments are literals to the shape lexer; a template would skip the rules).
package rewrite
