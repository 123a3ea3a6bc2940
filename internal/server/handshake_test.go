package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// flakyListener fails its first Accept calls with err, then accepts from the
// real listener.
type flakyListener struct {
	net.Listener
	fails int
	err   error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, l.err
	}
	return l.Listener.Accept()
}

func TestListenerSurvivesRunningOutOfDescriptors(t *testing.T) {
	ca := newTestCA(t, "listener test CA")
	cert, _, _, _ := ca.pair(t, leafOpts{cn: "localhost"})
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ECONNABORTED} {
		t.Run(errno.Error(), func(t *testing.T) {
			inner, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			accErr := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
			l := newTLSListener(&flakyListener{Listener: inner, fails: 3, err: accErr},
				&tls.Config{Certificates: []tls.Certificate{cert}}, 5*time.Second, func(*tls.ConnectionState, error, time.Duration) {})
			defer l.Close()
			go func() {
				c, err := tls.Dial("tcp", inner.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
				if err == nil {
					_ = c.Close()
				}
			}()
			done := make(chan error, 1)
			go func() {
				c, err := l.Accept()
				if err == nil {
					_ = c.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("Accept after %v: %v; want the listener to recover", errno, err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no connection accepted after the transient errors")
			}
		})
	}
}

func TestListenerStopsOnClose(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := newTLSListener(inner, &tls.Config{}, time.Second, func(*tls.ConnectionState, error, time.Duration) {})
	_ = l.Close()
	if _, err := l.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
	}
}

// A client can make accept fail with these (by resetting connections, or by
// opening so many that descriptors run out): none may stop the listener.
func TestAcceptErrorsAClientCanCauseAreTransient(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO} {
		err := &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
		if !transientAcceptError(err) {
			t.Errorf("%v stops the listener", err)
		}
	}
	if transientAcceptError(net.ErrClosed) {
		t.Error("a closed listener is taken for a transient error")
	}
}
