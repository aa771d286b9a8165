// JDBC on the table items of ../matrix_test.go (id and one column of every type pgseal encrypts):
// CopyManager in and out in text, CSV and binary format ("copy"), and executeBatch with typed
// setters for every type, an UPDATE and DELETEs by = and IN on a varchar column ("batch"). See ../matrix_jdbc_test.go.
//
// Usage: java -cp .:/usr/share/java/postgresql.jar Matrix copy|batch
// The URL is built from PGHOST, PGPORT, PGUSER and PGDATABASE. It sets app.tenant to acme first
// (pgseal's keyset) and prints one transcript line per step.

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.math.BigDecimal;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.UUID;

import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.util.PGobject;

public class Matrix {
    static final String COLS = "id, t, vc, i2, i4, i8, f4, f8, num, b, d, ts, tstz, u, j, jb, \"by\"";

    public static void main(String[] args) throws Exception {
        String url = String.format("jdbc:postgresql://%s:%s/%s?sslmode=disable&user=%s",
                System.getenv("PGHOST"), System.getenv("PGPORT"), System.getenv("PGDATABASE"), System.getenv("PGUSER"));
        try (Connection conn = DriverManager.getConnection(url)) {
            try (Statement st = conn.createStatement()) {
                st.execute("SET app.tenant = 'acme'");
                st.execute("SET TimeZone = 'UTC'");
            }
            if (args[0].equals("copy")) {
                copy(conn);
            } else {
                batch(conn);
            }
        }
    }

    static String textRow(int id, int k) {
        String[] names = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"};
        String n = names[k % names.length];
        return String.join("\t", "" + id, n + "-text", n + "-vc", "" + (-k), "" + (100000 + k), "" + ((1L << 40) + k),
                (1.5 + k) + "", (-2.25 * (k + 1)) + "", "12345.6789" + k, k % 2 == 0 ? "t" : "f",
                "2024-03-0" + (k + 1), "2024-02-29 13:14:15.12345" + k, "2024-02-29 13:14:15.5+0" + k,
                "8f1e5c1e-0000-4000-8000-00000000000" + k, "{\"secret-json\": [" + k + ", \"x\"]}",
                "{\"secret-jsonb\": " + k + "}", "\\\\x7365637265742d62797465732d" + (30 + k) + "00ff") + "\n";
    }

    static void copy(Connection conn) throws Exception {
        CopyManager cm = conn.unwrap(PGConnection.class).getCopyAPI();
        String text = textRow(1, 0) + textRow(2, 1) + "3\techo-text" + "\t\\N".repeat(15) + "\n";
        println("copy in text: " + cm.copyIn("COPY items (" + COLS + ") FROM STDIN", new StringReader(text)));
        String csv = "4,\"delta-text, quoted\",\"\"\"q\"\"-vc\",,,,,,,,,,,,,,\n5,foxtrot-text,,1,2,3,,,,,,,,,,,\n";
        println("copy in csv: " + cm.copyIn("COPY items (" + COLS + ") FROM STDIN (FORMAT csv)", new StringReader(csv)));
        try {
            cm.copyIn("COPY items (id, t, i4) FROM STDIN", new StringReader("6\tbravo-text\t7\n7\tcharlie-text\tnot-a-number\n"));
            println("copy in a bad int4: no error");
        } catch (SQLException e) {
            println("copy in a bad int4: error " + e.getSQLState());
        }
        StringWriter out = new StringWriter();
        long n = cm.copyOut("COPY (SELECT " + COLS + " FROM items ORDER BY id) TO STDOUT", out);
        println("copy out text: " + n);
        print(out.toString());
        out = new StringWriter();
        n = cm.copyOut("COPY items (" + COLS + ") TO STDOUT (FORMAT csv, HEADER)", out);
        println("copy out csv: " + n);
        print(out.toString().lines().sorted().map(l -> l + "\n").reduce("", String::concat));
        // Binary: out, then the same bytes back in after deleting the rows; the stream must be
        // byte-identical to the one a plaintext table gives (its digest is in the transcript).
        ByteArrayOutputStream bin = new ByteArrayOutputStream();
        n = cm.copyOut("COPY (SELECT " + COLS + " FROM items WHERE id <= 3 ORDER BY id) TO STDOUT (FORMAT binary)", bin);
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(bin.toByteArray());
        println("copy out binary: " + n + " rows, " + bin.size() + " bytes, sha256 " + HexFormat.of().formatHex(digest));
        try (Statement st = conn.createStatement()) {
            println("delete: " + st.executeUpdate("DELETE FROM items WHERE id <= 3"));
        }
        println("copy in binary: " + cm.copyIn("COPY items (" + COLS + ") FROM STDIN (FORMAT binary)",
                new ByteArrayInputStream(bin.toByteArray())));
        select(conn, "SELECT * FROM items ORDER BY id");
        lookup(conn);
        search(conn);
    }

    static void batch(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("INSERT INTO items (" + COLS + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            // Twice, so that the second batch runs on a server-prepared statement (prepareThreshold).
            for (int round = 0; round < 2; round++) {
                for (int k = 0; k < 3; k++) {
                    int id = round * 10 + k + 1;
                    ps.setInt(1, id);
                    if (k == 2) {
                        ps.setString(2, "echo-text");
                        for (int i = 3; i <= 17; i++) {
                            ps.setNull(i, java.sql.Types.OTHER);
                        }
                        ps.addBatch();
                        continue;
                    }
                    String n = k == 0 ? "alpha" : "bravo";
                    ps.setString(2, n + "-text");
                    ps.setString(3, n + "-vc");
                    ps.setShort(4, (short) -k);
                    ps.setInt(5, 100000 + k);
                    ps.setLong(6, (1L << 40) + k);
                    ps.setFloat(7, 1.5f + k);
                    ps.setDouble(8, -2.25 * (k + 1));
                    ps.setBigDecimal(9, new BigDecimal("12345.6789" + k));
                    ps.setBoolean(10, k % 2 == 0);
                    ps.setObject(11, LocalDate.of(2024, 2, 29).plusDays(k));
                    ps.setObject(12, LocalDateTime.of(2024, 2, 29, 13, 14, 15, 123456000).plusHours(k));
                    ps.setObject(13, OffsetDateTime.of(2024, 2, 29, 13, 14, 15, 500000000, ZoneOffset.UTC).plusMinutes(k));
                    ps.setObject(14, UUID.fromString("8f1e5c1e-0000-4000-8000-00000000000" + k));
                    ps.setObject(15, json("json", "{\"secret-json\": [" + k + ", \"x\"]}"));
                    ps.setObject(16, json("jsonb", "{\"secret-jsonb\": " + k + "}"));
                    ps.setBytes(17, ("secret-bytes-" + k + "\u0000").getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
                    ps.addBatch();
                }
                try {
                    println("insert batch: " + Arrays.toString(ps.executeBatch()));
                } catch (SQLException e) {
                    println("insert batch: error " + e.getSQLState());
                    SQLException next = e.getNextException();
                    println("  next: " + (next == null ? "none" : next.getSQLState()));
                }
            }
        }
        try (PreparedStatement ps = conn.prepareStatement("UPDATE items SET i8 = ?, u = ? WHERE t = ?")) {
            for (int k = 0; k < 2; k++) {
                ps.setLong(1, 42 + k);
                ps.setObject(2, UUID.fromString("8f1e5c1e-0000-4000-8000-0000000000f" + k));
                ps.setString(3, k == 0 ? "alpha-text" : "nobody-text");
                ps.addBatch();
            }
            println("update batch: " + Arrays.toString(ps.executeBatch()));
        }
        // setString declares varchar, and for a batch the driver fails when the statement's
        // ParameterDescription says otherwise: an IN list on a varchar column must say varchar.
        try (PreparedStatement ps = conn.prepareStatement("DELETE FROM items WHERE vc IN (?, ?)")) {
            for (int k = 0; k < 2; k++) {
                ps.setString(1, "nobody-vc");
                ps.setString(2, "bravo-vc");
                ps.addBatch();
            }
            println("delete IN batch: " + Arrays.toString(ps.executeBatch()));
        } catch (SQLException e) {
            println("delete IN batch: error " + e.getSQLState());
        }
        try (PreparedStatement ps = conn.prepareStatement("DELETE FROM items WHERE vc = ?")) {
            for (int k = 0; k < 2; k++) {
                ps.setString(1, k == 0 ? "alpha-vc" : "bravo-vc");
                ps.addBatch();
            }
            println("delete = batch: " + Arrays.toString(ps.executeBatch()));
        } catch (SQLException e) {
            println("delete = batch: error " + e.getSQLState());
        }
        select(conn, "SELECT * FROM items ORDER BY id");
        lookup(conn);
        search(conn);
    }

    static PGobject json(String type, String value) throws SQLException {
        PGobject o = new PGobject();
        o.setType(type);
        o.setValue(value);
        return o;
    }

    // search runs order and LIKE searches (docs/search.md) with typed parameters.
    static void search(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT id, t FROM items WHERE i4 BETWEEN ? AND ? ORDER BY t DESC NULLS LAST, id")) {
            ps.setInt(1, -5);
            ps.setInt(2, 200000);
            printRows("between, order by t", ps);
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT id, t FROM items WHERE t LIKE ? AND d < ? ORDER BY num, id")) {
            ps.setString(1, "%o-t%");
            ps.setDate(2, java.sql.Date.valueOf("2030-01-01"));
            printRows("like", ps);
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM items WHERE t NOT ILIKE ? ORDER BY f8, tstz, id")) {
            ps.setString(1, "A%");
            printRows("not ilike", ps);
        }
        select(conn, "SELECT min(t), max(d), min(num) FROM items");
    }

    static void printRows(String step, PreparedStatement ps) throws SQLException {
        try (ResultSet rs = ps.executeQuery()) {
            StringBuilder b = new StringBuilder(step + ":");
            int n = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                b.append(" [");
                for (int i = 1; i <= n; i++) {
                    b.append(i > 1 ? " " : "").append(rs.getString(i));
                }
                b.append(']');
            }
            println(b.toString());
        } catch (SQLException e) {
            println(step + ": error " + e.getSQLState());
        }
    }

    // lookup finds rows by typed parameters on searched columns.
    static void lookup(Connection conn) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM items WHERE t = ? OR i8 = ? OR u = ? ORDER BY id")) {
            ps.setString(1, "bravo-text");
            ps.setLong(2, 42);
            ps.setObject(3, UUID.fromString("8f1e5c1e-0000-4000-8000-000000000000"));
            try (ResultSet rs = ps.executeQuery()) {
                StringBuilder b = new StringBuilder("lookup:");
                while (rs.next()) {
                    b.append(' ').append(rs.getInt(1));
                }
                println(b.toString());
            }
        }
    }

    // select prints the columns (name:type) and every row with getString.
    static void select(Connection conn, String sql) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            ResultSetMetaData md = rs.getMetaData();
            StringBuilder b = new StringBuilder("select: columns");
            for (int i = 1; i <= md.getColumnCount(); i++) {
                b.append(' ').append(md.getColumnName(i)).append(':').append(md.getColumnTypeName(i));
            }
            println(b.toString());
            while (rs.next()) {
                b = new StringBuilder("  row");
                for (int i = 1; i <= md.getColumnCount(); i++) {
                    b.append(i == 1 ? " " : " | ").append(rs.getString(i));
                }
                println(b.toString());
            }
        }
    }

    static void println(String s) {
        System.out.println(s);
    }

    static void print(String s) {
        System.out.print(s);
    }
}
