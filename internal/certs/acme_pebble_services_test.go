package certs

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The gateway side of acme_pebble_test.go: the listeners Pebble validates
// challenges against. Pebble itself is run by internal/testutil/pebble.

// acmeFrontend plays the gateway's listeners: a plain-HTTP server with
// HTTPHandler and an HTTPS server with GetCertificate and NextProtos of the
// current ACME, counting the challenges they answer.
type acmeFrontend struct {
	acme atomic.Pointer[ACME]
	http atomic.Int64
	alpn atomic.Int64
}

func (f *acmeFrontend) counts() (http01, tlsALPN01 int64) {
	return f.http.Load(), f.alpn.Load()
}

func (f *acmeFrontend) start(t *testing.T) (httpAddr, httpsAddr string) {
	quiet := log.New(io.Discard, "", 0)
	plain := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          quiet,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, acmeChallengePath) {
				f.http.Add(1)
			}
			f.acme.Load().HTTPHandler(http.NotFoundHandler()).ServeHTTP(w, r)
		}),
	}
	secure := &http.Server{
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          quiet,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok\n")
		}),
	}
	tlsConfig := &tls.Config{
		GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
			a := f.acme.Load()
			if len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmeTLS1 {
				f.alpn.Add(1)
			}
			return &tls.Config{
				GetCertificate: a.GetCertificate,
				NextProtos:     append([]string{"h2", "http/1.1"}, a.NextProtos()...),
			}, nil
		},
	}
	httpLn := listenLoopback(t)
	httpsLn := listenLoopback(t)
	go func() { _ = plain.Serve(httpLn) }()
	go func() { _ = secure.Serve(tls.NewListener(httpsLn, tlsConfig)) }()
	t.Cleanup(func() {
		_ = plain.Close()
		_ = secure.Close()
	})
	return httpLn.Addr().String(), httpsLn.Addr().String()
}

func listenLoopback(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
