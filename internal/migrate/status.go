package migrate

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/crypto"
	"github.com/pgseal/pgseal/internal/keyring"
)

// Column states reported by Status.
const (
	StateEncrypted  = "encrypted"  // bytea with pgseal envelopes
	StatePlaintext  = "plaintext"  // not bytea yet: the proxy relays it as plaintext (pending)
	StateEncrypting = "encrypting" // an encrypt is in progress (shadow column present)
	StateDecrypting = "decrypting" // a decrypt is in progress
	StateMissing    = "missing"    // the table or column does not exist in this database
)

// KeysetCount is how many values of a column one keyset generation holds under one suite.
type KeysetCount struct {
	Keyset     string `json:"keyset"` // name, or the UUID when this keyring does not know it
	KeysetID   string `json:"keyset_id"`
	Generation uint32 `json:"generation"`
	Suite      string `json:"suite"` // aes-256-gcm, chacha20-poly1305, or "suite N"
	Rows       int64  `json:"rows"`
}

// ColumnStatus describes one configured column.
type ColumnStatus struct {
	Column    string        `json:"column"` // schema.table.column
	State     string        `json:"state"`
	Type      string        `json:"type,omitempty"` // the column's PostgreSQL type
	Rows      int64         `json:"rows"`
	Nulls     int64         `json:"nulls"`
	Plaintext int64         `json:"plaintext"` // non-NULL values not (yet) encrypted
	Encrypted []KeysetCount `json:"encrypted"`
	Migration string        `json:"migration,omitempty"` // e.g. "encrypt: backfill, 120000 rows done"
	// Check is the state of the envelope CHECK (a Check* constant) when the column is bytea.
	Check string `json:"check,omitempty"`
	// Search is the state of the column's ord and match searches (encrypted columns with them):
	// values lacking the terms and the index (proxy reindex completes both).
	Search  []SearchStatus `json:"search,omitempty"`
	Problem string         `json:"problem,omitempty"`
}

// Status reports, for every column, its rows, NULLs, encrypted values per keyset, generation and suite
// (from the envelope headers, in SQL, without decrypting) and plaintext values. snap may be nil
// (keysets are then shown by id only).
func Status(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, cols []Column) ([]ColumnStatus, error) {
	var out []ColumnStatus
	for _, col := range cols {
		st, err := columnStatus(ctx, conn, snap, col)
		if err != nil {
			return out, fmt.Errorf("status %s: %w", col.ID, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func columnStatus(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, col Column) (ColumnStatus, error) {
	st := ColumnStatus{Column: col.ID, Encrypted: []KeysetCount{}}
	g, err := inspectColumn(ctx, conn, col)
	if err != nil {
		st.State, st.Problem = StateMissing, err.Error()
		return st, nil
	}
	st.Type = g.c.fullType
	if g.c.typName == "bytea" {
		if st.Check, err = checkState(ctx, conn, g); err != nil {
			return st, err
		}
	}
	c, tbl := q(g.c.name), g.t.ident()
	shadow, inProgress := g.shadowCol()
	env := c // the column holding envelopes
	switch {
	case g.c.typName == "bytea" && (g.hasCheck || col.Type.String() != "bytea"):
		st.State = StateEncrypted
		if inProgress {
			st.State = StateDecrypting
		}
	case inProgress && shadow.typName == "bytea":
		st.State, env = StateEncrypting, q(shadow.name)
	default:
		st.State, env = StatePlaintext, ""
	}
	q1 := "SELECT count(*), count(*) FILTER (WHERE " + c + " IS NULL)"
	if st.State == StateEncrypting {
		q1 += ", count(*) FILTER (WHERE " + c + " IS NOT NULL AND " + env + " IS NULL)"
	} else if st.State == StatePlaintext {
		q1 += ", count(" + c + ")"
	} else {
		q1 += ", 0::bigint"
	}
	if err := conn.QueryRow(ctx, q1+" FROM "+tbl).Scan(&st.Rows, &st.Nulls, &st.Plaintext); err != nil {
		return st, err
	}
	if env != "" {
		if st.Encrypted, err = headerCounts(ctx, conn, snap, tbl, env); err != nil {
			return st, err
		}
	}
	if st.State == StateEncrypted {
		if st.Search, err = searchStatus(ctx, conn, g, col); err != nil {
			return st, err
		}
	}
	for _, op := range []string{opEncrypt, opDecrypt, opReencrypt, opReindex} {
		rec, err := loadRecord(ctx, conn, g.t.qualified(), g.c.name, op)
		if err != nil {
			return st, err
		}
		if rec != nil && rec.phase != phaseDone {
			st.Migration = fmt.Sprintf("%s: %s, %d rows done", op, rec.phase, rec.done)
		}
	}
	return st, nil
}

// headerCounts groups the envelopes of column env by keyset, generation and suite.
func headerCounts(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, tbl, env string) ([]KeysetCount, error) {
	rows, err := conn.Query(ctx, "SELECT substring("+env+" from 4 for 16), substring("+env+" from 20 for 4), substring("+env+
		" from 2 for 1), count(*) FROM "+tbl+" WHERE "+env+" IS NOT NULL GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
	if err != nil {
		return nil, err
	}
	out := []KeysetCount{}
	for rows.Next() {
		var id, gen, suite []byte
		var n int64
		if err := rows.Scan(&id, &gen, &suite, &n); err != nil {
			return nil, err
		}
		kc := KeysetCount{Rows: n}
		if len(id) == 16 && len(gen) == 4 && len(suite) == 1 {
			kc.Suite = crypto.SuiteName(suite[0])
			var kid crypto.KeysetID
			copy(kid[:], id)
			kc.KeysetID, kc.Keyset, kc.Generation = kid.String(), kid.String(), binary.BigEndian.Uint32(gen)
			if snap != nil {
				if ks, ok := snap.KeysetByID(kid); ok {
					kc.Keyset = ks.Name
				}
			}
		} else {
			kc.Keyset = "malformed"
		}
		out = append(out, kc)
	}
	return out, rows.Err()
}

// CountGeneration counts, from the envelope headers in SQL, the values of every column (and of
// the shadow column of an encrypt in progress) that still use generation gen of keyset ks.
// Columns whose table is missing or that are not encrypted hold none. keyset retire-generation
// refuses while the total is not zero.
func CountGeneration(ctx context.Context, conn *pgx.Conn, cols []Column, ks crypto.KeysetID, gen uint32) (map[string]int64, error) {
	out := map[string]int64{}
	g4 := binary.BigEndian.AppendUint32(nil, gen)
	for _, col := range cols {
		g, err := inspectColumn(ctx, conn, col)
		if errors.Is(err, errMissing) {
			continue // not in this database: it holds no values
		}
		if err != nil {
			return out, fmt.Errorf("count generation %d in %s: %w", gen, col.ID, err)
		}
		var envCols []string
		if g.c.typName == "bytea" {
			envCols = append(envCols, g.c.name)
		}
		if sh, ok := g.shadowCol(); ok && sh.typName == "bytea" {
			envCols = append(envCols, sh.name)
		}
		for _, ec := range envCols {
			var n int64
			c := q(ec)
			err := conn.QueryRow(ctx, "SELECT count(*) FROM "+g.t.ident()+" WHERE substring("+c+" from 4 for 16) = $1 AND substring("+
				c+" from 20 for 4) = $2", ks[:], g4).Scan(&n)
			if err != nil {
				return out, fmt.Errorf("count generation %d in %s: %w", gen, col.ID, err)
			}
			out[col.ID] += n
		}
	}
	return out, nil
}

// CheckRetire refuses (a one-line error) while any value of any column still uses generation
// gen of keyset ks; keyset retire-generation calls it before changing the keyring.
func CheckRetire(ctx context.Context, conn *pgx.Conn, cols []Column, ks crypto.KeysetID, gen uint32) error {
	counts, err := CountGeneration(ctx, conn, cols, ks, gen)
	if err != nil {
		return err
	}
	var total int64
	var where []string
	for _, c := range cols {
		if n := counts[c.ID]; n > 0 {
			total += n
			where = append(where, fmt.Sprintf("%s: %d", c.ID, n))
		}
	}
	if total > 0 {
		return fmt.Errorf("%d values still use generation %d (%s): run proxy reencrypt first", total, gen, strings.Join(where, ", "))
	}
	return nil
}
