package server

import (
	"log/slog"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gqlguard/gqlguard/internal/config"
	"github.com/gqlguard/gqlguard/internal/telemetry"
)

// maxConnections is server.max_connections, or when it is 0, 80% of the
// open-file limit: the other fifth is left for the admin listener,
// certificate and document files, and idle upstream connections. Upstream
// connections of requests in flight are bounded by upstream.max_conns, not
// here. Without a known limit there is no cap.
func maxConnections(cfg config.Server, logger *slog.Logger) int {
	limit := openFileLimit()
	switch {
	case cfg.MaxConnections > 0:
		if limit > 0 && cfg.MaxConnections >= limit {
			logger.Warn("server.max_connections is not below the open-file limit: a flood runs the process out of descriptors before the cap refuses anything",
				"max_connections", cfg.MaxConnections, "open_file_limit", limit)
		}
		return cfg.MaxConnections
	case limit > 0:
		return max(limit*8/10, 1)
	default:
		return math.MaxInt32
	}
}

// limit wraps a public listener in the connection budget.
func (s *Server) limit(ln net.Listener, name string) net.Listener {
	return &limitListener{Listener: ln, budget: s.conns, name: name, m: s.connMetrics[name]}
}

// connBudget is the number of connections the public listeners may hold
// open together (server.max_connections).
type connBudget struct {
	max  int64
	open atomic.Int64
	log  *slog.Logger
	// lastWarned is when the last refusal was logged (Unix nanoseconds):
	// under a flood, one line a minute says so, not one per connection.
	lastWarned atomic.Int64
}

// limitListener closes each connection it accepts beyond the budget at once,
// instead of leaving it unaccepted as golang.org/x/net/netutil.LimitListener
// does: a connection left in the kernel's queue hangs its client until the
// queue is full, and then every new client, while a closed one tells it to
// go elsewhere now and costs the gateway a descriptor only for a moment.
// The admin listener is never wrapped, so /metrics and /readyz answer during
// a flood.
type limitListener struct {
	net.Listener
	budget *connBudget
	name   string
	m      telemetry.ListenerMetrics
}

// Accept returns the next connection within the budget.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.budget.open.Add(1) <= l.budget.max {
			l.m.Open.Inc()
			return &budgetConn{Conn: c, l: l}, nil
		}
		l.budget.open.Add(-1)
		l.m.Refused.Inc()
		l.budget.warn(l.name)
		// A reset, not a FIN: the descriptor is freed now, with no
		// TIME_WAIT, and the client learns at once.
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
	}
}

func (b *connBudget) warn(listener string) {
	now := time.Now().UnixNano()
	last := b.lastWarned.Load()
	if now-last < int64(time.Minute) || !b.lastWarned.CompareAndSwap(last, now) {
		return
	}
	b.log.Warn("connection cap reached: new connections are closed at once (counted in gqlguard_connections_refused_total)",
		"listener", listener, "max_connections", b.max)
}

// budgetConn gives its place in the budget back when it is first closed.
type budgetConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *budgetConn) Close() error {
	c.once.Do(func() {
		c.l.budget.open.Add(-1)
		c.l.m.Open.Dec()
	})
	return c.Conn.Close()
}
