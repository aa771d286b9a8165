package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/value"
)

// EncryptOptions configure Encrypt: exactly one of Keyset and TenantColumn.
type EncryptOptions struct {
	Options
	Keyset       string // every row under this keyset (name or UUID)
	TenantColumn string // each row under the keyset its tenant column names
}

// encryptParams is what a run is started with; a resumed run must use the same.
type encryptParams struct {
	Keyset       string `json:"keyset,omitempty"`
	TenantColumn string `json:"tenant_column,omitempty"`
	Type         string `json:"type"`
	Eq           bool   `json:"eq"`
	// Ord and Match: a run started without a search must not be resumed with it (the values
	// sealed so far lack its terms); omitted when false, so records of older runs still match.
	Ord   bool `json:"ord,omitempty"`
	Match bool `json:"match,omitempty"`
}

// Encrypt turns the plaintext column col into a pgseal bytea column of the same name, online:
// validate, set up (shadow column, stale-marking trigger, progress row), backfill by primary key,
// catch up with rows changed meanwhile, and cut over in one short transaction. It is resumable:
// a run that was killed continues where its last committed batch stopped. Every validation
// error comes before any change.
func Encrypt(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, col Column, o EncryptOptions) (*Report, error) {
	o.defaults()
	start := time.Now()
	if (o.Keyset == "") == (o.TenantColumn == "") {
		return nil, fmt.Errorf("encrypt %s: give exactly one of --keyset and --tenant-column", col.ID)
	}
	g, job, err := prepareEncrypt(ctx, conn, snap, col, o)
	if err != nil {
		return nil, fmt.Errorf("encrypt %s: %w", col.ID, err)
	}
	rep := &Report{Table: g.t.qualified(), Column: g.c.name, Operation: opEncrypt, DryRun: o.DryRun}
	if g.c.typName == "bytea" {
		rep.AlreadyDone = true
		return rep, nil
	}
	params, _ := json.Marshal(encryptParams{Keyset: o.Keyset, TenantColumn: o.TenantColumn, Type: col.Type.String(), Eq: col.Eq,
		Ord: col.Ord, Match: col.Match})
	m := &migration{conn: conn, g: g, job: job, o: o.Options, rep: rep, op: opEncrypt, params: params,
		shadowType: "bytea", cut: encryptCutover}
	if err := m.run(ctx, start); err != nil {
		return rep, fmt.Errorf("encrypt %s: %w", col.ID, err)
	}
	return rep, nil
}

// prepareEncrypt validates everything and builds the batch job; it changes nothing.
func prepareEncrypt(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, col Column, o EncryptOptions) (*target, *job, error) {
	g, err := loadTarget(ctx, conn, col, o.TenantColumn)
	if err != nil {
		return nil, nil, err
	}
	if g.c.typName == "bytea" && g.hasCheck {
		return g, nil, nil // already encrypted
	}
	pgT, err := pgValueType(g.c)
	if err != nil {
		return nil, nil, err
	}
	if pgT != col.Type && !(isText(pgT) && isText(col.Type)) {
		return nil, nil, fmt.Errorf("column %s is %s but its type is %s: fix type in proxy.toml or pass --type", g.c.name, g.c.fullType, col.Type)
	}
	if err := checkAlterable(ctx, conn, g); err != nil {
		return nil, nil, err
	}
	for _, ix := range g.indexes {
		switch {
		case ix.Unique && !col.Eq:
			return nil, nil, fmt.Errorf("unique index %s needs search = [\"eq\"] on the column in proxy.toml: it becomes a unique index on the equality term", ix.Name)
		case ix.Unique && !convertibleIndex(ix):
			return nil, nil, fmt.Errorf("unique index %s has an expression, a predicate or INCLUDE columns: pgseal cannot rebuild it on the equality term", ix.Name)
		}
	}
	choose, err := keyChooser(ctx, conn, snap, g, o)
	if err != nil {
		return nil, nil, err
	}
	send, err := sendFunc(ctx, conn, col.Type)
	if err != nil {
		return nil, nil, err
	}
	src := "t." + q(g.c.name)
	if g.c.typName != col.Type.String() {
		src = "(" + src + ")::" + col.Type.String()
	}
	j := &job{t: g.t, table: g.t.ident(), pk: q(g.pk.name), pkType: g.pk.fullType, srcExpr: src,
		sendExpr: send + "(" + src + ")", shadow: q(g.shadowName()), setExpr: "v.val", valArray: "bytea[]", batch: o.Batch}
	if g.tenant != nil {
		j.tenant = q(g.tenant.name)
	}
	var buf []byte
	j.convert = func(r *srcRow) ([]byte, error) {
		ks, err := choose(r)
		if err != nil {
			return nil, err
		}
		if buf, err = value.Encode(buf[:0], col.Type, value.FormatBinary, r.src, nil); err != nil {
			return nil, err
		}
		env, err := col.Seal(nil, ks, buf)
		if err == nil && !hasTerms(env, searchMask(col)) {
			return nil, errNoTerms // the cut-over would build ord/match indexes over missing terms
		}
		return env, err
	}
	return g, j, nil
}

func isText(t value.Type) bool { return t == value.Text || t == value.Varchar }

// checkAlterable refuses columns whose type cannot be changed safely: defaults and generated
// expressions (they would write plaintext), foreign keys, CHECK constraints, views.
func checkAlterable(ctx context.Context, conn *pgx.Conn, g *target) error {
	if g.c.hasDefault {
		return fmt.Errorf("column %s has a default, which would be stored as plaintext: drop it first", g.c.name)
	}
	if g.c.generated {
		return fmt.Errorf("column %s is generated and cannot change type", g.c.name)
	}
	return blockers(ctx, conn, g.t, g.c.num, g.checkName())
}

// keyChooser returns the function that picks each row's keyset, after checking up front that
// every keyset the table needs exists and is usable.
func keyChooser(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, g *target, o EncryptOptions) (func(*srcRow) (*keyring.Keyset, error), error) {
	usable := func(name string) (*keyring.Keyset, error) {
		ks, ok := snap.Keyset(name)
		if !ok {
			return nil, fmt.Errorf("keyset %q does not exist", name)
		}
		if _, err := ks.PrimaryColumnKey(g.col.ID); err != nil {
			return nil, err
		}
		if g.col.Eq {
			if _, err := ks.TermKey(g.col.Domain); err != nil {
				return nil, err
			}
		}
		return ks, nil
	}
	if o.Keyset != "" {
		ks, err := usable(o.Keyset)
		if err != nil {
			return nil, err
		}
		return func(*srcRow) (*keyring.Keyset, error) { return ks, nil }, nil
	}
	rows, err := conn.Query(ctx, "SELECT DISTINCT "+q(g.tenant.name)+"::text FROM "+g.t.ident()+
		" WHERE "+q(g.c.name)+" IS NOT NULL ORDER BY 1 NULLS FIRST")
	if err != nil {
		return nil, fmt.Errorf("read tenants: %w", err)
	}
	tenants, err := pgx.CollectRows(rows, pgx.RowTo[*string])
	if err != nil {
		return nil, fmt.Errorf("read tenants: %w", err)
	}
	byTenant := map[string]*keyring.Keyset{}
	for _, tn := range tenants {
		if tn == nil {
			return nil, fmt.Errorf("some rows have a NULL %s: they have no keyset", g.tenant.name)
		}
		ks, err := usable(*tn)
		if err != nil {
			return nil, fmt.Errorf("tenant %q: %w", *tn, err)
		}
		byTenant[*tn] = ks
	}
	return func(r *srcRow) (*keyring.Keyset, error) {
		if r.tenant == nil {
			return nil, fmt.Errorf("NULL %s: no keyset", g.tenant.name)
		}
		if ks, ok := byTenant[*r.tenant]; ok {
			return ks, nil
		}
		ks, err := usable(*r.tenant) // a tenant that appeared during the run
		if err != nil {
			return nil, fmt.Errorf("tenant %q: %w", *r.tenant, err)
		}
		byTenant[*r.tenant] = ks
		return ks, nil
	}, nil
}

// sameParams compares recorded and requested options (JSON, as stored).
func sameParams(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}
