// Command gqlguard is a GraphQL security gateway: it serves GraphQL over HTTPS
// only and forwards checked requests to the GraphQL server behind it.
//
// Usage:
//
//	gqlguard serve -c gqlguard.yaml          run the gateway
//	gqlguard serve --upstream URL --cert C --key K
//	gqlguard demo                            the gateway in front of an example API
//	gqlguard config check -c gqlguard.yaml   print the effective config and its warnings
//	gqlguard version
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/telemetry"
)

const usage = `gqlguard — a GraphQL security gateway

Usage:
  gqlguard serve -c FILE                 run the gateway with a config file
  gqlguard serve --upstream URL --cert FILE --key FILE [--listen ADDR] [--http ADDR] [--admin ADDR]
  gqlguard demo [--https-port N] [--http-port N] [--admin-port N]
  gqlguard docs COMMAND                  trusted documents: hash, manifest, check, usage, push, captured, promote
  gqlguard config check -c FILE          print the effective config (secrets redacted) and warnings
  gqlguard version

Run "gqlguard COMMAND -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command and returns the process exit code: 0 on success,
// 1 on failure, 2 on a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr)
	case "demo":
		if len(args) > 1 && args[1] == "billing-api" {
			return cmdBillingAPI(ctx, args[2:], stdin, stdout, stderr)
		}
		if len(args) > 1 && args[1] == "token-issuer" {
			return cmdTokenIssuer(ctx, args[2:], stdin, stdout, stderr)
		}
		return cmdDemo(ctx, args[1:], stdout, stderr)
	case "docs":
		return cmdDocs(ctx, args[1:], stdout, stderr)
	case "config":
		if len(args) < 2 || args[1] != "check" {
			fmt.Fprint(stderr, "usage: gqlguard config check -c FILE\n")
			return 2
		}
		return cmdConfigCheck(args[2:], stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "gqlguard %s\n", version())
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "gqlguard: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := info.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v + " " + info.GoVersion
}

// newLogger returns the logger the config asks for, writing to w.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Level))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if cfg.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = telemetry.NewJSONLogger(w, level).Handler()
	}
	// A failure that hits every request must not cost a warning per
	// request: a flood of them buries everything else and fills disks.
	return slog.New(telemetry.LimitRepeats(h, telemetry.RepeatOptions{}))
}
