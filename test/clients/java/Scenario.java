// The client-compatibility scenario (see ../doc.go) with the PostgreSQL JDBC driver.
//
// Usage: java -cp .:/usr/share/java/postgresql.jar Scenario
// The URL is built from PGHOST, PGPORT, PGUSER and PGDATABASE. PreparedStatements send typed
// parameters (setString: varchar, setInt: int4) over the extended protocol, so pgseal must re-type
// the encrypted ones as bytea on Parse and describe them back as the application's type.
// Prints one transcript line per step.

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;

public class Scenario {
    private final Connection conn;

    private Scenario(Connection conn) {
        this.conn = conn;
    }

    public static void main(String[] args) throws Exception {
        String url = String.format("jdbc:postgresql://%s:%s/%s?sslmode=disable&user=%s",
                System.getenv("PGHOST"), System.getenv("PGPORT"), System.getenv("PGDATABASE"), System.getenv("PGUSER"));
        String client = System.getenv("PGSEAL_CLIENT");
        int base = Integer.parseInt(System.getenv("PGSEAL_BASE"));
        try (Connection conn = DriverManager.getConnection(url)) {
            new Scenario(conn).run(client, base);
        }
    }

    private PreparedStatement prepare(String sql, Object... params) throws SQLException {
        PreparedStatement ps = conn.prepareStatement(sql);
        for (int i = 0; i < params.length; i++) {
            Object p = params[i];
            if (p == null) {
                ps.setNull(i + 1, Types.VARCHAR);
            } else if (p instanceof Integer) {
                ps.setInt(i + 1, (Integer) p);
            } else {
                ps.setString(i + 1, (String) p);
            }
        }
        return ps;
    }

    private int update(String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = prepare(sql, params)) {
            return ps.executeUpdate();
        }
    }

    private List<String> rows(String sql, Object... params) throws SQLException {
        List<String> out = new ArrayList<>();
        try (PreparedStatement ps = prepare(sql, params); ResultSet rs = ps.executeQuery()) {
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<String> fields = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    String v = rs.getString(i);
                    fields.add(v == null ? "NULL" : v);
                }
                out.add(String.join(" | ", fields));
            }
        }
        return out;
    }

    private String ids(String sql, Object... params) throws SQLException {
        List<String> r = rows(sql, params);
        return r.isEmpty() ? "none" : String.join(", ", r);
    }

    private void set(String sql) throws SQLException {
        try (Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    private void run(String client, int base) throws SQLException {
        String at = "." + client + "@acme.example";
        String alice = "alice" + at, bob = "bob" + at, carol = "carol" + at, alice2 = "alice2" + at;

        set("SET app.tenant = 'acme'");
        System.out.println("tenant acme");
        System.out.println("inserted " + update(
                "INSERT INTO users (id, tenant, email, name) VALUES (?, 'acme', ?, ?), (?, 'acme', ?, ?), (?, 'acme', ?, ?)",
                base + 1, alice, "Alice", base + 2, bob, "Bob", base + 3, carol, "Carol"));
        System.out.println("inserted " + update(
                "INSERT INTO users (id, tenant, email, name) VALUES (?, 'acme', ?, ?)", base + 4, null, "Nobody"));

        System.out.println("by id: " + rows("SELECT id, tenant, email, name FROM users WHERE id = ?", base + 1).get(0));
        System.out.println("by email: " + rows("SELECT id, email, name FROM users WHERE email = ?", bob).get(0));
        System.out.println("by email in: " + ids("SELECT id FROM users WHERE email IN (?, ?) ORDER BY id", alice, carol));
        System.out.println("null email: " + rows("SELECT id, email FROM users WHERE id = ?", base + 4).get(0));
        System.out.println("email is null: " + ids(
                "SELECT id FROM users WHERE email IS NULL AND id BETWEEN ? AND ? ORDER BY id", base, base + 99));

        System.out.println("updated " + update("UPDATE users SET email = ? WHERE id = ?", alice2, base + 1));
        System.out.println("by new email: " + rows("SELECT id, email FROM users WHERE email = ?", alice2).get(0));
        System.out.println("by old email: " + ids("SELECT id FROM users WHERE email = ?", alice));
        System.out.println("deleted " + update("DELETE FROM users WHERE email = ?", bob));
        System.out.println("remaining: " + ids("SELECT id FROM users WHERE id BETWEEN ? AND ? ORDER BY id", base, base + 99));

        String dup;
        try {
            update("INSERT INTO users (id, tenant, email, name) VALUES (?, 'acme', ?, ?)", base + 5, carol, "Carol again");
            dup = "inserted";
        } catch (SQLException e) {
            dup = e.getSQLState();
        }
        System.out.println("duplicate email: " + dup);
        System.out.println("by email after duplicate: " + rows("SELECT id, email FROM users WHERE email = ?", carol).get(0));

        set("SET app.tenant = 'globex'");
        System.out.println("tenant globex");
        System.out.println("globex by email: " + ids("SELECT id FROM users WHERE email = ?", alice2));
        String read;
        try {
            read = rows("SELECT id, email FROM users WHERE id = ?", base + 1).get(0);
        } catch (SQLException e) {
            read = e.getSQLState();
        }
        System.out.println("read acme: " + read);
        System.out.println("rows after refusal: " + ids("SELECT count(*) FROM users WHERE id BETWEEN ? AND ?", base, base + 99));
        // The driver's own catalog introspection: through pgseal, the plaintext type, not bytea.
        try (ResultSet rs = conn.getMetaData().getColumns(null, "public", "users", "email")) {
            rs.next();
            System.out.println("email column: " + rs.getString("TYPE_NAME") + " " + rs.getInt("DATA_TYPE"));
        }

        // A long result (3,000 rows the Go test wrote), fetched 500 rows at a time (a portal with a
        // row limit, which needs a transaction): every e-mail must be b<id, 5 digits>@bulk.example.
        update("SET app.tenant = 'acme'");
        conn.setAutoCommit(false);
        int n = 0, wrong = 0;
        try (PreparedStatement ps = conn.prepareStatement("SELECT id, email FROM bulk ORDER BY id")) {
            ps.setFetchSize(500);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    n++;
                    if (!String.format("b%05d@bulk.example", rs.getInt(1)).equals(rs.getString(2))) {
                        wrong++;
                    }
                }
            }
        }
        conn.commit();
        conn.setAutoCommit(true);
        // Part of the same read through a server-side prepared statement (a named statement from
        // the first execution on), run three times.
        try (PreparedStatement ps = conn.prepareStatement("SELECT id, email FROM bulk WHERE id > ? ORDER BY id")) {
            ps.unwrap(org.postgresql.PGStatement.class).setPrepareThreshold(1);
            for (int round = 0; round < 3; round++) {
                ps.setInt(1, 2000);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        if (!String.format("b%05d@bulk.example", rs.getInt(1)).equals(rs.getString(2))) {
                            wrong++;
                        }
                    }
                }
            }
        }
        System.out.println("bulk: " + n + " rows, " + wrong + " wrong");
    }
}
