package pebble

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/internal/testutil/logbuf"
)

// startDNS runs pebble-challtestsrv as a DNS server only, answering
// 127.0.0.1 for every name, and returns its address.
func startDNS(t testing.TB, bin string) string {
	t.Helper()
	addr := freeDNSAddr(t)
	out := &logbuf.Buffer{}
	cmd := exec.Command(bin,
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dnsserver", addr, "-management", freeAddr(t),
		"-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "")
	cmd.Stdout, cmd.Stderr = out, out
	exited := runService(t, cmd, out)
	resolver := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	waitFor(t, exited, out, "pebble-challtestsrv's DNS", func() error {
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

// runService starts cmd and kills it at cleanup. The returned channel is
// closed when it exits; its output is logged if the test failed.
func runService(t testing.TB, cmd *exec.Cmd, out *logbuf.Buffer) <-chan struct{} {
	t.Helper()
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

// waitFor polls ready for up to 20 seconds, failing early when the service
// exits.
func waitFor(t testing.TB, exited <-chan struct{}, out *logbuf.Buffer, what string, ready func() error) {
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

// client returns an HTTP client for Pebble's own listeners.
func (s *Server) client() *http.Client {
	roots := x509.NewCertPool()
	if pemCA, err := os.ReadFile(s.CARootFile); err == nil {
		roots.AppendCertsFromPEM(pemCA)
	}
	return &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
	}
}

// get fetches url into into, or discards the body when into is nil.
func get(client *http.Client, url string, into io.Writer) error {
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

// PortOf returns the port of the host:port address addr, failing the test
// when it has none.
func PortOf(t testing.TB, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("port of %q: %v", addr, err)
	}
	return port
}

// freeAddr returns a loopback TCP address that was free a moment ago, for
// services that take their ports only from configuration.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// freeDNSAddr returns a loopback port free for both UDP and TCP.
func freeDNSAddr(t testing.TB) string {
	t.Helper()
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
