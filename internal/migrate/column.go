package migrate

import "github.com/pgseal/pgseal/internal/column"

// Column is one encrypted column (internal/column): migrations seal and open values through it,
// as the proxy does.
type Column = column.Column
