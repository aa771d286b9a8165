// JDBC batches with setString (see ../batch_test.go): the driver declares the parameters varchar
// (OID 1043) and, for a batch, describes the statement and fails ("Can't change resolved type for
// param") when the ParameterDescription shows another type than it declared.
//
// Usage: java -cp .:/usr/share/java/postgresql.jar Batch
// The URL is built from PGHOST, PGPORT, PGUSER and PGDATABASE; the table notes (id int, body text,
// label varchar) exists, empty. It sets app.tenant to acme first (pgseal's keyset). Prints one transcript line per step.

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;

public class Batch {
    public static void main(String[] args) throws Exception {
        String url = String.format("jdbc:postgresql://%s:%s/%s?sslmode=disable&user=%s",
                System.getenv("PGHOST"), System.getenv("PGPORT"), System.getenv("PGDATABASE"), System.getenv("PGUSER"));
        try (Connection conn = DriverManager.getConnection(url)) {
            run(conn);
        }
    }

    private static void run(Connection conn) throws SQLException {
        try (java.sql.Statement st = conn.createStatement()) {
            st.execute("SET app.tenant = 'acme'");
        }
        try (PreparedStatement ps = conn.prepareStatement("INSERT INTO notes (id, body, label) VALUES (?, ?, ?)")) {
            // Two batches: the second runs on the server-prepared statement of the first.
            for (int round = 0; round < 2; round++) {
                for (int i = 1; i <= 4; i++) {
                    int id = round * 10 + i;
                    ps.setInt(1, id);
                    ps.setString(2, "body " + id);
                    if (i == 4) {
                        ps.setNull(3, java.sql.Types.VARCHAR);
                    } else {
                        ps.setString(3, "label " + id);
                    }
                    ps.addBatch();
                }
                System.out.println("insert batch: " + Arrays.toString(ps.executeBatch()));
            }
        }
        try (PreparedStatement ps = conn.prepareStatement("UPDATE notes SET body = ? WHERE label = ?")) {
            for (String label : new String[] {"label 2", "label 12", "label 99"}) {
                ps.setString(1, "new " + label);
                ps.setString(2, label);
                ps.addBatch();
            }
            System.out.println("update batch: " + Arrays.toString(ps.executeBatch()));
        }
        try (PreparedStatement ps = conn.prepareStatement("DELETE FROM notes WHERE body = ?")) {
            for (String body : new String[] {"body 3", "body 13"}) {
                ps.setString(1, body);
                ps.addBatch();
            }
            System.out.println("delete batch: " + Arrays.toString(ps.executeBatch()));
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT id, body, label FROM notes ORDER BY id");
                ResultSet rs = ps.executeQuery()) {
            while (rs.next()) {
                System.out.println("row: " + rs.getInt(1) + " | " + rs.getString(2) + " | " + rs.getString(3));
            }
        }
        try (PreparedStatement ps = conn.prepareStatement("SELECT id FROM notes WHERE label = ?")) {
            ps.setString(1, "label 11");
            try (ResultSet rs = ps.executeQuery()) {
                System.out.println("by label: " + (rs.next() ? rs.getInt(1) : "none"));
            }
        }
    }
}
