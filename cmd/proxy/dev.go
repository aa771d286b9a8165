package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest/cluster"
)

// runDev starts a throwaway PostgreSQL (initdb into a temporary directory, as an unprivileged
// account when run as root) and pgseal in front of it, prints the connection string, and serves
// until interrupted. Everything it made is removed on exit.
func runDev(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:6432", "address for PostgreSQL clients")
	adminListen := fs.String("admin-listen", "127.0.0.1:9930", "address for /metrics and the control API")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	fmt.Fprintln(stderr, "starting a throwaway PostgreSQL (initdb)…")
	pg, err := cluster.Start()
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	defer pg.Stop()
	dir, err := os.MkdirTemp("", "pgseal-dev-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cfg := config.Default()
	cfg.Server.Listen, cfg.Server.AdminListen = *listen, *adminListen
	cfg.Upstream.Address = pg.Addr()
	cfg.Keyring.Path = filepath.Join(dir, "keyring.json")
	demo, err := setupDemo(ctx, pg, cfg, dir)
	if err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("dev: %w", err)
	}
	return serve(ctx, cfg, stderr, func(addr, adminAddr string) {
		fmt.Fprintf(stdout, "\npgseal is running in front of a throwaway PostgreSQL %s\n\n", pg.Addr())
		fmt.Fprintf(stdout, "  connect:  psql \"postgres://%s@%s/postgres?sslmode=disable\"\n", cluster.Superuser, addr)
		fmt.Fprintf(stdout, "  metrics:  http://%s/metrics\n", adminAddr)
		if demo != "" {
			fmt.Fprintln(stdout, demo)
		}
		fmt.Fprintln(stdout, "\nCtrl-C stops pgseal and removes the database.")
	})
}
