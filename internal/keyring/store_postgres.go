package keyring

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgseal/pgseal/internal/sqlstate"
)

// notifyChannel is the LISTEN/NOTIFY channel; the payload is the new epoch.
const notifyChannel = "pgseal_keyring"

const pgSchemaSQL = `
CREATE SCHEMA IF NOT EXISTS pgseal_keyring;
CREATE TABLE IF NOT EXISTS pgseal_keyring.keyring (
	id         int PRIMARY KEY CHECK (id = 1),
	epoch      bigint NOT NULL,
	sealed     text NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT now()
)`

// postgresBackend keeps the sealed document in the single row of pgseal_keyring.keyring. Writers
// lock that row (SELECT … FOR UPDATE), so concurrent writers in any process never lose an update;
// every write NOTIFYs pgseal_keyring in the same transaction (delivered only on commit).
//
// It holds one connection for reads and writes (keyring operations are rare; pgxpool would need
// a module outside go.mod) and Watch opens a dedicated one for LISTEN.
type postgresBackend struct {
	dsn string
	mu  struct {
		sync.Mutex
		conn *pgx.Conn
	}
}

func newPostgresBackend(ctx context.Context, dsn string) (*postgresBackend, error) {
	if _, err := pgx.ParseConfig(dsn); err != nil {
		return nil, errors.New("keyring: keyring.dsn is not a valid connection string")
	}
	return &postgresBackend{dsn: dsn}, nil
}

// withConn runs fn on the shared connection, (re)connecting as needed; a failed connection is
// dropped so the next call starts afresh.
func (p *postgresBackend) withConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.conn == nil || p.mu.conn.IsClosed() {
		c, err := pgx.Connect(ctx, p.dsn)
		if err != nil {
			return fmt.Errorf("keyring store: connect: %w", err)
		}
		p.mu.conn = c
	}
	err := fn(p.mu.conn)
	if err != nil && (p.mu.conn.IsClosed() || !isServerError(err)) {
		p.mu.conn.Close(context.Background())
		p.mu.conn = nil
	}
	return err
}

func isServerError(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) || errors.Is(err, ErrNotInitialized) || errors.Is(err, ErrExists)
}

// missingTable reports whether err says the keyring schema or table does not exist.
func missingTable(err error) bool {
	return sqlstate.IsServer(err, sqlstate.UndefinedTable, sqlstate.InvalidSchemaName)
}

func (p *postgresBackend) read(ctx context.Context) ([]byte, error) {
	var data string
	err := p.withConn(ctx, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `SELECT sealed FROM pgseal_keyring.keyring WHERE id = 1`).Scan(&data)
	})
	switch {
	case errors.Is(err, pgx.ErrNoRows) || missingTable(err):
		return nil, fmt.Errorf("keyring store postgres: %w", ErrNotInitialized)
	case err != nil:
		return nil, fmt.Errorf("keyring store: read: %w", err)
	}
	return []byte(data), nil
}

func (p *postgresBackend) create(ctx context.Context, data []byte, epoch uint64) error {
	return p.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, pgSchemaSQL); err != nil {
				return fmt.Errorf("keyring store: create schema: %w", err)
			}
			tag, err := tx.Exec(ctx, `INSERT INTO pgseal_keyring.keyring (id, epoch, sealed) VALUES (1, $1, $2)
				ON CONFLICT (id) DO NOTHING`, int64(epoch), string(data))
			if err != nil {
				return fmt.Errorf("keyring store: create: %w", err)
			}
			if tag.RowsAffected() == 0 {
				return fmt.Errorf("keyring store postgres: %w", ErrExists)
			}
			_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, strconv.FormatUint(epoch, 10))
			return err
		})
	})
}

func (p *postgresBackend) update(ctx context.Context, fn func([]byte) ([]byte, uint64, error)) error {
	return p.withConn(ctx, func(c *pgx.Conn) error {
		return pgx.BeginFunc(ctx, c, func(tx pgx.Tx) error {
			var old string
			err := tx.QueryRow(ctx, `SELECT sealed FROM pgseal_keyring.keyring WHERE id = 1 FOR UPDATE`).Scan(&old)
			if errors.Is(err, pgx.ErrNoRows) || missingTable(err) {
				return fmt.Errorf("keyring store postgres: %w", ErrNotInitialized)
			}
			if err != nil {
				return fmt.Errorf("keyring store: lock: %w", err)
			}
			data, epoch, err := fn([]byte(old))
			if err != nil || data == nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE pgseal_keyring.keyring SET sealed = $1, epoch = $2, updated_at = now() WHERE id = 1`,
				string(data), int64(epoch)); err != nil {
				return fmt.Errorf("keyring store: write: %w", err)
			}
			if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, strconv.FormatUint(epoch, 10)); err != nil {
				return fmt.Errorf("keyring store: notify: %w", err)
			}
			return nil
		})
	})
}

// watch LISTENs on a dedicated connection. After every (re)connect it calls fn once, because
// notifications sent while it was not listening are lost.
func (p *postgresBackend) watch(ctx context.Context, fn func()) error {
	const firstBackoff = 100 * time.Millisecond
	backoff := firstBackoff
	for {
		listened, _ := p.listen(ctx, fn) // on error, retry with backoff; reload failures are logged by the caller
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if listened {
			backoff = firstBackoff
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// listen reports whether it got as far as listening (then the next retry starts without delay
// growth) and why it stopped.
func (p *postgresBackend) listen(ctx context.Context, fn func()) (bool, error) {
	c, err := pgx.Connect(ctx, p.dsn)
	if err != nil {
		return false, err
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return false, err
	}
	fn()
	for {
		if _, err := c.WaitForNotification(ctx); err != nil {
			return true, err
		}
		fn()
	}
}

func (p *postgresBackend) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.conn != nil {
		err := p.mu.conn.Close(context.Background())
		p.mu.conn = nil
		return err
	}
	return nil
}
