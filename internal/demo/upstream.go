package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gqlguard/gqlguard/internal/demo/billing"
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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_, _ = io.Copy(io.Discard, stdin)
		cancel()
	}()
	mux := http.NewServeMux()
	mux.Handle("/graphql", api)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	if _, err := fmt.Fprintf(out, "http://%s/graphql\n", ln.Addr()); err != nil {
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
