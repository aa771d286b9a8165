// The client-compatibility scenario (see ../doc.go) with node-postgres (npm "pg").
//
// Usage: node scenario.js
// pg reads PGHOST, PGPORT, PGUSER, PGDATABASE and PGSSLMODE itself. Parameterised queries use the
// extended protocol with unnamed statements and text parameters of unspecified type (OID 0), so
// pgseal must type the encrypted ones itself. Prints one transcript line per step.
'use strict';

const { Client } = require('pg');

const row = (r) => r.map((v) => (v === null ? 'NULL' : String(v))).join(' | ');
const ids = (rows) => rows.map((r) => String(r[0])).join(', ') || 'none';

async function main() {
  const client = process.env.PGSEAL_CLIENT;
  const base = Number(process.env.PGSEAL_BASE);
  const at = `.${client}@acme.example`;
  const [alice, bob, carol, alice2] = ['alice', 'bob', 'carol', 'alice2'].map((n) => n + at);
  const db = new Client();
  await db.connect();
  // rowMode 'array' gives rows as arrays in column order, like the other clients.
  const q = (text, values = []) => db.query({ text, values, rowMode: 'array' });
  const sqlstate = async (p) => p.then(() => 'no error', (e) => {
    if (!e.code) throw e;
    return e.code;
  });

  await q("SET app.tenant = 'acme'");
  console.log('tenant acme');
  let r = await q("INSERT INTO users (id, tenant, email, name) VALUES ($1, 'acme', $2, $3), ($4, 'acme', $5, $6), ($7, 'acme', $8, $9)",
    [base + 1, alice, 'Alice', base + 2, bob, 'Bob', base + 3, carol, 'Carol']);
  console.log('inserted', r.rowCount);
  r = await q("INSERT INTO users (id, tenant, email, name) VALUES ($1, 'acme', $2, $3)", [base + 4, null, 'Nobody']);
  console.log('inserted', r.rowCount);

  console.log('by id:', row((await q('SELECT id, tenant, email, name FROM users WHERE id = $1', [base + 1])).rows[0]));
  console.log('by email:', row((await q('SELECT id, email, name FROM users WHERE email = $1', [bob])).rows[0]));
  console.log('by email in:', ids((await q('SELECT id FROM users WHERE email IN ($1, $2) ORDER BY id', [alice, carol])).rows));
  console.log('null email:', row((await q('SELECT id, email FROM users WHERE id = $1', [base + 4])).rows[0]));
  console.log('email is null:', ids((await q(
    'SELECT id FROM users WHERE email IS NULL AND id BETWEEN $1 AND $2 ORDER BY id', [base, base + 99])).rows));

  r = await q('UPDATE users SET email = $1 WHERE id = $2', [alice2, base + 1]);
  console.log('updated', r.rowCount);
  console.log('by new email:', row((await q('SELECT id, email FROM users WHERE email = $1', [alice2])).rows[0]));
  console.log('by old email:', ids((await q('SELECT id FROM users WHERE email = $1', [alice])).rows));
  r = await q('DELETE FROM users WHERE email = $1', [bob]);
  console.log('deleted', r.rowCount);
  console.log('remaining:', ids((await q('SELECT id FROM users WHERE id BETWEEN $1 AND $2 ORDER BY id', [base, base + 99])).rows));

  console.log('duplicate email:', await sqlstate(q(
    "INSERT INTO users (id, tenant, email, name) VALUES ($1, 'acme', $2, $3)", [base + 5, carol, 'Carol again'])));
  console.log('by email after duplicate:', row((await q('SELECT id, email FROM users WHERE email = $1', [carol])).rows[0]));

  await q("SET app.tenant = 'globex'");
  console.log('tenant globex');
  console.log('globex by email:', ids((await q('SELECT id FROM users WHERE email = $1', [alice2])).rows));
  let read;
  try {
    read = row((await q('SELECT id, email FROM users WHERE id = $1', [base + 1])).rows[0]);
  } catch (e) {
    if (!e.code) throw e;
    read = e.code;
  }
  console.log('read acme:', read);
  const count = (await q('SELECT count(*) FROM users WHERE id BETWEEN $1 AND $2', [base, base + 99])).rows[0][0];
  console.log('rows after refusal:', count);

  // A long result (3,000 rows the Go test wrote): every e-mail must be b<id, 5 digits>@bulk.example.
  await q("SET app.tenant = 'acme'");
  for (const label of ['bulk', 'bulk again']) { // again: the long result's text goes in binary upstream
    const bulk = (await q('SELECT id, email FROM bulk ORDER BY id')).rows;
    const wrong = bulk.filter(([id, email]) => email !== `b${String(id).padStart(5, '0')}@bulk.example`).length;
    console.log(`${label}: ${bulk.length} rows, ${wrong} wrong`);
  }
  await db.end();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
