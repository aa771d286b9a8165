package migrate

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/value"
)

// DecryptOptions configure Decrypt.
type DecryptOptions struct {
	Options
	// Type is the plaintext column type to restore (e.g. "varchar(20)"); default: the type
	// recorded when the column was encrypted, else the configured type.
	Type string
}

// Decrypt turns an encrypted column back into a plaintext column of its original type, online
// and resumable like Encrypt: shadow column of the plaintext type, stale-marking trigger, backfill
// decrypting by primary key, catch-up, cut-over. Indexes recorded by Encrypt are restored as they
// were (a term index becomes the plain UNIQUE index or constraint again); the envelope CHECK is
// dropped.
func Decrypt(ctx context.Context, conn *pgx.Conn, snap *keyring.Snapshot, col Column, o DecryptOptions) (*Report, error) {
	o.defaults()
	start := time.Now()
	g, err := loadTarget(ctx, conn, col, "")
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", col.ID, err)
	}
	rep := &Report{Table: g.t.qualified(), Column: g.c.name, Operation: opDecrypt, DryRun: o.DryRun}
	if g.c.typName != "bytea" || (col.Type == value.Bytea && !g.hasCheck) {
		rep.AlreadyDone = true // plaintext already
		return rep, nil
	}
	enc, err := loadRecord(ctx, conn, g.t.qualified(), g.c.name, opEncrypt)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", col.ID, err)
	}
	typ, err := restoreType(ctx, conn, col, o.Type, enc)
	if err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", col.ID, err)
	}
	if err := checkAlterable(ctx, conn, g); err != nil {
		return nil, fmt.Errorf("decrypt %s: %w", col.ID, err)
	}
	sess := &value.Session{}
	var buf []byte
	j := &job{t: g.t, table: g.t.ident(), pk: q(g.pk.name), pkType: g.pk.fullType, srcExpr: "t." + q(g.c.name),
		sendExpr: "t." + q(g.c.name), shadow: q(g.shadowName()), setExpr: "v.val::" + typ, valArray: "text[]",
		textOut: true, batch: o.Batch}
	j.convert = func(r *srcRow) ([]byte, error) {
		plain, _, _, err := col.Open(buf[:0], snap, r.src, nil)
		if err != nil {
			return nil, err
		}
		buf = plain
		return value.Decode(nil, col.Type, plain, value.FormatText, sess)
	}
	params, _ := json.Marshal(map[string]string{"type": typ})
	var orig []indexInfo
	if enc != nil {
		orig = enc.indexes
	}
	m := &migration{conn: conn, g: g, job: j, o: o.Options, rep: rep, op: opDecrypt, params: params, shadowType: typ,
		cut: func(m *migration) ([]string, []string, []string, []indexInfo) { return decryptCutover(m, typ, orig) }}
	if err := m.run(ctx, start); err != nil {
		return rep, fmt.Errorf("decrypt %s: %w", col.ID, err)
	}
	return rep, nil
}

// restoreType picks the plaintext type: the flag, the type recorded by Encrypt, or the
// configured one; it must be a type PostgreSQL knows and that matches the configured value type.
func restoreType(ctx context.Context, conn *pgx.Conn, col Column, flag string, enc *record) (string, error) {
	typ := col.Type.String()
	switch {
	case flag != "":
		typ = flag
	case enc != nil && enc.origType != nil:
		typ = *enc.origType
	}
	// The name is checked by PostgreSQL's type-name parser (regtype) before it goes into SQL.
	var name string
	err := conn.QueryRow(ctx, `SELECT t.typname FROM pg_catalog.pg_type t WHERE t.oid = $1::regtype`, typ).Scan(&name)
	if err != nil || strings.ContainsAny(typ, ";'\"") {
		return "", fmt.Errorf("type %q is not a PostgreSQL type", typ)
	}
	vt, err := value.ParseType(name)
	if err != nil || (vt != col.Type && !(isText(vt) && isText(col.Type))) {
		return "", fmt.Errorf("type %s does not hold values of the configured type %s", typ, col.Type)
	}
	return typ, nil
}

// decryptCutover: drop the triggers, the envelope CHECK and the term indexes, swap the type back
// USING the shadow, drop the shadow and restore the indexes Encrypt recorded. A term index with
// no record (the column was created encrypted) becomes the same index on the plain column.
func decryptCutover(m *migration, typ string, orig []indexInfo) (stmts, converted, dropped []string, keep []indexInfo) {
	g, tbl, col := m.g, m.g.t.ident(), q(m.g.c.name)
	stmts = []string{
		"DROP TRIGGER IF EXISTS " + q(g.triggerIns()) + " ON " + tbl,
		"DROP TRIGGER IF EXISTS " + q(g.triggerUpd()) + " ON " + tbl,
		"ALTER TABLE " + tbl + " DROP CONSTRAINT IF EXISTS " + q(g.checkName()),
	}
	recorded := map[string]indexInfo{}
	for _, ix := range orig {
		recorded[ix.Name] = ix
	}
	var create []string
	for _, ix := range g.indexes {
		stmts = append(stmts, dropIndexSQL(g.t, ix))
		if _, ok := recorded[ix.Name]; ok {
			continue
		}
		if plain, ok := plainFromTermIndex(ix, g.c.name); ok {
			create = append(create, plain)
			converted = append(converted, ix.Name)
		} else {
			dropped = append(dropped, ix.Name)
		}
	}
	for _, ix := range orig {
		if ix.Constraint != "" {
			create = append(create, "ALTER TABLE "+tbl+" ADD CONSTRAINT "+q(ix.Constraint)+" "+ix.ConDef)
		} else {
			create = append(create, ix.Def)
		}
		converted = append(converted, ix.Name)
	}
	stmts = append(stmts,
		"ALTER TABLE "+tbl+" ALTER COLUMN "+col+" TYPE "+typ+" USING "+q(g.shadowName()),
		"ALTER TABLE "+tbl+" DROP COLUMN "+q(g.shadowName()))
	stmts = append(stmts, create...)
	stmts = append(stmts, "DROP FUNCTION IF EXISTS "+g.staleFunc()+"()")
	return stmts, converted, dropped, nil
}

// plainFromTermIndex turns a term index definition back into one on the plain column.
func plainFromTermIndex(ix indexInfo, col string) (string, bool) {
	term := "(SUBSTRING(" + q(col) + " FROM 24 FOR 16))"
	alt := "(SUBSTRING(" + col + " FROM 24 FOR 16))"
	switch {
	case strings.Contains(ix.Def, term):
		return strings.Replace(ix.Def, term, q(col), 1), true
	case strings.Contains(ix.Def, alt):
		return strings.Replace(ix.Def, alt, q(col), 1), true
	}
	return "", false
}
