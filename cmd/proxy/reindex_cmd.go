package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/pgseal/pgseal/internal/migrate"
)

// runReindex: "reindex [--table T --column C] [--rate N] [--batch N]": gives the values of
// columns with ord or match search the terms they lack and creates the search indexes
// (docs/search.md §5).
func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newMigrateFlags("reindex", stderr)
	f.columnJobFlags()
	if err := f.parse(args); err != nil {
		return ignoreHelp(err)
	}
	kr, conn, cols, err := f.openColumnJob(ctx, "reindex")
	if err != nil {
		return err
	}
	defer kr.Close()
	defer conn.Close(context.Background())
	if f.table != "" && !cols[0].Ord && !cols[0].Match {
		return fmt.Errorf("reindex: %s has no ord or match search: add search = [\"ord\"] or [\"match\"] to its [[encrypt]] entry first", cols[0].ID)
	}
	rep, err := migrate.Reindex(ctx, conn, kr.Snapshot(), migrate.ReindexOptions{Columns: cols, Rate: f.rate, Batch: f.batch, Progress: stderr})
	if err != nil {
		return err
	}
	if f.json {
		return printJSON(stdout, rep)
	}
	for _, c := range cols {
		if why, ok := rep.Skipped[c.ID]; ok {
			if f.table != "" || why != "no ord or match search" {
				fmt.Fprintf(stdout, "%s: skipped (%s)\n", c.ID, why)
			}
			continue
		}
		idx := "indexes already valid"
		if names := rep.Indexes[c.ID]; len(names) > 0 {
			idx = "created " + strings.Join(names, ", ")
		}
		fmt.Fprintf(stdout, "%s: %d values given their terms; %s\n", c.ID, rep.Columns[c.ID], idx)
	}
	return nil
}
