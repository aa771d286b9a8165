package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"

	"go.uber.org/zap"

	"github.com/pgseal/pgseal/internal/admin"
	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/control"
	"github.com/pgseal/pgseal/internal/gcfloor"
	"github.com/pgseal/pgseal/internal/keyring"
	"github.com/pgseal/pgseal/internal/metrics"
	"github.com/pgseal/pgseal/internal/seal"
	"github.com/pgseal/pgseal/internal/wire"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "proxy.toml", "configuration file")
	level := fs.String("log-level", "", "override [log] level (debug, info, warn, error)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("serve: unexpected argument %q", fs.Arg(0))}
	}
	cfg, err := config.Load(*path, nil)
	if err != nil {
		return err
	}
	if *level != "" {
		cfg.Log.Level = *level
	}
	return serve(ctx, cfg, stderr, nil)
}

// serve runs the proxy and its admin server until ctx is done. ready, if not nil, receives the
// bound client and admin addresses once both listeners are up (for `proxy dev` and tests).
func serve(ctx context.Context, cfg *config.Config, logOut io.Writer, ready func(addr, adminAddr string)) error {
	log, err := newLogger(cfg.Log, logOut)
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()
	if len(cfg.Encrypt) > 0 {
		// Per-value keys make garbage; a pure relay makes little and keeps Go's default GOGC.
		defer gcfloor.Keep(gcfloor.Floor)() // unless GOGC is set: see internal/gcfloor
	}
	m := metrics.New()
	m.KeysetLabels = cfg.Metrics.KeysetLabels
	kr, err := openKeyring(ctx, cfg, log, m)
	if err != nil {
		return err
	}
	defer kr.Close()
	icpt, err := seal.ForConfig(cfg, kr, log, m)
	if err != nil {
		return err
	}
	srv, err := wire.NewServer(wire.Options{Config: cfg, Logger: log, Metrics: m, Interceptor: icpt})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Server.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Server.Listen, err)
	}
	// Either server failing stops both; the first error is the one reported.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	g := &runGroup{errc: make(chan error, 2), cancel: cancel}
	goServe := g.goServe
	adminAddr := ""
	if cfg.Server.AdminListen != "" {
		aln, err := net.Listen("tcp", cfg.Server.AdminListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (admin): %w", cfg.Server.AdminListen, err)
		}
		adm := adminServer(m, log, srv, kr)
		goServe(func() error { return adm.Serve(ctx, aln) })
		adminAddr = aln.Addr().String()
		log.Info("admin listening", zap.String("addr", adminAddr))
	}
	goServe(func() error { return srv.Serve(ctx, ln) })
	log.Info("pgseal listening", zap.String("addr", ln.Addr().String()), zap.String("upstream", cfg.Upstream.Address), zap.String("version", version))
	if ready != nil {
		ready(ln.Addr().String(), adminAddr)
	}
	err = g.wait()
	log.Info("pgseal stopped")
	return err
}

// runGroup runs servers until the first one ends: that cancels the others' context, and the
// first error other than the cancellation is the one reported.
type runGroup struct {
	wg     sync.WaitGroup
	errc   chan error // buffered for every server
	cancel func()
}

func (g *runGroup) goServe(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil && !errors.Is(err, context.Canceled) {
			g.errc <- err
		}
		g.cancel()
	}()
}

func (g *runGroup) wait() error {
	g.wg.Wait()
	close(g.errc)
	return <-g.errc
}

// openKeyring opens the configured keyring with its reload hook feeding the metrics.
func openKeyring(ctx context.Context, cfg *config.Config, log *zap.Logger, m *metrics.Metrics) (*keyring.Keyring, error) {
	kr, err := keyring.Open(ctx, cfg.Keyring, nil, log, keyring.WithSuiteName(cfg.Crypto.Suite), keyring.WithReloadHook(reloadMetrics(m)))
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	m.KeyringEpoch.Set(float64(kr.Snapshot().Epoch()))
	// The state file is the rollback guard across restarts: say where it is, so that an operator
	// sees one on storage that does not survive restarts.
	log.Info("keyring opened", zap.Uint64("epoch", kr.Snapshot().Epoch()), zap.String("state_file", cfg.Keyring.StatePath))
	return kr, nil
}

// reloadMetrics is the keyring's reload hook: the reload counter by outcome, sealed, and epoch.
func reloadMetrics(m *metrics.Metrics) func(epoch uint64, err error) {
	return func(epoch uint64, err error) {
		switch {
		case errors.Is(err, keyring.ErrSealed):
			m.KeyringReloads.WithLabelValues("sealed").Inc()
			m.KeyringSealed.Set(1)
			m.KeyringEpoch.Set(float64(epoch))
		case err != nil:
			m.KeyringReloads.WithLabelValues("error").Inc()
		default:
			m.KeyringReloads.WithLabelValues("ok").Inc()
			m.KeyringSealed.Set(0)
			m.KeyringEpoch.Set(float64(epoch))
		}
	}
}

// adminServer is the admin listener's handler: metrics, the upstream and keyring checks, and
// the control API.
func adminServer(m *metrics.Metrics, log *zap.Logger, srv *wire.Server, kr *keyring.Keyring) *admin.Server {
	adm := admin.New(m.Registry, log,
		admin.Check{Name: "upstream", Func: srv.CheckUpstream},
		admin.Check{Name: "keyring", Func: func(context.Context) error {
			if kr.Snapshot() == nil {
				return errors.New("not loaded")
			}
			// Sealed: every statement on an encrypted column would be refused.
			return kr.Snapshot().Sealed()
		}})
	api := control.NewHandler(kr, nil, log)
	for _, p := range control.Paths() {
		adm.Handle(p, api)
	}
	return adm
}
