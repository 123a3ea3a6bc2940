package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

// The services of acme_pebble_test.go: Pebble, pebble-challtestsrv, and how
// they are built, started, waited for and stopped.

// pebbleVersion is the Pebble release the test builds from the module proxy.
const pebbleVersion = "v2.10.1"

// pebbleCA is one running Pebble.
type pebbleCA struct {
	opts  pebbleOptions
	dir   string // ACME directory URL
	mgmt  string // management interface URL
	roots *x509.CertPool
	log   *pebbleOutput

	mu     sync.Mutex
	issuer *x509.Certificate
	key    crypto.Signer
}

type pebbleOptions struct {
	bin      string
	dir      string
	devCA    *DevCA
	dns      string
	httpPort int
	tlsPort  int
	validity int
}

func newPebbleCA(t *testing.T, opts pebbleOptions) *pebbleCA {
	return &pebbleCA{
		opts: opts,
		dir:  "https://" + pebbleFreeAddr(t) + "/dir",
		mgmt: "https://" + pebbleFreeAddr(t),
		log:  &pebbleOutput{},
	}
}

// start runs Pebble, waits for its directory and fetches its root.
func (p *pebbleCA) start(t *testing.T, ocspURL string) {
	listen := strings.TrimSuffix(strings.TrimPrefix(p.dir, "https://"), "/dir")
	var conf struct {
		Pebble map[string]any `json:"pebble"`
	}
	conf.Pebble = map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": strings.TrimPrefix(p.mgmt, "https://"),
		"certificate":             p.opts.devCA.CertFile,
		"privateKey":              p.opts.devCA.KeyFile,
		"httpPort":                p.opts.httpPort,
		"tlsPort":                 p.opts.tlsPort,
		"ocspResponderURL":        ocspURL,
		// RSA: Pebble hands out its issuer's key, which the test OCSP
		// responder signs with, only for RSA.
		"keyAlgorithm": "rsa",
		"retryAfter":   map[string]int{"authz": 1, "order": 1},
		"profiles": map[string]any{
			"default": map[string]any{"description": "test", "validityPeriod": p.opts.validity},
		},
	}
	data, err := json.Marshal(conf)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(p.opts.dir, fmt.Sprintf("pebble-%d.json", p.opts.validity))
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.opts.bin, "-config", file, "-dnsserver", p.opts.dns)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0")
	cmd.Stdout, cmd.Stderr = p.log, p.log
	exited := pebbleRunService(t, cmd, p.log)

	client := p.client()
	pebbleWaitFor(t, exited, p.log, "Pebble's directory", func() error {
		return pebbleGet(client, p.dir, nil)
	})
	var root bytes.Buffer
	if err := pebbleGet(client, p.mgmt+"/roots/0", &root); err != nil {
		t.Fatal(err)
	}
	p.roots = x509.NewCertPool()
	if !p.roots.AppendCertsFromPEM(root.Bytes()) {
		t.Fatalf("Pebble's root is not PEM: %q", root.String())
	}
}

func (p *pebbleCA) client() *http.Client {
	roots := x509.NewCertPool()
	if pemCA, err := os.ReadFile(p.opts.devCA.CAFile); err == nil {
		roots.AppendCertsFromPEM(pemCA)
	}
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
	}
}

// issued counts the certificates Pebble has issued.
func (p *pebbleCA) issued() int {
	return strings.Count(p.log.String(), "Issued certificate serial")
}

// intermediate returns the certificate that issues Pebble's leaves and its
// key, fetched from the management interface once.
func (p *pebbleCA) intermediate() (*x509.Certificate, crypto.Signer, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.issuer != nil {
		return p.issuer, p.key, nil
	}
	client := p.client()
	var certPEM, keyPEM bytes.Buffer
	if err := pebbleGet(client, p.mgmt+"/intermediates/0", &certPEM); err != nil {
		return nil, nil, err
	}
	if err := pebbleGet(client, p.mgmt+"/intermediate-keys/0", &keyPEM); err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM.Bytes())
	kb, _ := pem.Decode(keyPEM.Bytes())
	if cb == nil || kb == nil {
		return nil, nil, errors.New("pebble's intermediate certificate or key is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	p.issuer, p.key = cert, key
	return cert, key, nil
}

// ocspResponder answers every OCSP request "good", signed by Pebble's
// intermediate, valid for an hour.
func (p *pebbleCA) ocspResponder() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		issuer, key, err := p.intermediate()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		now := time.Now().Truncate(time.Second)
		resp, err := ocsp.CreateResponse(issuer, issuer, ocsp.Response{
			Status:       ocsp.Good,
			SerialNumber: req.SerialNumber,
			ThisUpdate:   now.Add(-time.Minute),
			NextUpdate:   now.Add(time.Hour),
		}, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(resp)
	})
}

// startPebbleChallTestSrv runs pebble-challtestsrv as a DNS server only, answering
// 127.0.0.1 for every name, and returns its address.
func startPebbleChallTestSrv(t *testing.T, bin string) string {
	addr := pebbleFreeDNSAddr(t)
	out := &pebbleOutput{}
	cmd := exec.Command(bin,
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", addr, "-management", pebbleFreeAddr(t),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")
	cmd.Stdout, cmd.Stderr = out, out
	exited := pebbleRunService(t, cmd, out)
	resolver := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	pebbleWaitFor(t, exited, out, "pebble-challtestsrv's DNS", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		ips, err := resolver.LookupHost(ctx, "probe.gqlguard.test")
		if err == nil && (len(ips) != 1 || ips[0] != "127.0.0.1") {
			err = fmt.Errorf("answered %v", ips)
		}
		return err
	})
	return addr
}

// pebbleRunService starts cmd and kills it at cleanup. The returned channel is
// closed when it exits; its output is logged if the test failed.
func pebbleRunService(t *testing.T, cmd *exec.Cmd, out *pebbleOutput) <-chan struct{} {
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	name := filepath.Base(cmd.Path)
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	return exited
}

// pebbleWaitFor polls ready for up to 20 seconds, failing early when the service
// exits.
func pebbleWaitFor(t *testing.T, exited <-chan struct{}, out *pebbleOutput, what string, ready func() error) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := ready()
		if err == nil {
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s: the process exited:\n%s", what, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 20s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func pebbleGet(client *http.Client, url string, into io.Writer) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if into == nil {
		into = io.Discard
	}
	_, err = io.Copy(into, resp.Body)
	return err
}

// pebbleBinaries returns Pebble and pebble-challtestsrv, built once into
// the user's cache directory. Without the module proxy the test is skipped,
// unless GQLGUARD_REQUIRE_SERVICES=1.
func pebbleBinaries(t *testing.T) (pebble, challtestsrv string) {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "gqlguard-test", "pebble-"+pebbleVersion)
	exe := ""
	if runtime.GOOS == "windows" {
		exe = ".exe"
	}
	names := []string{"pebble" + exe, "pebble-challtestsrv" + exe}
	pebble, challtestsrv = filepath.Join(dir, names[0]), filepath.Join(dir, names[1])
	if pebbleIsFile(pebble) && pebbleIsFile(challtestsrv) {
		return pebble, challtestsrv
	}

	goTool, err := exec.LookPath("go")
	if err != nil {
		pebbleUnavailable(t, "no go command to build Pebble with: %v", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Build into a fresh directory and rename, so that an interrupted build
	// leaves no half-written binary in the cache.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	const mod = "github.com/letsencrypt/pebble/v2/cmd/"
	cmd := exec.CommandContext(ctx, goTool, "install",
		mod+"pebble@"+pebbleVersion, mod+"pebble-challtestsrv@"+pebbleVersion)
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=", "GOWORK=off", "GO111MODULE=on")
	if out, err := cmd.CombinedOutput(); err != nil {
		pebbleUnavailable(t, "building Pebble %s from the module proxy failed: %v\n%s", pebbleVersion, err, out)
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(tmp, n), filepath.Join(dir, n)); err != nil {
			t.Fatal(err)
		}
	}
	return pebble, challtestsrv
}

func pebbleUnavailable(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("GQLGUARD_REQUIRE_SERVICES") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format+"\n(set GQLGUARD_REQUIRE_SERVICES=1 to fail instead)", args...)
}

func pebbleIsFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

func pebbleListen(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// pebbleFreeAddr returns a loopback TCP address that was free a moment
// ago, for services that take their ports only from configuration.
func pebbleFreeAddr(t *testing.T) string {
	ln := pebbleListen(t)
	defer ln.Close()
	return ln.Addr().String()
}

// pebbleFreeDNSAddr returns a loopback port free for both UDP and TCP.
func pebbleFreeDNSAddr(t *testing.T) string {
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		ln, err := net.Listen("tcp", addr)
		_ = pc.Close()
		if err == nil {
			_ = ln.Close()
			return addr
		}
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return ""
}

func pebblePortOf(t *testing.T, addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var port int
	if _, err := fmt.Sscan(p, &port); err != nil {
		t.Fatal(err)
	}
	return port
}

// pebbleOutput collects a process's output.
type pebbleOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *pebbleOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *pebbleOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
