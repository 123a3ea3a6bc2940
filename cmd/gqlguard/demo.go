package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/demo"
)

// cmdDemo runs the gateway in front of the example billing API.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpsPort := fs.Int("https-port", 8443, "HTTPS `port` of the gateway (0 picks a free one)")
	httpPort := fs.Int("http-port", 8080, "plain-HTTP redirect `port` (0 picks a free one)")
	adminPort := fs.Int("admin-port", 9090, "admin `port` on 127.0.0.1 (0 picks a free one)")
	stateDir := fs.String("state-dir", "", "`directory` for the development CA (default $XDG_STATE_HOME/gqlguard or ~/.local/state/gqlguard)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *stateDir == "" {
		dir, err := certs.DefaultStateDir()
		if err != nil {
			fmt.Fprintf(stderr, "gqlguard: %v\n", err)
			return 1
		}
		*stateDir = dir
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err := demo.Run(ctx, demo.Options{
		HTTPSPort: *httpsPort, HTTPPort: *httpPort, AdminPort: *adminPort,
		StateDir: *stateDir, Stdout: stdout, Logger: logger,
	})
	if err != nil {
		fmt.Fprintf(stderr, "gqlguard: %v\n", err)
		return 1
	}
	return 0
}

// cmdBillingAPI is the demo's upstream process (started by cmdDemo).
func cmdBillingAPI(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo billing-api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "listen `address`")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := demo.ServeBilling(ctx, *listen, stdin, stdout); err != nil {
		fmt.Fprintf(stderr, "gqlguard: billing API: %v\n", err)
		return 1
	}
	return 0
}

// cmdTokenIssuer is the demo's token issuer process (started by cmdDemo).
func cmdTokenIssuer(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo token-issuer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback listen `address`")
	keyFile := fs.String("key-file", "", "signing key `file` (created on first run)")
	audience := fs.String("audience", "billing-api", "aud of issued tokens")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *keyFile == "" {
		fmt.Fprintln(stderr, "usage: gqlguard demo token-issuer --key-file FILE [--listen ADDR] [--audience AUD]")
		return 2
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := demo.ServeIssuer(ctx, *listen, *keyFile, *audience, stdin, stdout, logger); err != nil {
		fmt.Fprintf(stderr, "gqlguard: token issuer: %v\n", err)
		return 1
	}
	return 0
}
