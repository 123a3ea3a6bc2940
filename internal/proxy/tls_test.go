package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gqlguard/gqlguard/internal/config"
)

// zeroPin is a well-formed pin that no key has.
const zeroPin = "sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

func writeCertPEM(t *testing.T, cert *x509.Certificate) string {
	t.Helper()
	return writeFile(t, "ca.pem", string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})))
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestClientTLSConfigDefaults(t *testing.T) {
	c, err := ClientTLSConfig(config.UpstreamTLS{})
	if err != nil {
		t.Fatal(err)
	}
	if c.MinVersion != tls.VersionTLS12 || c.RootCAs != nil || c.ServerName != "" || c.Certificates != nil || c.VerifyConnection != nil {
		t.Errorf("zero config gives MinVersion %x RootCAs %v ServerName %q Certificates %d VerifyConnection set %t; want TLS 1.2, system roots, URL host, none, unset",
			c.MinVersion, c.RootCAs, c.ServerName, len(c.Certificates), c.VerifyConnection != nil)
	}
	c, err = ClientTLSConfig(config.UpstreamTLS{ServerName: "graphql.internal", Pins: []string{zeroPin}})
	if err != nil {
		t.Fatal(err)
	}
	if c.ServerName != "graphql.internal" || c.VerifyConnection == nil {
		t.Errorf("ServerName %q, VerifyConnection set %t", c.ServerName, c.VerifyConnection != nil)
	}
}

func TestClientTLSConfigErrorsNameTheKey(t *testing.T) {
	notPEM := writeFile(t, "ca.pem", "this is not a certificate\n")
	tests := []struct {
		name string
		cfg  config.UpstreamTLS
		want string
	}{
		{"unreadable CA file", config.UpstreamTLS{CAFile: filepath.Join(t.TempDir(), "missing.pem")}, "upstream.tls.ca_file"},
		{"CA file without certificates", config.UpstreamTLS{CAFile: notPEM}, "upstream.tls.ca_file"},
		{"bad client key pair", config.UpstreamTLS{CertFile: notPEM, KeyFile: notPEM}, "upstream.tls.cert_file"},
		{"missing client key", config.UpstreamTLS{CertFile: notPEM}, "upstream.tls.cert_file"},
		{"malformed pin", config.UpstreamTLS{Pins: []string{zeroPin, "sha1/abc"}}, "upstream.tls.pins[1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ClientTLSConfig(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, %v; want an error naming %s", c, err, tt.want)
			}
			if _, err := NewTransport(config.Upstream{URL: "https://upstream", TLS: tt.cfg}); err == nil {
				t.Error("NewTransport accepted the config")
			}
		})
	}
}

func TestPinsAreCheckedAfterVerification(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes
	ts.StartTLS()
	t.Cleanup(ts.Close)
	caFile := writeCertPEM(t, ts.Certificate())
	pin := SPKIPin(ts.Certificate())

	get := func(t *testing.T, tlsCfg config.UpstreamTLS) error {
		t.Helper()
		cfg := config.Default().Upstream
		cfg.URL, cfg.TLS = ts.URL, tlsCfg
		tr, err := NewTransport(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.CloseIdleConnections()
		res, err := (&http.Client{Transport: tr}).Get(ts.URL)
		if err != nil {
			return err
		}
		_ = res.Body.Close()
		return nil
	}
	t.Run("a matching pin among others is accepted", func(t *testing.T) {
		if err := get(t, config.UpstreamTLS{CAFile: caFile, Pins: []string{zeroPin, pin}}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("no matching pin is refused and the error lists the chain's pins", func(t *testing.T) {
		err := get(t, config.UpstreamTLS{CAFile: caFile, Pins: []string{zeroPin}})
		var pe *PinError
		if !errors.As(err, &pe) {
			t.Fatalf("got %v, want a *PinError", err)
		}
		if len(pe.Chain) != 1 || pe.Chain[0] != pin || !strings.Contains(err.Error(), pin) || !strings.Contains(err.Error(), "no pinned key matched") {
			t.Errorf("PinError %q lists %q, want %q", err, pe.Chain, pin)
		}
		if got := failureReason(err); got != "pinned key mismatch" {
			t.Errorf("reason %q", got)
		}
	})
	t.Run("a pin does not replace verification", func(t *testing.T) {
		err := get(t, config.UpstreamTLS{Pins: []string{pin}})
		if err == nil {
			t.Fatal("a pinned upstream whose chain the roots do not verify was accepted")
		}
		if got := failureReason(err); got != "unknown certificate authority" {
			t.Errorf("reason %q (%v)", got, err)
		}
	})
}

func TestPinVerifyFailsClosedWithoutVerifiedChains(t *testing.T) {
	c, err := ClientTLSConfig(config.UpstreamTLS{Pins: []string{zeroPin}})
	if err != nil {
		t.Fatal(err)
	}
	var pe *PinError
	if err := c.VerifyConnection(tls.ConnectionState{}); !errors.As(err, &pe) {
		t.Errorf("got %v, want a *PinError", err)
	}
}

func TestFailureReason(t *testing.T) {
	verification := func(err error) error {
		return fmt.Errorf("proxy: %w", &tls.CertificateVerificationError{Err: err})
	}
	tests := []struct {
		err  error
		want string
	}{
		{verification(x509.CertificateInvalidError{Reason: x509.Expired}), "certificate expired or not yet valid"},
		{verification(x509.HostnameError{Host: "up.internal"}), "certificate name mismatch"},
		{verification(x509.UnknownAuthorityError{}), "unknown certificate authority"},
		{&PinError{}, "pinned key mismatch"},
		{verification(x509.CertificateInvalidError{Reason: x509.IncompatibleUsage}), "tls handshake failed"},
		{tls.AlertError(40), "tls handshake failed"},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "tls handshake failed"},
		{&net.OpError{Op: "remote error", Err: errors.New("tls: certificate required")}, "tls handshake failed"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused"},
		{context.DeadlineExceeded, "timeout"},
		{&net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, "timeout"},
		{context.Canceled, "request cancelled"},
		{&net.OpError{Op: "write", Err: os.NewSyscallError("write", syscall.EPIPE)}, "connection closed"},
		{&net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, "connection closed"},
		{fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", io.EOF), "connection closed"},
		{&net.OpError{Op: "write", Err: net.ErrClosed}, "connection closed"},
		{errors.New("malformed HTTP response"), "upstream error"},
	}
	for _, tt := range tests {
		t.Run(tt.want+"/"+tt.err.Error(), func(t *testing.T) {
			if got := failureReason(tt.err); got != tt.want {
				t.Errorf("failureReason(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

// TestNoCodeDisablesCertificateVerification keeps certificate verification
// impossible to switch off: no non-test Go file in the module may name the
// field that does it.
func TestNoCodeDisablesCertificateVerification(t *testing.T) {
	root := filepath.Join("..", "..")
	if mod, err := os.ReadFile(filepath.Join(root, "go.mod")); err != nil || !bytes.Contains(mod, []byte("module github.com/gqlguard/gqlguard\n")) {
		t.Fatalf("%s is not the module root: %v", root, err)
	}
	forbidden := []byte("InsecureSkipVerify")
	scanned := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		scanned++
		if bytes.Contains(src, forbidden) {
			t.Errorf("%s mentions %s; upstream and client certificate verification must not be switchable off", path, forbidden)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if scanned < 10 {
		t.Fatalf("scanned only %d files; is the walk rooted at the module?", scanned)
	}
}
