package migrate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/column"
	"github.com/pgseal/pgseal/internal/sqlstate"
)

// ProtectReport says what Protect did to one column.
type ProtectReport struct {
	Column string `json:"column"` // schema.table.column
	Before string `json:"before"` // the CHECK's state before: one of the Check* constants
	// Action is "none" (already current and validated), "added", "replaced" (an outdated
	// definition) or "validated" (a current NOT VALID one left by an interrupted run); the
	// command reports columns it did not touch as "skipped".
	Action     string   `json:"action"`
	Statements []string `json:"statements,omitempty"`
}

// Protect's refusals, for branching with errors.Is.
var (
	// ErrViolations: existing values are not envelopes, so the CHECK cannot be validated.
	ErrViolations = errors.New("not pgseal envelopes")
	// ErrNotEncrypted: the column is not bytea (not encrypted yet) or not in this database.
	ErrNotEncrypted = errors.New("not an encrypted bytea column")
)

// protectLockTimeout bounds the wait for the brief ACCESS EXCLUSIVE lock that ADD CONSTRAINT …
// NOT VALID takes (it scans nothing); behind a long transaction the command fails instead of
// queueing every other query of the table behind it.
const protectLockTimeout = 5 * time.Second

// Protect puts the current envelope CHECK on an encrypted (bytea) column, idempotently. It first
// counts the values the CHECK would refuse and changes nothing if there are any (the error says
// how many, never which values). It then adds the constraint NOT VALID (a short exclusive lock,
// no scan; new writes are checked from then on), and VALIDATE CONSTRAINT checks the existing rows
// under SHARE UPDATE EXCLUSIVE, which lets reads and writes go on. An outdated pgseal CHECK is
// replaced in the same transaction as the ADD, so the column is never without one.
func Protect(ctx context.Context, conn *pgx.Conn, col Column) (*ProtectReport, error) {
	rep := &ProtectReport{Column: col.ID, Action: "none"}
	g, err := inspectColumn(ctx, conn, col)
	if errors.Is(err, errMissing) {
		return rep, fmt.Errorf("protect %s: %w, so %w", col.ID, err, ErrNotEncrypted)
	}
	if err != nil {
		return rep, fmt.Errorf("protect %s: %w", col.ID, err)
	}
	if g.c.typName != "bytea" {
		return rep, fmt.Errorf("protect %s: column is %s, %w: run proxy encrypt first", col.ID, g.c.fullType, ErrNotEncrypted)
	}
	if _, busy := g.shadowCol(); busy {
		return rep, fmt.Errorf("protect %s: a migration of this column is in progress (shadow column %s): finish it first", col.ID, g.shadowName())
	}
	if rep.Before, err = checkState(ctx, conn, g); err != nil {
		return rep, err
	}
	if rep.Before == CheckOK {
		return rep, nil
	}
	n, err := countViolations(ctx, conn, g)
	if err != nil {
		return rep, err
	}
	if n > 0 {
		return rep, fmt.Errorf("protect %s: %d rows hold values that are %w (plaintext or malformed); nothing changed: encrypt or fix them, then run protect again", col.ID, n, ErrViolations)
	}
	if rep.Before != CheckNotValidated {
		if err := addCheckNotValid(ctx, conn, g, rep); err != nil {
			return rep, err
		}
	}
	return rep, validateCheck(ctx, conn, g, rep)
}

// addCheckNotValid adds (or replaces) the CHECK without scanning the table, in one transaction.
func addCheckNotValid(ctx context.Context, conn *pgx.Conn, g *target, rep *ProtectReport) error {
	tbl := g.t.ident()
	stmts := []string{fmt.Sprintf("SET LOCAL lock_timeout = %d", protectLockTimeout.Milliseconds())}
	rep.Action = "added"
	if rep.Before == CheckOutdated {
		stmts = append(stmts, "ALTER TABLE "+tbl+" DROP CONSTRAINT "+q(g.checkName()))
		rep.Action = "replaced"
	}
	stmts = append(stmts,
		"ALTER TABLE "+tbl+" ADD CONSTRAINT "+q(g.checkName())+" "+column.CheckClause(q(g.c.name))+" NOT VALID",
		commentCheckSQL(g))
	err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", firstWords(s), err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("protect %s: %w", g.id(), err)
	}
	rep.Statements = append(rep.Statements, stmts[1:]...)
	return nil
}

// validateCheck checks the existing rows. A row written between the count and the ADD can make
// it fail; the NOT VALID constraint then stays (it still refuses new plaintext) and the error
// gives the new count.
func validateCheck(ctx context.Context, conn *pgx.Conn, g *target, rep *ProtectReport) error {
	if rep.Action == "none" {
		rep.Action = "validated"
	}
	s := "ALTER TABLE " + g.t.ident() + " VALIDATE CONSTRAINT " + q(g.checkName())
	if _, err := conn.Exec(ctx, s); err != nil {
		if isCode(err, sqlstate.CheckViolation) {
			n, cerr := countViolations(ctx, conn, g)
			if cerr != nil {
				return cerr
			}
			return fmt.Errorf("protect %s: %d rows written meanwhile hold values that are %w; the CHECK refuses new ones but stays NOT VALID until they are fixed and protect runs again", g.id(), n, ErrViolations)
		}
		return fmt.Errorf("protect %s: validate: %w", g.id(), err)
	}
	rep.Statements = append(rep.Statements, s)
	return nil
}
