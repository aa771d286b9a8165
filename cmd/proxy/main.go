// Command proxy is pgseal: a transparent encrypting PostgreSQL wire proxy.
//
//	proxy serve --config proxy.toml     run the proxy
//	proxy dev                           a throwaway PostgreSQL with pgseal in front, for trying it
//	proxy keyring init | keyset … | client … | access-key …   manage keys (see README)
//	proxy check --dsn … [--file F]      which statements pgseal would refuse (exit 1 if any)
//	proxy version                       print the version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode prints err in one line and maps it to the exit status: 0 ok, 2 bad usage (or a check
// that could not run), 1 anything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "proxy: %v\n", oneLine(err))
	if errors.As(err, new(usageError)) || isCheckError(err) {
		return 2
	}
	return 1
}

const usageText = `usage: proxy <command> [arguments]

commands:
  serve --config proxy.toml       run the proxy
  dev [--listen ADDR]             throwaway PostgreSQL + pgseal with a demo, for trying it
  keyring init                    create the configured keyring (and a KMS-wrapped master key)
  keyring rewrap [--to URI]       wrap the master key under another key-management key
  keyset create|list|grant|revoke|rotate|rotate-index|disable|enable|retire-generation
  client create|list
  access-key create --role control
  encrypt --table T --column C    encrypt an existing plaintext column in place, online
  decrypt --table T --column C    turn an encrypted column back into plaintext, online
  reencrypt --keyset NAME         move values to the keyset's newest generation after a rotation
  reindex [--table T --column C]  give values the ord/match terms they lack, create the search indexes
  status                          per encrypted column: plaintext and encrypted rows by keyset, envelope CHECK, search terms and indexes
  protect [--table T --column C]  add the envelope CHECK so PostgreSQL refuses plaintext in encrypted columns
  check --dsn DSN [--file F]      which statements (pg_stat_statements, a SQL file or log) pgseal would refuse
  version                         print the version
every command takes --config (default proxy.toml); run "proxy <command> -h" for its flags`

// run is main without the process: testable in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usageText)
		return usageError{"no command given"}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, stdout, stderr)
	case "dev":
		return runDev(ctx, rest, stdout, stderr)
	case "keyring":
		return runKeyring(ctx, rest, stdout, stderr)
	case "keyset":
		return runKeyset(ctx, rest, stdout, stderr)
	case "client":
		return runClient(ctx, rest, stdout, stderr)
	case "access-key":
		return runAccessKey(ctx, rest, stdout, stderr)
	case "encrypt":
		return runEncrypt(ctx, rest, stdout, stderr)
	case "decrypt":
		return runDecrypt(ctx, rest, stdout, stderr)
	case "reencrypt":
		return runReencrypt(ctx, rest, stdout, stderr)
	case "reindex":
		return runReindex(ctx, rest, stdout, stderr)
	case "status":
		return runStatus(ctx, rest, stdout, stderr)
	case "protect":
		return runProtect(ctx, rest, stdout, stderr)
	case "check":
		return runCheck(ctx, rest, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "pgseal", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usageText)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q (run \"proxy help\")", cmd)}
}

func oneLine(err error) string {
	b := []byte(err.Error())
	for i, c := range b {
		if c == '\n' {
			b[i] = ';'
		}
	}
	return string(b)
}
