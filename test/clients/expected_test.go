package clients

import (
	"fmt"
	"strings"
)

// emails are the plaintext addresses a client writes; each client gets its own (the UNIQUE index
// spans every client's rows), so the domain carries the client's name.
func emails(client string) (alice, bob, carol, alice2 string) {
	at := "." + client + "@acme.example"
	return "alice" + at, "bob" + at, "carol" + at, "alice2" + at
}

// expectedTranscript is what every client must print for its id range starting at base. The
// scripts print exactly what they saw; only the end differs between the two runs: with encryption
// the globex session cannot find acme's e-mail (other keyset, other equality term) nor read acme's
// row (42501), while through the plain relay both succeed.
func expectedTranscript(client string, base int, encrypted bool) string {
	alice, _, carol, alice2 := emails(client)
	id := func(n int) int { return base + n }
	lines := []string{
		"tenant acme",
		"inserted 3",
		"inserted 1",
		fmt.Sprintf("by id: %d | acme | %s | Alice", id(1), alice),
		fmt.Sprintf("by email: %d | %s | Bob", id(2), strings.Replace(alice, "alice", "bob", 1)),
		fmt.Sprintf("by email in: %d, %d", id(1), id(3)),
		fmt.Sprintf("null email: %d | NULL", id(4)),
		fmt.Sprintf("email is null: %d", id(4)),
		"updated 1",
		fmt.Sprintf("by new email: %d | %s", id(1), alice2),
		"by old email: none",
		"deleted 1",
		fmt.Sprintf("remaining: %d, %d, %d", id(1), id(3), id(4)),
		"duplicate email: 23505",
		fmt.Sprintf("by email after duplicate: %d | %s", id(3), carol),
		"tenant globex",
	}
	if encrypted {
		lines = append(lines, "globex by email: none", "read acme: 42501")
	} else {
		lines = append(lines,
			fmt.Sprintf("globex by email: %d", id(1)),
			fmt.Sprintf("read acme: %d | %s", id(1), alice2))
	}
	lines = append(lines, "rows after refusal: 3")
	if client == "jdbc" { // DatabaseMetaData.getColumns: text, java.sql.Types.VARCHAR
		lines = append(lines, "email column: text 12")
	}
	if client == "sqlalchemy" { // Inspector.get_columns reads pg_attribute and format_type
		lines = append(lines, "reflected email: TEXT")
	}
	if client == "psql" { // psql/scenario.sql ends with \copy in and out
		lines = append(lines, "copied 2", `1006,"dave,psql@acme.example",Dave`, "1007,NULL,Eve", "deleted 2")
	}
	// Every client ends by reading the bulk table under acme (fillBulk) and checking each e-mail.
	lines = append(lines, fmt.Sprintf("bulk: %d rows, 0 wrong", bulkRows))
	if client != "jdbc" { // the same text again (a simple Query goes in binary upstream the second time)
		lines = append(lines, fmt.Sprintf("bulk again: %d rows, 0 wrong", bulkRows))
	}
	return strings.Join(lines, "\n") + "\n"
}
