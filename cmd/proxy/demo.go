package main

import (
	"context"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/pgtest"
)

// setupDemo prepares the dev demo (keyring, encrypted table, tenants) and returns text to print.
func setupDemo(ctx context.Context, pg *pgtest.Server, cfg *config.Config, dir string) (string, error) {
	return "", nil
}
