"""The client-compatibility scenario (see ../doc.go) with SQLAlchemy 1.4 Core over psycopg2.

Usage: /usr/bin/python3 sqlalchemy_scenario.py
SQLAlchemy 1.4 has no psycopg 3 dialect (that came in 2.0), so it runs over psycopg2, as Debian's
python3-sqlalchemy apps do. Unlike the DB-API script it works the way an application does: the
SQL comes from Table expressions (IN lists are "expanding" parameters), every unit of work is a
transaction that commits or rolls back, and the tenant is set in one that commits — so pgseal must
keep a SET made inside a committed transaction and survive the rollback after the UNIQUE error.
Connection parameters come from libpq's PG* environment variables.
"""

import os

from sqlalchemy import Column, Integer, MetaData, Table, Text, create_engine, func, inspect, select, text
from sqlalchemy.exc import DBAPIError

users = Table(
    "users",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("tenant", Text),
    Column("email", Text),  # bytea in PostgreSQL; the application sees text through pgseal
    Column("name", Text),
)


def row(r):
    return " | ".join("NULL" if v is None else str(v) for v in r)


def ids(rows):
    return ", ".join(str(r[0]) for r in rows) or "none"


def main():
    client, base = os.environ["PGSEAL_CLIENT"], int(os.environ["PGSEAL_BASE"])
    at = "." + client + "@acme.example"
    alice, bob, carol, alice2 = "alice" + at, "bob" + at, "carol" + at, "alice2" + at
    engine = create_engine("postgresql+psycopg2://", future=True)
    in_range = users.c.id.between(base, base + 99)
    with engine.connect() as conn:
        conn.execute(text("SET app.tenant = 'acme'"))
        conn.commit()
        print("tenant acme")
        res = conn.execute(users.insert().values([  # one multi-row INSERT
            {"id": base + 1, "tenant": "acme", "email": alice, "name": "Alice"},
            {"id": base + 2, "tenant": "acme", "email": bob, "name": "Bob"},
            {"id": base + 3, "tenant": "acme", "email": carol, "name": "Carol"},
        ]))
        print("inserted", res.rowcount)
        res = conn.execute(users.insert().values(id=base + 4, tenant="acme", email=None, name="Nobody"))
        print("inserted", res.rowcount)
        conn.commit()

        print("by id:", row(conn.execute(select(users).where(users.c.id == base + 1)).one()))
        print("by email:", row(conn.execute(
            select(users.c.id, users.c.email, users.c.name).where(users.c.email == bob)).one()))
        print("by email in:", ids(conn.execute(
            select(users.c.id).where(users.c.email.in_([alice, carol])).order_by(users.c.id))))
        print("null email:", row(conn.execute(
            select(users.c.id, users.c.email).where(users.c.id == base + 4)).one()))
        print("email is null:", ids(conn.execute(
            select(users.c.id).where(users.c.email.is_(None), in_range).order_by(users.c.id))))
        conn.commit()

        res = conn.execute(users.update().where(users.c.id == base + 1).values(email=alice2))
        print("updated", res.rowcount)
        conn.commit()
        print("by new email:", row(conn.execute(
            select(users.c.id, users.c.email).where(users.c.email == alice2)).one()))
        print("by old email:", ids(conn.execute(select(users.c.id).where(users.c.email == alice))))
        res = conn.execute(users.delete().where(users.c.email == bob))
        print("deleted", res.rowcount)
        conn.commit()
        print("remaining:", ids(conn.execute(select(users.c.id).where(in_range).order_by(users.c.id))))
        conn.commit()

        try:
            conn.execute(users.insert().values(id=base + 5, tenant="acme", email=carol, name="Carol again"))
            conn.commit()
            print("duplicate email: inserted")
        except DBAPIError as e:
            conn.rollback()
            print("duplicate email:", e.orig.pgcode)
        print("by email after duplicate:", row(conn.execute(
            select(users.c.id, users.c.email).where(users.c.email == carol)).one()))
        conn.commit()

        conn.execute(text("SET app.tenant = 'globex'"))
        conn.commit()
        print("tenant globex")
        print("globex by email:", ids(conn.execute(select(users.c.id).where(users.c.email == alice2))))
        conn.commit()
        try:
            print("read acme:", row(conn.execute(
                select(users.c.id, users.c.email).where(users.c.id == base + 1)).one()))
            conn.commit()
        except DBAPIError as e:
            conn.rollback()
            print("read acme:", e.orig.pgcode)
        print("rows after refusal:", conn.execute(select(func.count()).select_from(users).where(in_range)).scalar())
        conn.commit()

        # Reflection builds the ORM's types from the catalog (pg_attribute, format_type): through
        # pgseal the encrypted bytea column must reflect as the text the application stores.
        reflected = {c["name"]: str(c["type"]) for c in inspect(conn).get_columns("users")}
        print("reflected email:", reflected["email"])
        conn.commit()

        # A long result (3,000 rows the Go test wrote): every e-mail must be b<id, 5 digits>@bulk.example.
        conn.execute(text("SET app.tenant = 'acme'"))
        for label in ("bulk", "bulk again"):  # again: the long result's text goes in binary upstream
            bulk = conn.execute(text("SELECT id, email FROM bulk ORDER BY id")).all()
            print("%s: %d rows, %d wrong" % (label, len(bulk), sum(1 for i, e in bulk if e != "b%05d@bulk.example" % i)))
        conn.commit()


if __name__ == "__main__":
    main()
