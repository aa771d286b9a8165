// Package value converts column values between PostgreSQL's wire formats and the canonical
// plaintext that pgseal encrypts, and derives the canonical form used for equality terms.
//
// A plaintext is one tag byte (the Type, a stable number stored inside every ciphertext) followed
// by the value in PostgreSQL's binary send format, normalised the way PostgreSQL normalises it
// when storing: numeric stripped of padding zeros and of digits hidden by its dscale, bool 0/1,
// jsonb as jsonb_out prints it, timestamptz as UTC microseconds. Encode accepts a client's text
// or binary value; Decode produces exactly the bytes PostgreSQL 15 would send for a plaintext
// column of that type, in text or binary, under the session's settings (Session, kept current
// from ParameterStatus). The package knows types and bytes only: no crypto, SQL or I/O.
//
// Invariants:
//   - Decode(Encode(x)) equals what PostgreSQL sends for x::type, in both formats; tests check this
//     against a real server for a corpus per type and several session settings.
//   - Encode(Decode(p)) == p for every plaintext p Encode produced (text and binary).
//   - EqualityForm(a) == EqualityForm(b) exactly when PostgreSQL's a = b is true (deterministic
//     collation for text: bytewise).
//   - Errors are *Error with a SQLSTATE and never contain the value. Decode rejects a plaintext
//     whose tag or body does not fit the type (XX001) instead of emitting it.
//
// Decisions:
//   - Text output is written here, not taken from pgtype, whose text forms differ from the
//     server's (floats, numeric, timestamptz, bytea).
//   - Only DateStyle ISO output is produced. With another DateStyle (Postgres, SQL, German),
//     Decode of date/timestamp/timestamptz in text format fails with 0A000 (fail closed);
//     binary output and all input still work. The DateStyle field order (MDY/DMY/YMD) is honoured
//     on input.
//   - A session TimeZone that is neither an IANA name nor a POSIX fixed offset ("<+05>-05")
//     makes timestamptz text conversion fail with 0A000.
//   - jsonb supports equality: numbers compare as numerics (1.0 = 1), keys are unordered and the
//     last duplicate wins. json has no = operator in PostgreSQL, so no equality form.
//   - float NaN payloads and the sign of zero are kept in the plaintext (PostgreSQL keeps them);
//     only EqualityForm merges them.
//   - 'now', 'today', 'tomorrow', 'yesterday' use the conversion time, not the transaction start.
//   - Convert/EncodeAs follow the casts a statement puts around a value for a column of another
//     type of the same family (`$1::varchar` for text, `'5'::int8` for int4): text ↔ varchar,
//     integer ↔ integer, and date/timestamp/timestamptz among themselves in the session TimeZone
//     (Convertible); nothing that rounds.
//
// What it leaves out: date/time input forms beyond ISO-like numeric dates (no month names,
// Julian days, ISO week dates, or zone abbreviations that are not zoneinfo names such as "PST")
// and column typmods: varchar(n) length limits, numeric(p,s) rounding and timestamp(p) precision
// are not applied by Encode; the caller applies them: TruncateChars an explicit varchar(n) cast,
// FitChars the assignment to a varchar(n) column (numeric and timestamp typmods are not applied).
package value
