package main

// The keyring commands: keyring init, keyset …, client …, access-key create. Each is a thin
// layer over keyring.Manager (the control API calls the same Manager), printing a table or JSON.

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/pgseal/pgseal/internal/config"
	"github.com/pgseal/pgseal/internal/keyring"
)

// cmdEnv is what every keyring command gets after flag parsing.
type cmdEnv struct {
	args   []string // positionals
	json   bool
	stdout io.Writer
	m      *keyring.Manager // nil for a verb with noKeyring
	cfg    *config.Config
}

// subcommand describes one "<group> <verb>" command.
type subcommand struct {
	usage string // positionals, for messages
	nargs int
	flags func(fs *flag.FlagSet) // extra flags, may be nil
	run   func(ctx context.Context, e *cmdEnv) error
	// before runs ahead of opening the keyring (may be nil); noKeyring skips opening it.
	before    func(ctx context.Context, e *cmdEnv) error
	noKeyring bool
}

// dispatch parses args as "<verb> [positionals and flags]" and runs the verb.
func dispatch(ctx context.Context, group string, verbs map[string]subcommand, order []string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return usageError{fmt.Sprintf("%s: want a subcommand: %s", group, strings.Join(order, "|"))}
	}
	verb, ok := verbs[args[0]]
	if !ok {
		return usageError{fmt.Sprintf("%s: unknown subcommand %q (want %s)", group, args[0], strings.Join(order, "|"))}
	}
	name := group + " " + args[0]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: proxy %s %s [flags]\n", name, verb.usage)
		fs.PrintDefaults()
	}
	cfgPath := fs.String("config", "proxy.toml", "configuration file")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if verb.flags != nil {
		verb.flags(fs)
	}
	pos, err := parseInterspersed(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return usageError{name + ": " + err.Error()}
	}
	if len(pos) != verb.nargs {
		return usageError{fmt.Sprintf("%s: want %s, got %d argument(s)", name, orNone(verb.usage), len(pos))}
	}
	cfg, err := config.Load(*cfgPath, nil)
	if err != nil {
		return err
	}
	e := &cmdEnv{args: pos, json: *asJSON, stdout: stdout, cfg: cfg}
	if verb.before != nil {
		if err := verb.before(ctx, e); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if !verb.noKeyring {
		if e.m, err = keyring.OpenManager(ctx, cfg.Keyring, nil); err != nil {
			return err
		}
		defer e.m.Close()
	}
	if err := verb.run(ctx, e); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "no arguments"
	}
	return s
}

// parseInterspersed lets flags come before, between or after positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}

// runKeyring: "keyring init", "keyring rewrap --to URI".
func runKeyring(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var to string
	verbs := map[string]subcommand{
		"rewrap": {nargs: 0, noKeyring: true,
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&to, "to", "", "the key-management key to wrap the master key under (default: keyring.master_key)")
			},
			run: func(ctx context.Context, e *cmdEnv) error {
				if to == "" {
					to = e.cfg.Keyring.MasterKey
				}
				from, err := keyring.RewrapKMSMasterKey(ctx, e.cfg.Keyring, to)
				if err != nil {
					return err
				}
				fmt.Fprintf(e.stdout, "master key rewrapped from %s to %s in %s\n", from, to, e.cfg.Keyring.MasterKeyWrappedFile)
				if to != e.cfg.Keyring.MasterKey {
					fmt.Fprintf(e.stdout, "set keyring.master_key = %q in the configuration\n", to)
				}
				return nil
			}},
		"init": {nargs: 0, before: func(ctx context.Context, e *cmdEnv) error {
			created, err := keyring.CreateKMSMasterKey(ctx, e.cfg.Keyring)
			if created && !e.json {
				fmt.Fprintf(e.stdout, "created master key under %s, wrapped in %s\n", e.cfg.Keyring.MasterKey, e.cfg.Keyring.MasterKeyWrappedFile)
			}
			return err
		}, run: func(ctx context.Context, e *cmdEnv) error {
			info, err := e.m.Init(ctx)
			if err != nil {
				return err
			}
			if e.json {
				return printJSON(e.stdout, info)
			}
			fmt.Fprintf(e.stdout, "created keyring %s (epoch %d) with keyset %q (%s)\n", info.ID, info.Epoch, info.Default.Name, info.Default.ID)
			return nil
		}},
	}
	return dispatch(ctx, "keyring", verbs, []string{"init", "rewrap"}, args, stdout, stderr)
}

// runKeyset: "keyset create|list|grant|revoke|rotate|rotate-index|disable|enable|retire-generation".
func runKeyset(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var description string
	oneKeyset := func(op func(*keyring.Manager) func(context.Context, string) (keyring.KeysetInfo, error)) subcommand {
		return subcommand{usage: "KEYSET", nargs: 1, run: func(ctx context.Context, e *cmdEnv) error {
			ks, err := op(e.m)(ctx, e.args[0])
			if err != nil {
				return err
			}
			return printKeysets(e, []keyring.KeysetInfo{ks}, false)
		}}
	}
	grantOp := func(op func(*keyring.Manager) func(context.Context, string, string) error, done string) subcommand {
		return subcommand{usage: "KEYSET CLIENT", nargs: 2, run: func(ctx context.Context, e *cmdEnv) error {
			if err := op(e.m)(ctx, e.args[0], e.args[1]); err != nil {
				return err
			}
			if e.json {
				return printJSON(e.stdout, map[string]string{"keyset": e.args[0], "client": e.args[1], "result": done})
			}
			fmt.Fprintf(e.stdout, "%s: keyset %s, client %s\n", done, e.args[0], e.args[1])
			return nil
		}}
	}
	verbs := map[string]subcommand{
		"create": {usage: "NAME", nargs: 1,
			flags: func(fs *flag.FlagSet) { fs.StringVar(&description, "description", "", "what the keyset is for") },
			run: func(ctx context.Context, e *cmdEnv) error {
				ks, err := e.m.CreateKeyset(ctx, e.args[0], description)
				if err != nil {
					return err
				}
				return printKeysets(e, []keyring.KeysetInfo{ks}, false)
			}},
		"list": {nargs: 0, run: func(ctx context.Context, e *cmdEnv) error {
			ks, err := e.m.ListKeysets(ctx)
			if err != nil {
				return err
			}
			return printKeysets(e, ks, true)
		}},
		"grant":  grantOp(func(m *keyring.Manager) func(context.Context, string, string) error { return m.Grant }, "granted"),
		"revoke": grantOp(func(m *keyring.Manager) func(context.Context, string, string) error { return m.Revoke }, "revoked"),
		"rotate": oneKeyset(func(m *keyring.Manager) func(context.Context, string) (keyring.KeysetInfo, error) { return m.Rotate }),
		"rotate-index": oneKeyset(func(m *keyring.Manager) func(context.Context, string) (keyring.KeysetInfo, error) {
			return m.RotateIndex
		}),
		"disable":           oneKeyset(func(m *keyring.Manager) func(context.Context, string) (keyring.KeysetInfo, error) { return m.Disable }),
		"enable":            oneKeyset(func(m *keyring.Manager) func(context.Context, string) (keyring.KeysetInfo, error) { return m.Enable }),
		"retire-generation": retireSubcommand(), // refuses while values use it (migrate_cmds.go)
	}
	order := []string{"create", "list", "grant", "revoke", "rotate", "rotate-index", "disable", "enable", "retire-generation"}
	return dispatch(ctx, "keyset", verbs, order, args, stdout, stderr)
}

func retireGeneration(ctx context.Context, e *cmdEnv) error {
	gen, err := strconv.ParseUint(e.args[1], 10, 32)
	if err != nil || gen == 0 {
		return usageError{fmt.Sprintf("generation %q: want a positive number", e.args[1])}
	}
	ks, err := e.m.RetireGeneration(ctx, e.args[0], uint32(gen))
	if err != nil {
		return err
	}
	return printKeysets(e, []keyring.KeysetInfo{ks}, false)
}

// runClient: "client create|list".
func runClient(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var noDefault bool
	verbs := map[string]subcommand{
		"create": {usage: "NAME", nargs: 1,
			flags: func(fs *flag.FlagSet) {
				fs.BoolVar(&noDefault, "no-default-grant", false, "do not grant the default keyset")
			},
			run: func(ctx context.Context, e *cmdEnv) error {
				c, err := e.m.CreateClient(ctx, e.args[0], !noDefault)
				if err != nil {
					return err
				}
				return printClients(e, []keyring.ClientInfo{c}, false)
			}},
		"list": {nargs: 0, run: func(ctx context.Context, e *cmdEnv) error {
			cs, err := e.m.ListClients(ctx)
			if err != nil {
				return err
			}
			return printClients(e, cs, true)
		}},
	}
	return dispatch(ctx, "client", verbs, []string{"create", "list"}, args, stdout, stderr)
}

// runAccessKey: "access-key create --role control". The only command that prints a secret.
func runAccessKey(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var role string
	verbs := map[string]subcommand{
		"create": {nargs: 0,
			flags: func(fs *flag.FlagSet) { fs.StringVar(&role, "role", "", "the key's role (control)") },
			run: func(ctx context.Context, e *cmdEnv) error {
				if role == "" {
					return usageError{"--role is required (control)"}
				}
				info, secret, err := e.m.CreateAccessKey(ctx, role)
				if err != nil {
					return err
				}
				if e.json {
					return printJSON(e.stdout, map[string]any{"id": info.ID, "role": info.Role, "created_at": info.CreatedAt, "access_key": secret})
				}
				fmt.Fprintf(e.stdout, "access key %s (role %s):\n\n  %s\n\nStore it now: it is shown only this once.\n", info.ID, info.Role, secret)
				return nil
			}},
	}
	return dispatch(ctx, "access-key", verbs, []string{"create"}, args, stdout, stderr)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printKeysets prints a table, or JSON (a list for list commands, one object otherwise).
func printKeysets(e *cmdEnv, ks []keyring.KeysetInfo, list bool) error {
	if e.json {
		if list {
			return printJSON(e.stdout, ks)
		}
		return printJSON(e.stdout, ks[0])
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSTATE\tPRIMARY GEN\tGENERATIONS\tDESCRIPTION")
	for _, k := range ks {
		gens := make([]string, len(k.Generations))
		for i, g := range k.Generations {
			gens[i] = fmt.Sprintf("%d:%s", g.Gen, g.State)
			if g.IndexGen > 1 { // index keys rotated (keyset rotate-index)
				gens[i] += fmt.Sprintf("(index %d)", g.IndexGen)
			}
		}
		name := k.Name
		if k.Default {
			name += " (default)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", name, k.ID, k.State, k.PrimaryGeneration, strings.Join(gens, ","), k.Description)
	}
	return tw.Flush()
}

func printClients(e *cmdEnv, cs []keyring.ClientInfo, list bool) error {
	if e.json {
		if list {
			return printJSON(e.stdout, cs)
		}
		return printJSON(e.stdout, cs[0])
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tACTIVE\tGRANTS\tCREATED")
	for _, c := range cs {
		grants := strings.Join(c.Grants, ",")
		if grants == "" {
			grants = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%t\t%s\t%s\n", c.Name, c.ID, c.Active, grants, c.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}
