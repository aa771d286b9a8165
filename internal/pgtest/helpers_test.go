package pgtest

import "github.com/pgseal/pgseal/internal/pgtest/cluster"

func lastLines(b []byte) string { return cluster.LastLines(b) }
