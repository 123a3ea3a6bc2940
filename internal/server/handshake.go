package server

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// handshakeObserver receives the outcome of every TLS handshake.
type handshakeObserver func(state *tls.ConnectionState, err error, d time.Duration)

// tlsListener completes each TLS handshake in its own goroutine, with a
// deadline, before Accept hands the connection to http.Server. Accept returns
// *tls.Conn values, so http.Server still sees TLS (r.TLS, HTTP/2 by ALPN), and
// the gateway gets the exact outcome and duration of every handshake,
// including failed ones, which http.Server would only write to its error log.
type tlsListener struct {
	inner   net.Listener
	config  *tls.Config
	timeout time.Duration
	observe handshakeObserver

	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	acceptErr chan error
}

func newTLSListener(inner net.Listener, config *tls.Config, timeout time.Duration, observe handshakeObserver) *tlsListener {
	l := &tlsListener{
		inner: inner, config: config, timeout: timeout, observe: observe,
		conns: make(chan net.Conn), done: make(chan struct{}), acceptErr: make(chan error, 1),
	}
	go l.acceptLoop()
	return l
}

func (l *tlsListener) acceptLoop() {
	var backoff time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			if !transientAcceptError(err) {
				l.acceptErr <- err
				return
			}
			// Out of file descriptors and the like: back off as
			// http.Server does, instead of spinning or giving up; the
			// listener serves again once connections have closed.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(backoff):
			case <-l.done:
				return
			}
			continue
		}
		backoff = 0
		go l.handshake(c)
	}
}

// transientAcceptError reports whether Accept may succeed again later: the
// process or system ran out of descriptors or buffers, or a connection was
// aborted or reset before it was accepted. Anyone who can open connections
// can cause these, so they must never stop the listener for good. (On
// Linux the runtime retries ECONNABORTED itself; accept(2) on other systems
// reports it, ECONNRESET or EPROTO.)
func transientAcceptError(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// EINTR and EAGAIN never get here: the runtime's poller retries them.
	for _, errno := range [...]syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO} {
		if errors.Is(err, errno) {
			return true
		}
	}
	return false
}

func (l *tlsListener) handshake(c net.Conn) {
	start := time.Now()
	tc := tls.Server(c, l.config)
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	d := time.Since(start)
	if err != nil {
		l.observe(nil, err, d)
		_ = c.Close()
		return
	}
	st := tc.ConnectionState()
	l.observe(&st, nil, d)
	select {
	case l.conns <- tc:
	case <-l.done:
		_ = tc.Close()
	}
}

// Accept returns the next connection whose handshake succeeded.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case err := <-l.acceptErr:
		l.acceptErr <- err
		return nil, err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close stops accepting; handshakes under way are closed when they finish.
func (l *tlsListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr returns the listener's address.
func (l *tlsListener) Addr() net.Addr { return l.inner.Addr() }
