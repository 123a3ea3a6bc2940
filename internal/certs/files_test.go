package certs

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
	"github.com/gqlguard/gqlguard/internal/testutil/testcert"
)

// pairOpts describes a self-signed localhost certificate for the file
// source tests; it verifies no chain.
type pairOpts struct {
	rsa                 bool
	notBefore, notAfter time.Time
}

// writePair writes a certificate and its key to cert.pem and key.pem under
// dir/name and returns the pair and the certificate's serial number.
func writePair(t *testing.T, dir, name string, o pairOpts) (config.CertPair, *big.Int) {
	t.Helper()
	var key crypto.Signer // P-256 unless RSA
	if o.rsa {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			t.Fatal(err)
		}
	}
	cert, key := testcert.Issue(t, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		NotBefore:   o.notBefore,
		NotAfter:    o.notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, nil, nil, key)
	sub := filepath.Join(dir, name)
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	p := config.CertPair{CertFile: filepath.Join(sub, "cert.pem"), KeyFile: filepath.Join(sub, "key.pem")}
	testcert.WritePEM(t, p.CertFile, testcert.CertBlock(cert))
	testcert.WritePEM(t, p.KeyFile, testcert.KeyBlock(t, key))
	return p, cert.SerialNumber
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyPair makes the files of to hold what those of from hold.
func copyPair(t *testing.T, from, to config.CertPair) {
	t.Helper()
	for _, f := range [][2]string{{from.CertFile, to.CertFile}, {from.KeyFile, to.KeyFile}} {
		b, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, f[1], b)
	}
}

// fileSourceFixture is a FileSource on a clock the test moves.
type fileSourceFixture struct {
	src  *FileSource
	now  time.Time
	logs *logbuf.Buffer
}

func newFileSourceFixture(t *testing.T, pairs ...config.CertPair) *fileSourceFixture {
	t.Helper()
	f := &fileSourceFixture{now: time.Now(), logs: &logbuf.Buffer{}}
	src, err := NewFileSource(pairs, slog.New(slog.NewTextHandler(f.logs, nil)), func() time.Time { return f.now })
	if err != nil {
		t.Fatal(err)
	}
	f.src = src
	return f
}

// served returns the serial numbers served, ECDSA first.
func (f *fileSourceFixture) served() []string {
	var out []string
	for _, l := range f.src.Certificates() {
		out = append(out, l.Cert.Leaf.SerialNumber.String())
	}
	return out
}

func (f *fileSourceFixture) count(msg string) int { return strings.Count(f.logs.String(), msg) }

const refused = "certificate reload refused"

func TestReloadLeavesAServedCertificateThatExpiredInPlaceAlone(t *testing.T) {
	now := time.Now()
	p, serial := writePair(t, t.TempDir(), "a", pairOpts{notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)})
	f := newFileSourceFixture(t, p)

	f.now = now.Add(2 * time.Hour)
	for range 5 {
		if err := f.src.Reload(); err != nil {
			t.Errorf("Reload of unchanged files: %v", err)
		}
	}
	if n := f.count(refused); n != 0 {
		t.Errorf("%d refusals logged for files that did not change:\n%s", n, f.logs)
	}
	if n := f.count("a served certificate has expired"); n != 1 {
		t.Errorf("the expiry was logged %d times over 5 reloads, want once:\n%s", n, f.logs)
	}
	if got := f.served(); len(got) != 1 || got[0] != serial.String() {
		t.Errorf("serving %v, want the expired certificate %s until its files change", got, serial)
	}
	if !strings.Contains(f.logs.String(), p.CertFile) {
		t.Errorf("the expiry line does not name %s:\n%s", p.CertFile, f.logs)
	}

	// New files: loaded, and a later expiry is reported again.
	renewed, renewedSerial := writePair(t, t.TempDir(), "b", pairOpts{notBefore: f.now.Add(-time.Minute), notAfter: f.now.Add(time.Hour)})
	copyPair(t, renewed, p)
	if err := f.src.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := f.served(); len(got) != 1 || got[0] != renewedSerial.String() {
		t.Errorf("serving %v after renewal, want %s", got, renewedSerial)
	}
	f.now = f.now.Add(2 * time.Hour)
	_ = f.src.Reload()
	if n := f.count("a served certificate has expired"); n != 2 {
		t.Errorf("the renewed certificate's expiry was logged %d times in all, want 2:\n%s", n, f.logs)
	}
}

func TestReloadRefusesABadChangeOnce(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	p, serial := writePair(t, dir, "a", pairOpts{notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)})
	other, _ := writePair(t, dir, "other", pairOpts{notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)})
	expired, _ := writePair(t, dir, "expired", pairOpts{notBefore: now.Add(-2 * time.Hour), notAfter: now.Add(-time.Hour)})
	tests := []struct {
		name   string
		change func()
		logged string
	}{
		{"a key that does not match", func() {
			b, _ := os.ReadFile(other.KeyFile)
			writeFile(t, p.KeyFile, b)
		}, "private key does not match"},
		{"an expired certificate", func() { copyPair(t, expired, p) }, "expired on"},
		{"a missing certificate file", func() { _ = os.Remove(p.CertFile) }, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orig, _ := writePair(t, t.TempDir(), "orig", pairOpts{})
			copyPair(t, p, orig)
			f := newFileSourceFixture(t, p)
			t.Cleanup(func() { copyPair(t, orig, p) })
			tt.change()
			for range 3 {
				_ = f.src.Reload()
			}
			if n := f.count(refused); n != 1 || !strings.Contains(f.logs.String(), tt.logged) {
				t.Errorf("%d refusals logged over 3 reloads, want one saying %q:\n%s", n, tt.logged, f.logs)
			}
			if got := f.served(); len(got) != 1 || got[0] != serial.String() {
				t.Errorf("serving %v, want the previous %s", got, serial)
			}
		})
	}
}

func TestEachPairReloadsOnItsOwn(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	valid := pairOpts{notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)}
	rsaPair, rsaSerial := writePair(t, dir, "rsa", pairOpts{rsa: true, notBefore: valid.notBefore, notAfter: valid.notAfter})
	ecdsaPair, _ := writePair(t, dir, "ecdsa", valid)
	f := newFileSourceFixture(t, rsaPair, ecdsaPair)

	// The RSA pair breaks (a key that is not its own), the ECDSA pair is
	// renewed at the same time.
	stray, _ := writePair(t, dir, "stray", pairOpts{rsa: true, notBefore: valid.notBefore, notAfter: valid.notAfter})
	b, _ := os.ReadFile(stray.KeyFile)
	writeFile(t, rsaPair.KeyFile, b)
	renewed, renewedSerial := writePair(t, dir, "renewed", valid)
	copyPair(t, renewed, ecdsaPair)

	err := f.src.Reload()
	if err == nil || !strings.Contains(err.Error(), "tls.cert_file") {
		t.Errorf("Reload = %v, want the RSA pair (tls.cert_file) refused", err)
	}
	want := []string{renewedSerial.String(), rsaSerial.String()}
	if got := f.served(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("serving %v, want the renewed ECDSA certificate and the previous RSA one %v", got, want)
	}
	if n := f.count(refused); n != 1 {
		t.Errorf("%d refusals logged, want 1:\n%s", n, f.logs)
	}
	if !strings.Contains(f.logs.String(), "certificate loaded") || !strings.Contains(f.logs.String(), ecdsaPair.CertFile) {
		t.Errorf("the ECDSA reload was not logged:\n%s", f.logs)
	}
}

func TestReloadTriesANotYetValidCertificateAgainOnceValid(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	p, _ := writePair(t, dir, "a", pairOpts{notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)})
	f := newFileSourceFixture(t, p)
	next, nextSerial := writePair(t, dir, "next", pairOpts{notBefore: now.Add(30 * time.Minute), notAfter: now.Add(3 * time.Hour)})
	copyPair(t, next, p)

	_ = f.src.Reload()
	_ = f.src.Reload()
	if n := f.count("not valid before"); n != 1 {
		t.Errorf("the not-yet-valid certificate was refused %d times, want once:\n%s", n, f.logs)
	}
	f.now = now.Add(31 * time.Minute)
	if err := f.src.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := f.served(); len(got) != 1 || got[0] != nextSerial.String() {
		t.Errorf("serving %v once its validity began, want %s", got, nextSerial)
	}
}

// Two certificates with the same name and key type, one after the other,
// are told apart in the log by subject, serial and fingerprint.
func TestCertificateLoadedNamesTheCertificate(t *testing.T) {
	now := time.Now()
	dir := t.TempDir()
	valid := pairOpts{notBefore: now.Add(-time.Hour), notAfter: now.Add(time.Hour)}
	p, _ := writePair(t, dir, "a", valid)
	f := newFileSourceFixture(t, p)
	before := (*f.src.cur.Load())[0].Cert.Leaf
	renewed, _ := writePair(t, dir, "renewed", valid)
	copyPair(t, renewed, p)
	if err := f.src.Reload(); err != nil {
		t.Fatal(err)
	}
	var loaded []string
	for _, l := range strings.Split(f.logs.String(), "\n") {
		if strings.Contains(l, "certificate loaded") {
			loaded = append(loaded, l)
		}
	}
	if len(loaded) != 2 {
		t.Fatalf("%d certificate loaded lines, want one at start and one for the reload:\n%s", len(loaded), f.logs)
	}
	if !strings.Contains(loaded[0], opensslFingerprint(before)) {
		t.Errorf("the first line does not name the first certificate:\n%s", loaded[0])
	}
	line := loaded[1]
	leaf := (*f.src.cur.Load())[0].Cert.Leaf
	for _, want := range []string{
		"subject=" + strconvQuote(leaf.Subject.String()),
		"serial=" + strings.ToUpper(leaf.SerialNumber.Text(16)),
		"sha256=" + opensslFingerprint(leaf),
		"not_after=" + leaf.NotAfter.UTC().Format(time.RFC3339),
	} {
		if !strings.Contains(line, want) {
			t.Errorf("the reload's line lacks %s:\n%s", want, f.logs)
		}
	}
	if strings.Contains(line, opensslFingerprint(before)) || strings.Contains(line, "serial="+strings.ToUpper(before.SerialNumber.Text(16))) {
		t.Errorf("the reload's line names the previous certificate:\n%s", line)
	}
}

// opensslFingerprint is what openssl x509 -fingerprint -sha256 prints.
func opensslFingerprint(leaf *x509.Certificate) string {
	sum := sha256.Sum256(leaf.Raw)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var pairs []string
	for i := 0; i < len(h); i += 2 {
		pairs = append(pairs, h[i:i+2])
	}
	return strings.Join(pairs, ":")
}

// strconvQuote quotes s as slog's text handler does when it needs quoting.
func strconvQuote(s string) string {
	if strings.ContainsAny(s, " =\"") {
		return strconv.Quote(s)
	}
	return s
}
