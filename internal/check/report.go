package check

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode/utf8"
)

// tableWidth bounds a statement in the table (--json has it whole).
const tableWidth = 72

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes the report for a terminal: one line per statement (refused first, then by
// calls), the reason and hint under each refused one, then the summary.
func (rep *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "VERDICT\tCALLS\tSQLSTATE\tCOLUMN\tSTATEMENT")
	for _, r := range rep.Results {
		code, col := r.SQLState, r.Column
		if code == "" {
			code = "-"
		}
		if col == "" {
			col = "-"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", r.Verdict, r.Calls, code, col, clip(r.Statement, tableWidth))
		if r.Verdict == Refused {
			what := r.Message
			if r.Construct != "" {
				what = r.Construct + " is not supported"
			}
			fmt.Fprintf(tw, "\t\t\t\t  why: %s\n", what)
			if r.Hint != "" {
				fmt.Fprintf(tw, "\t\t\t\t  fix: %s\n", r.Hint)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Simulated) > 0 {
		fmt.Fprintf(w, "\nnot encrypted yet, checked as encrypted: %s\n", strings.Join(rep.Simulated, ", "))
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	_, err := fmt.Fprintf(w, "\n%s (%d refused)\n", rep.Summary(), rep.RefusedStatements)
	return err
}

// clip shortens s to n runes with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
