package certs

import (
	"bytes"
	"crypto/x509"
	"os"
	"testing"
	"time"
)

func TestEnsureDevCAReplacesOnlyWhatIsUnusable(t *testing.T) {
	write := func(t *testing.T, path string, data []byte) {
		t.Helper()
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		// spoil changes the files of the first run before the second.
		spoil          func(t *testing.T, d *DevCA)
		hosts          []string
		now            time.Time
		wantCACreated  bool
		wantCertIssued bool
	}{
		{
			name: "usable files are kept",
			now:  testNow.AddDate(0, 6, 0),
		},
		{
			name:           "a server certificate expiring within 30 days is re-issued from the same CA",
			now:            testNow.Add(serverValidity - 29*24*time.Hour),
			wantCertIssued: true,
		},
		{
			name:           "a server certificate missing a requested host is re-issued",
			hosts:          append(DefaultHosts(), "api.localhost"),
			wantCertIssued: true,
		},
		{
			name:           "a missing server key re-issues the server certificate",
			spoil:          func(t *testing.T, d *DevCA) { os.Remove(d.KeyFile) },
			wantCertIssued: true,
		},
		{
			name:           "a server key that does not match the certificate is re-issued",
			spoil:          func(t *testing.T, d *DevCA) { write(t, d.KeyFile, readFile(t, d.CAKeyFile)) },
			wantCertIssued: true,
		},
		{
			name: "a server certificate from another CA is re-issued",
			spoil: func(t *testing.T, d *DevCA) {
				other := ensure(t, t.TempDir(), DefaultHosts(), testNow)
				write(t, d.CertFile, readFile(t, other.CertFile))
				write(t, d.KeyFile, readFile(t, other.KeyFile))
			},
			wantCertIssued: true,
		},
		{
			name: "a corrupted CA certificate regenerates everything",
			spoil: func(t *testing.T, d *DevCA) {
				write(t, d.CAFile, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
			},
			wantCACreated:  true,
			wantCertIssued: true,
		},
		{
			name:           "a missing CA key regenerates everything",
			spoil:          func(t *testing.T, d *DevCA) { os.Remove(d.CAKeyFile) },
			wantCACreated:  true,
			wantCertIssued: true,
		},
		{
			name: "a server certificate used as the CA regenerates everything",
			spoil: func(t *testing.T, d *DevCA) {
				write(t, d.CAFile, readFile(t, d.CertFile))
				write(t, d.CAKeyFile, readFile(t, d.KeyFile))
			},
			wantCACreated:  true,
			wantCertIssued: true,
		},
		{
			name:           "a CA expiring within a server certificate's lifetime regenerates everything",
			now:            testNow.AddDate(10, 0, 0).Add(-serverValidity / 2),
			wantCACreated:  true,
			wantCertIssued: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			first := ensure(t, dir, DefaultHosts(), testNow)
			caPEM := readFile(t, first.CAFile)
			if tt.spoil != nil {
				tt.spoil(t, first)
			}
			hosts, now := tt.hosts, tt.now
			if hosts == nil {
				hosts = DefaultHosts()
			}
			if now.IsZero() {
				now = testNow
			}

			d := ensure(t, dir, hosts, now)
			if d.CACreated != tt.wantCACreated || d.CertIssued != tt.wantCertIssued {
				t.Errorf("CACreated = %v, CertIssued = %v, want %v, %v", d.CACreated, d.CertIssued, tt.wantCACreated, tt.wantCertIssued)
			}
			if caKept := bytes.Equal(readFile(t, d.CAFile), caPEM); caKept == tt.wantCACreated {
				t.Errorf("CA file kept = %v, want %v", caKept, !tt.wantCACreated)
			}
			if sameCA := d.CAFingerprint == first.CAFingerprint; sameCA == tt.wantCACreated {
				t.Errorf("CA fingerprint kept = %v, want %v", sameCA, !tt.wantCACreated)
			}
			assertServes(t, d, hosts, now)
		})
	}
}

// assertServes checks that the server certificate of d chains to its CA and
// covers hosts for at least 30 days after now.
func assertServes(t *testing.T, d *DevCA, hosts []string, now time.Time) {
	t.Helper()
	roots := x509.NewCertPool()
	roots.AddCert(readCert(t, d.CAFile))
	server := readCert(t, d.CertFile)
	for _, h := range hosts {
		opts := x509.VerifyOptions{DNSName: h, Roots: roots, CurrentTime: now.Add(minRemaining)}
		if _, err := server.Verify(opts); err != nil {
			t.Errorf("server certificate for %s: %v", h, err)
		}
	}
}

func TestEnsureDevCAFailsWithoutReplacingFilesItCannotRead(t *testing.T) {
	dir := t.TempDir()
	first := ensure(t, dir, DefaultHosts(), testNow)
	if err := os.Remove(first.CAKeyFile); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(first.CAKeyFile, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureDevCA(dir, DefaultHosts(), testNow); err == nil {
		t.Fatal("EnsureDevCA succeeded with a directory in place of the CA key, want an error")
	}
}

func TestEnsureDevCARefusesInvalidHosts(t *testing.T) {
	for _, hosts := range [][]string{nil, {""}, {"local host"}, {"-bad.example"}, {"a..b"}} {
		if _, err := EnsureDevCA(t.TempDir(), hosts, testNow); err == nil {
			t.Errorf("EnsureDevCA(%q) succeeded, want an error", hosts)
		}
	}
}
