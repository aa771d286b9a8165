"""psycopg 3 in binary: parameters, results, COPY and pipeline mode (see ../matrix_psycopg_test.go).

Usage: /usr/bin/python3 matrix_psycopg.py
Connects with libpq's environment (PGHOST, PGPORT, PGUSER, PGDATABASE); the table items (id and one
column of every type pgseal encrypts, ../matrix_test.go) exists, empty. Sets app.tenant to acme
(pgseal's keyset) and prints one transcript line per step, with values as Python reprs, so that the
transcript is the same whatever the wire format was.
"""

import datetime
import decimal
import sys
import uuid

import psycopg
from psycopg.types.json import Json, Jsonb
from psycopg.types.numeric import Float4, Int2, Int4, Int8

COLUMNS = ["id", "t", "vc", "i2", "i4", "i8", "f4", "f8", "num", "b", "d", "ts", "tstz", "u", "j", "jb", "by"]
TYPES = ["int4", "text", "varchar", "int2", "int4", "int8", "float4", "float8", "numeric", "bool", "date",
         "timestamp", "timestamptz", "uuid", "json", "jsonb", "bytea"]
NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]
UTC = datetime.timezone.utc


def values(id_, k, wrapped):
    """Row k: with wrapped, every number carries its exact type (Int2, Float4…); else plain Python."""
    name = NAMES[k % len(NAMES)]
    ints = (Int2(-k), Int4(100000 + k), Int8((1 << 40) + k)) if wrapped else (-k, 100000 + k, (1 << 40) + k)
    # A plain Python float is declared float8: PostgreSQL converts it into the float4 column
    # (float84), and so does pgseal (value.Assignable).
    f4 = Float4(1.5 + k) if wrapped else 1.5 + k
    return [
        id_, name + "-text", name + "-vc", *ints, f4, -2.25 * (k + 1),
        decimal.Decimal("12345.6789%d" % k), k % 2 == 0,
        datetime.date(2024, 2, 29) + datetime.timedelta(days=k),
        datetime.datetime(2024, 2, 29, 13, 14, 15, 123456) + datetime.timedelta(hours=k),
        datetime.datetime(2024, 2, 29, 13, 14, 15, 500000, tzinfo=UTC) + datetime.timedelta(minutes=k),
        uuid.UUID("8f1e5c1e-0000-4000-8000-0000000000%02x" % k),
        Json({"secret-json": [k, "x"]}), Jsonb({"secret-jsonb": k}), b"secret-bytes-%d\x00\xff" % k,
    ]


def nulls(id_):
    return [id_, "echo-text"] + [None] * (len(COLUMNS) - 2)


def insert_sql(placeholder):
    cols = ", ".join('"by"' if c == "by" else c for c in COLUMNS)
    return "INSERT INTO items (%s) VALUES (%s)" % (cols, ", ".join([placeholder] * len(COLUMNS)))


def fmt(v):
    """repr of a value; COPY gives bytea as a memoryview, whose repr is its address."""
    return repr(bytes(v) if isinstance(v, memoryview) else v)


def show(step, cur):
    """Prints the result's columns (name:type OID) and rows."""
    cols = " ".join("%s:%d" % (d.name, d.type_code) for d in cur.description)
    print("%s: columns %s" % (step, cols))
    for row in cur.fetchall():
        print("  row " + " | ".join(fmt(v) for v in row))
    print("  end: %s" % cur.statusmessage)


def step(name, fn):
    """Runs fn, printing its result or the SQLSTATE it failed with."""
    try:
        print("%s: %s" % (name, fn()))
    except psycopg.Error as e:
        print("%s: error %s" % (name, e.sqlstate))


def binary_parameters(conn):
    cur = conn.cursor()
    step("insert %b plain", lambda: cur.execute(insert_sql("%b"), values(1, 0, False)).statusmessage)
    step("insert %b wrapped", lambda: cur.execute(insert_sql("%b"), values(2, 1, True)).statusmessage)
    step("insert %b NULLs", lambda: cur.execute(insert_sql("%b"), nulls(3)).statusmessage)
    step("insert %s binary=True", lambda: cur.execute(insert_sql("%s"), values(4, 2, True), binary=True).statusmessage)
    for binary in (False, True):
        cur.execute("SELECT * FROM items WHERE id <= %s ORDER BY id", [4], binary=binary)
        show("select all binary=%s" % binary, cur)
    v = values(0, 1, True)
    cur.execute("SELECT id FROM items WHERE t = %b AND vc = %b AND i8 = %b AND u = %b", [v[1], v[2], v[5], v[13]])
    show("lookup by %b", cur)
    cur.execute("SELECT id, t FROM items WHERE t = ANY(%s) ORDER BY id", [["alpha-text", "charlie-text"]], binary=True)
    show("lookup = ANY binary=True", cur)
    for binary in (False, True):
        cur.execute("SELECT id, t FROM items WHERE i4 BETWEEN %s AND %s ORDER BY t DESC NULLS LAST, id", [-5, 200000], binary=binary)
        show("between, order by t binary=%s" % binary, cur)
        cur.execute("SELECT id FROM items WHERE t LIKE %s ORDER BY num, d, id", ["%o-t%"], binary=binary)
        show("like binary=%s" % binary, cur)
        cur.execute("SELECT id FROM items WHERE t NOT ILIKE 'A%%' AND f8 < %s ORDER BY tstz DESC, id", [1e9], binary=binary)
        show("not ilike binary=%s" % binary, cur)
        cur.execute("SELECT min(t), max(d), min(num), max(f8) FROM items", binary=binary)
        show("min/max binary=%s" % binary, cur)
        # a naive datetime is declared timestamp, a date date: compared with timestamptz they
        # convert in the session's TimeZone, as in PostgreSQL
        cur.execute("SELECT id FROM items WHERE tstz > %s AND tstz <= %s ORDER BY id",
                    [datetime.datetime(2024, 2, 29, 13, 0), datetime.date(2024, 3, 1)], binary=binary)
        show("timestamptz against a naive datetime and a date binary=%s" % binary, cur)
        # a list of small ints is declared int2[]: each element compared with int8 as int82eq
        cur.execute("SELECT id FROM items WHERE i8 = ANY(%s) OR i8 = ANY(%s) ORDER BY id",
                    [[1, 2], [(1 << 40) + 1, (1 << 40) + 2]], binary=binary)
        show("int8 = ANY(a list of small ints) binary=%s" % binary, cur)


def binary_copy(conn):
    cur = conn.cursor()
    cols = ", ".join('"by"' if c == "by" else c for c in COLUMNS)
    try:
        with cur.copy("COPY items (%s) FROM STDIN (FORMAT BINARY)" % cols) as copy:
            copy.set_types(TYPES)
            copy.write_row(values(11, 3, False))
            copy.write_row(values(12, 4, True))
            copy.write_row(nulls(13))
        print("copy in binary: %s" % cur.rowcount)
    except psycopg.Error as e:
        print("copy in binary: error %s" % e.sqlstate)
    try:
        with cur.copy("COPY (SELECT %s FROM items WHERE id > 10 ORDER BY id) TO STDOUT (FORMAT BINARY)" % cols) as copy:
            copy.set_types(TYPES)
            for row in copy.rows():
                print("  copy out row " + " | ".join(fmt(v) for v in row))
        print("copy out binary: %s" % cur.rowcount)
    except psycopg.Error as e:
        print("copy out binary: error %s" % e.sqlstate)
    try:
        with cur.copy("COPY items (id, t) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["int4", "text"])
            copy.write_row([14, "foxtrot-text"])
            copy.write_row([11, "bravo-text"])  # a duplicate key: the whole COPY fails
        print("copy a duplicate key: %s" % cur.rowcount)
    except psycopg.Error as e:
        print("copy a duplicate key: error %s" % e.sqlstate)
    cur.execute("SELECT id, t FROM items WHERE id > 10 ORDER BY id", binary=True)
    show("after the copies", cur)


def pipeline(conn):
    cur1, cur2, cur3, cur4 = conn.cursor(), conn.cursor(), conn.cursor(), conn.cursor()
    with conn.pipeline():
        cur1.execute(insert_sql("%s"), values(21, 5, True), binary=True)
        cur2.execute(insert_sql("%b"), values(22, 0, False))
        cur3.execute("SELECT id, t, vc, u FROM items WHERE vc = %s AND id > 20", ["alpha-vc"], binary=True)
        cur4.execute("UPDATE items SET jb = %s WHERE t = %s RETURNING id, jb", [Jsonb({"secret-jsonb": 99}), "foxtrot-text"])
    print("pipeline insert: %s | %s" % (cur1.statusmessage, cur2.statusmessage))
    show("pipeline select", cur3)
    show("pipeline update", cur4)
    try:
        with conn.pipeline():
            cur1.execute(insert_sql("%b"), values(23, 1, True))
            cur2.execute(insert_sql("%b"), values(21, 2, True))  # a duplicate key
            cur3.execute("SELECT id FROM items WHERE t = %b", ["bravo-text"])
        print("pipeline with a duplicate: no error")
    except psycopg.Error as e:
        print("pipeline with a duplicate: error %s" % e.sqlstate)
    cur1.execute("SELECT id, t FROM items WHERE id > 20 ORDER BY id", binary=True)
    show("after the pipelines", cur1)


def main():
    with psycopg.connect("", autocommit=True) as conn:
        conn.execute("SET app.tenant = 'acme'")
        conn.execute("SET TimeZone = 'UTC'")
        part = sys.argv[1]
        {"binary": binary_parameters, "copy": binary_copy, "pipeline": pipeline}[part](conn)


if __name__ == "__main__":
    main()
