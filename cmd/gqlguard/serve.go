package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/server"
	"github.com/gqlguard/gqlguard/internal/telemetry"
)

// cmdServe runs the gateway until a signal arrives. Flags are shortcuts into
// the config schema: each overrides one key of the file (or of the defaults
// when no file is given).
func cmdServe(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("c", "", "config `file` (YAML)")
	fs.StringVar(file, "config", "", "config `file` (YAML); same as -c")
	// The shortcuts: each given flag sets its key (see flags below).
	fs.String("upstream", "", "upstream GraphQL `URL` (upstream.url)")
	fs.String("listen", "", "HTTPS listen `address` (listen.https)")
	fs.String("http", "", "plain-HTTP redirect listen `address` (listen.http); \"\" turns it off")
	fs.String("admin", "", "admin listen `address` (listen.admin); \"\" turns it off")
	fs.String("cert", "", "certificate chain PEM `file` (tls.cert_file)")
	fs.String("key", "", "private key PEM `file` (tls.key_file)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	flags := func(cfg *config.Config) {
		keys := map[string]*string{
			"upstream": &cfg.Upstream.URL, "listen": &cfg.Listen.HTTPS, "http": &cfg.Listen.HTTP,
			"admin": &cfg.Listen.Admin, "cert": &cfg.TLS.CertFile, "key": &cfg.TLS.KeyFile,
		}
		fs.Visit(func(f *flag.Flag) {
			if key, ok := keys[f.Name]; ok {
				*key = f.Value.String()
			}
		})
	}
	cfg, err := loadConfig(*file, flags)
	if err != nil {
		fmt.Fprintf(stderr, "gqlguard: %v\n", err)
		return 1
	}
	logger := newLogger(cfg.Log, stderr)
	server.TuneRuntime(cfg.Server)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	now, stopCounting := secondStopSignal()
	defer stopCounting()
	srv, err := server.New(cfg, logger, server.WithReloadSignal(hup), server.WithShutdownNow(now))
	if err != nil {
		fmt.Fprintf(stderr, "gqlguard: %v\n", err)
		return 1
	}
	if err := srv.Listen(); err != nil {
		fmt.Fprintf(stderr, "gqlguard: %v\n", err)
		return 1
	}
	err = srv.Serve(ctx)
	if l, ok := logger.Handler().(*telemetry.RepeatLimit); ok {
		l.Flush() // the last second's suppressed lines
	}
	if err != nil {
		logger.Error("gateway stopped", "error", err)
		return 1
	}
	logger.Info("gateway stopped")
	return 0
}

// loadConfig reads file (or takes the defaults when file is empty), applies
// the flags, and validates the result.
//
// Every problem is reported at once: the file's, a missing certificate,
// and files that cannot be read.
func loadConfig(file string, flags func(*config.Config)) (*config.Config, error) {
	checks := []func(*config.Config) error{(*config.Config).RequireCertificate, (*config.Config).CheckFiles}
	return config.LoadChecked(file, os.LookupEnv, checks, flags)
}

// secondStopSignal returns a channel closed by the second SIGTERM or SIGINT,
// and a function that stops counting. The first signal stops the gateway
// (main's context); operators who send another expect it to hurry, so it
// skips the rest of server.shutdown_delay. Every signal reaches every channel
// registered for it, so counting here does not depend on when main's context
// saw the first.
func secondStopSignal() (<-chan struct{}, func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	now, done := make(chan struct{}), make(chan struct{})
	go func() {
		for n := 0; n < 2; n++ {
			select {
			case <-sigs:
			case <-done:
				return
			}
		}
		close(now)
	}()
	return now, func() { signal.Stop(sigs); close(done) }
}
