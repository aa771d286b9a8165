"""The client-compatibility scenario (see ../doc.go) over a DB-API driver: psycopg2 or psycopg 3.

Usage: /usr/bin/python3 dbapi_scenario.py psycopg2|psycopg
Connection parameters come from libpq's PG* environment variables; PGSEAL_CLIENT and PGSEAL_BASE
name the client and its id range. psycopg 3 binds parameters on the server (Parse/Bind), psycopg2
interpolates them into the SQL text on the client, so the two exercise both of pgseal's paths.
Prints one transcript line per step; the Go test compares them.
"""

import os
import sys


def connect(driver):
    if driver == "psycopg2":
        import psycopg2

        conn = psycopg2.connect("")
        conn.autocommit = True
        return conn
    if driver == "psycopg":
        import psycopg

        return psycopg.connect("", autocommit=True)
    raise SystemExit("unknown driver " + driver)


def sqlstate(err):
    # psycopg2 calls it pgcode, psycopg 3 sqlstate.
    code = getattr(err, "sqlstate", None) or getattr(err, "pgcode", None)
    if not code:
        raise err
    return code


def row(r):
    return " | ".join("NULL" if v is None else str(v) for v in r)


def ids(rows):
    return ", ".join(str(r[0]) for r in rows) or "none"


def main():
    driver = sys.argv[1]
    client, base = os.environ["PGSEAL_CLIENT"], int(os.environ["PGSEAL_BASE"])
    at = "." + client + "@acme.example"
    alice, bob, carol, alice2 = "alice" + at, "bob" + at, "carol" + at, "alice2" + at
    conn = connect(driver)
    cur = conn.cursor()

    def one(sql, params=()):
        cur.execute(sql, params)
        return cur.fetchall()

    cur.execute("SET app.tenant = 'acme'")
    print("tenant acme")
    cur.execute(
        "INSERT INTO users (id, tenant, email, name) VALUES (%s, 'acme', %s, %s), (%s, 'acme', %s, %s), (%s, 'acme', %s, %s)",
        (base + 1, alice, "Alice", base + 2, bob, "Bob", base + 3, carol, "Carol"),
    )
    print("inserted", cur.rowcount)
    cur.execute("INSERT INTO users (id, tenant, email, name) VALUES (%s, 'acme', %s, %s)", (base + 4, None, "Nobody"))
    print("inserted", cur.rowcount)

    print("by id:", row(one("SELECT id, tenant, email, name FROM users WHERE id = %s", (base + 1,))[0]))
    print("by email:", row(one("SELECT id, email, name FROM users WHERE email = %s", (bob,))[0]))
    print("by email in:", ids(one("SELECT id FROM users WHERE email IN (%s, %s) ORDER BY id", (alice, carol))))
    print("null email:", row(one("SELECT id, email FROM users WHERE id = %s", (base + 4,))[0]))
    print("email is null:", ids(one(
        "SELECT id FROM users WHERE email IS NULL AND id BETWEEN %s AND %s ORDER BY id", (base, base + 99))))

    cur.execute("UPDATE users SET email = %s WHERE id = %s", (alice2, base + 1))
    print("updated", cur.rowcount)
    print("by new email:", row(one("SELECT id, email FROM users WHERE email = %s", (alice2,))[0]))
    print("by old email:", ids(one("SELECT id FROM users WHERE email = %s", (alice,))))
    cur.execute("DELETE FROM users WHERE email = %s", (bob,))
    print("deleted", cur.rowcount)
    print("remaining:", ids(one("SELECT id FROM users WHERE id BETWEEN %s AND %s ORDER BY id", (base, base + 99))))

    try:
        cur.execute("INSERT INTO users (id, tenant, email, name) VALUES (%s, 'acme', %s, %s)",
                    (base + 5, carol, "Carol again"))
        print("duplicate email: inserted")
    except Exception as e:  # the driver's IntegrityError; its SQLSTATE is what counts
        print("duplicate email:", sqlstate(e))
    print("by email after duplicate:", row(one("SELECT id, email FROM users WHERE email = %s", (carol,))[0]))

    cur.execute("SET app.tenant = 'globex'")
    print("tenant globex")
    print("globex by email:", ids(one("SELECT id FROM users WHERE email = %s", (alice2,))))
    try:
        print("read acme:", row(one("SELECT id, email FROM users WHERE id = %s", (base + 1,))[0]))
    except Exception as e:
        print("read acme:", sqlstate(e))
    print("rows after refusal:", one("SELECT count(*) FROM users WHERE id BETWEEN %s AND %s", (base, base + 99))[0][0])

    # A long result (3,000 rows the Go test wrote): every e-mail must be b<id, 5 digits>@bulk.example.
    cur.execute("SET app.tenant = 'acme'")
    for label in ("bulk", "bulk again"):  # again: the long result's text goes in binary upstream
        bulk = one("SELECT id, email FROM bulk ORDER BY id")
        print("%s: %d rows, %d wrong" % (label, len(bulk), sum(1 for i, e in bulk if e != "b%05d@bulk.example" % i)))
    conn.close()


if __name__ == "__main__":
    main()
