// Command testsslenv runs the gateway with its default configuration on a
// loopback port, with a certificate from a throw-away CA that, like every
// public CA, names an OCSP responder (served here too), so that an external
// TLS scanner sees what production sees. It prints
// "READY <https-url> <ca-file>" and serves until interrupted.
//
// The CA's key and the certificates are written to the directory named by
// -dir, which the caller removes, or else to a temporary directory removed
// on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/server"
	"github.com/gqlguard/gqlguard/internal/x509sign"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "testsslenv:", err)
		os.Exit(1)
	}
}

func run() error {
	dirFlag := flag.String("dir", "", "directory for the CA key and certificates (default: a temporary one)")
	flag.Parse()
	dir, err := workDir(*dirFlag)
	if err != nil {
		return err
	}
	if *dirFlag == "" {
		defer os.RemoveAll(dir)
	}

	ca, caKey, err := x509sign.Sign(&x509.Certificate{
		Subject:   pkix.Name{CommonName: "gqlguard scan CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil, nil)
	if err != nil {
		return err
	}

	ocspLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		_ = http.Serve(ocspLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
			req, err := ocsp.ParseRequest(body)
			if err != nil {
				http.Error(w, "bad request", http.StatusBadRequest)
				return
			}
			resp, err := ocsp.CreateResponse(ca, ca, ocsp.Response{Status: ocsp.Good, SerialNumber: req.SerialNumber,
				ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(12 * time.Hour)}, caKey)
			if err != nil {
				http.Error(w, "error", http.StatusInternalServerError)
				return
			}
			w.Header().Set("Content-Type", "application/ocsp-response")
			_, _ = w.Write(resp)
		}))
	}()

	leaf, key, err := x509sign.Sign(&x509.Certificate{
		Subject:   pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(90 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		OCSPServer: []string{"http://" + ocspLn.Addr().String()},
	}, ca, caKey, nil)
	if err != nil {
		return err
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	files := map[string][]byte{
		"ca.pem":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw}),
		"cert.pem": append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leaf.Raw}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...),
		"key.pem":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			return err
		}
	}

	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go func() {
		_ = http.Serve(upLn, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"data":{"__typename":"Query"}}`)
		}))
	}()

	// The default configuration, changed only where a scan needs it: ports,
	// the certificate, and a documents folder that is not left behind.
	cfg := config.Default()
	cfg.Listen = config.Listen{HTTPS: "127.0.0.1:0", HTTP: "127.0.0.1:0", Admin: "127.0.0.1:0"}
	cfg.TLS.CertFile, cfg.TLS.KeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cfg.Documents.Dir = filepath.Join(dir, "documents")
	cfg.Upstream.URL = "http://" + upLn.Addr().String() + "/graphql"
	// Nothing probes readiness here; the script's cleanup stops it at once.
	cfg.Server.ShutdownDelay = 0
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(cfg, logger)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	https, _, _ := srv.Addrs()
	_, port, _ := net.SplitHostPort(https)
	fmt.Printf("READY https://localhost:%s %s\n", port, filepath.Join(dir, "ca.pem"))
	return srv.Serve(ctx)
}

// workDir creates dir, private to the user, or a temporary directory when
// dir is empty.
func workDir(dir string) (string, error) {
	if dir == "" {
		return os.MkdirTemp("", "gqlguard-testssl-")
	}
	return dir, os.MkdirAll(dir, 0o700)
}
