// Package demo runs `gqlguard demo`: the gateway on HTTPS with a development
// CA, in front of the example billing GraphQL API running as its own process,
// with copy-paste examples printed for the user.
package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gqlguard/gqlguard/internal/atomicfile"
	"github.com/gqlguard/gqlguard/internal/certs"
	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/demo/billing"
	"github.com/gqlguard/gqlguard/internal/server"
)

// Options configure the demo. Zero ports mean ephemeral ones.
type Options struct {
	// Host is the name the examples use; it must be covered by the
	// development certificate. Default "localhost".
	Host string
	// HTTPSPort, HTTPPort and AdminPort are the gateway's ports on 127.0.0.1.
	HTTPSPort, HTTPPort, AdminPort int
	// StateDir keeps the development CA between runs.
	StateDir string
	// UpstreamCommand starts the billing API process, IssuerCommand the
	// token issuer; each must print its URL as the first line of its
	// standard output, and is given "--listen 127.0.0.1:0" as extra
	// arguments. Default: this executable's demo billing-api and demo
	// token-issuer commands.
	UpstreamCommand, IssuerCommand []string
	// Stdout receives the examples; Logger the gateway's log.
	Stdout io.Writer
	Logger *slog.Logger
}

// Run starts the billing API and the gateway, prints the examples, and serves
// until ctx is done.
func Run(ctx context.Context, opts Options) error {
	if opts.Host == "" {
		opts.Host = "localhost"
	}
	ca, err := certs.EnsureDevCA(opts.StateDir, certs.DefaultHosts(), time.Now())
	if err != nil {
		return fmt.Errorf("demo: development CA: %w", err)
	}
	upstreamURL, stop, err := startChild(ctx, "billing-api", opts.UpstreamCommand)
	if err != nil {
		return err
	}
	defer stop()
	keyFile := filepath.Join(opts.StateDir, "demo", "issuer-key.pem")
	if err := os.MkdirAll(filepath.Dir(keyFile), 0o700); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	issuerURL, stopIssuer, err := startChild(ctx, "token-issuer", opts.IssuerCommand, "--key-file", keyFile, "--audience", demoAudience)
	if err != nil {
		return err
	}
	defer stopIssuer()

	cfg := config.Default()
	cfg.Listen = config.Listen{
		HTTPS: fmt.Sprintf("127.0.0.1:%d", opts.HTTPSPort),
		HTTP:  fmt.Sprintf("127.0.0.1:%d", opts.HTTPPort),
		Admin: fmt.Sprintf("127.0.0.1:%d", opts.AdminPort),
	}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = ca.CertFile, ca.KeyFile
	cfg.Upstream.URL = upstreamURL
	cfg.Upstream.HealthInterval = time.Second
	cfg.Server.ShutdownGrace = 5 * time.Second
	// No load balancer probes the demo on loopback, so nothing needs the
	// unready window before the listeners close: Ctrl-C stops it at once.
	cfg.Server.ShutdownDelay = 0
	cfg.Documents.Dir = filepath.Join(opts.StateDir, "demo", "trusted_documents")
	cfg.Documents.Capture.Dir = filepath.Join(opts.StateDir, "demo", "captured_documents")
	cfg.Documents.Schema = filepath.Join(opts.StateDir, "demo", "billing.graphql")
	cfg.Auth.JWT.Issuers = []config.Issuer{{Issuer: issuerURL}}
	cfg.Auth.JWT.Audiences = []string{demoAudience}
	if err := os.MkdirAll(filepath.Dir(cfg.Documents.Schema), 0o755); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if err := atomicfile.Write(cfg.Documents.Schema, []byte(billing.Schema()), 0o644); err != nil {
		return fmt.Errorf("demo: schema: %w", err)
	}
	docs, err := registerClient(ctx, cfg.Documents.Dir)
	if err != nil {
		return err
	}
	server.TuneRuntime(cfg.Server)
	srv, err := server.New(cfg, opts.Logger)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return fmt.Errorf("demo: %w (choose other ports with --https-port, --http-port, --admin-port)", err)
	}
	httpsAddr, httpAddr, adminAddr := srv.Addrs()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	// The examples are printed once every one of them can succeed: the
	// upstream answered and the issuer's keys are loaded.
	deadline := time.Now().Add(30 * time.Second)
	for srv.Ready() != nil && time.Now().Before(deadline) {
		select {
		case err := <-served:
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
	if err := srv.Ready(); err != nil {
		opts.Logger.Warn("demo: not ready yet; the examples may fail until it is", "reason", err)
	}
	printExamples(opts.Stdout, examples{
		host: opts.Host, https: port(httpsAddr), http: port(httpAddr), admin: port(adminAddr),
		ca: ca, upstream: upstreamURL, docs: docs, docsDir: cfg.Documents.Dir, issuer: issuerURL,
	})
	return <-served
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// demoAudience is the aud of the demo's tokens.
const demoAudience = "billing-api"

// startChild runs one of the demo's services (the billing API, the token
// issuer) as its own process and waits for the URL it prints. The child's
// standard input is a pipe held by this process: when this process exits for
// any reason, the pipe closes and the child stops.
func startChild(ctx context.Context, name string, command []string, args ...string) (string, func(), error) {
	if len(command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return "", nil, fmt.Errorf("demo: %w", err)
		}
		command = []string{exe, "demo", name}
	}
	cmd := exec.Command(command[0], append(append(command[1:], args...), "--listen", "127.0.0.1:0")...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("demo: starting the %s: %w", name, err)
	}
	stop := func() {
		_ = stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case line, ok := <-lines:
		if !ok || !strings.HasPrefix(line, "http://") {
			stop()
			return "", nil, fmt.Errorf("demo: the %s did not start", name)
		}
		return line, stop, nil
	case <-time.After(30 * time.Second):
		stop()
		return "", nil, fmt.Errorf("demo: the %s did not start within 30s", name)
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
	}
}
