package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gqlguard/gqlguard/internal/demo/billing"
	"github.com/gqlguard/gqlguard/internal/demo/issuer"
)

// ServeBilling runs the example billing API on listen and prints its GraphQL
// URL as the first line of out. It serves until ctx is done or stdin reaches
// end of file (the demo's parent process went away).
func ServeBilling(ctx context.Context, listen string, stdin io.Reader, out io.Writer) error {
	api, err := billing.New(billing.Options{UserHeader: "X-User-Id"})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/graphql", api)
	return serveChild(ctx, ln, mux, fmt.Sprintf("http://%s/graphql", ln.Addr()), stdin, out)
}

// ServeIssuer runs the demo's token issuer (OpenID discovery, JWKS and a
// password login at /token for the demo users) on listen, with its signing
// key kept in keyFile, and prints its URL as the first line of out.
func ServeIssuer(ctx context.Context, listen, keyFile, audience string, stdin io.Reader, out io.Writer, logger *slog.Logger) error {
	ln, base, err := issuer.Listen(listen)
	if err != nil {
		return err
	}
	users, err := issuer.DemoUsers()
	if err != nil {
		return err
	}
	iss, err := issuer.New(issuer.Options{Issuer: base, Audience: audience, KeyFile: keyFile, Users: users, Logger: logger})
	if err != nil {
		_ = ln.Close()
		return err
	}
	return serveChild(ctx, ln, iss.Handler(), base, stdin, out)
}

// serveChild serves h on ln until ctx is done or stdin closes, after
// printing url as the first line of out.
func serveChild(ctx context.Context, ln net.Listener, h http.Handler, url string, stdin io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	if _, err := fmt.Fprintln(out, url); err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		shutdown, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
