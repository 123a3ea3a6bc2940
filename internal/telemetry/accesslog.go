package telemetry

import (
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
)

// NewJSONLogger returns a logger with slog's JSON handler writing to w at
// level. The observe stage writes its access lines to such a logger itself,
// byte for byte as the handler would: slog's per-attribute walk was the
// largest cost of the stage. A line the fast path cannot write exactly (a
// value that needs JSON escaping) goes through the handler. The handler has
// no options but the level: the fast path writes no source and applies no
// ReplaceAttr, so options added here must turn it off.
func NewJSONLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	out := &lockedWriter{w: w}
	return slog.New(&jsonHandler{JSONHandler: slog.NewJSONHandler(out, &slog.HandlerOptions{Level: level}), out: out})
}

// jsonHandler is slog's JSON handler with its writer at hand. A handler
// derived from it (WithAttrs, WithGroup) is slog's own, so its lines carry
// their attributes and never take the fast path.
type jsonHandler struct {
	*slog.JSONHandler
	out *lockedWriter
}

// lockedWriter serializes the handler's lines and the fast path's, so they
// never interleave.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// accessLine is what an access line says, in the order it says it.
type accessLine struct {
	end         time.Time
	level       slog.Level
	id          string
	method      string
	path        string
	status      int
	durationUS  int64
	outcome     string
	clientIP    string
	bytes       int64
	tlsVersion  string // "" when the request came without TLS
	tlsCipher   string
	upstreamUS  int64
	hasUpstream bool // an upstream answered
	err         string
	hasErr      bool
}

// attrs appends the line's attributes to buf.
func (l *accessLine) attrs(buf []slog.Attr) []slog.Attr {
	buf = append(buf,
		slog.String("request_id", l.id),
		slog.String("method", l.method),
		slog.String("path", l.path),
		slog.Int("status", l.status),
		slog.Int64("duration_us", l.durationUS),
		slog.String("outcome", l.outcome),
		slog.String("client_ip", l.clientIP),
		slog.Int64("bytes", l.bytes),
	)
	if l.tlsVersion != "" {
		buf = append(buf,
			slog.String("tls_version", l.tlsVersion),
			slog.String("tls_cipher", l.tlsCipher),
		)
	}
	if l.hasUpstream {
		buf = append(buf, slog.Int64("upstream_us", l.upstreamUS))
	}
	if l.hasErr {
		buf = append(buf, slog.String("error", l.err))
	}
	return buf
}

// appendJSON appends the line as slog's JSON handler writes it (no
// ReplaceAttr, no source, no groups) and reports whether it could: it
// declines when a value would need escaping or the time has no four-digit
// year (or is zero: slog then leaves the time out), and the caller then
// hands the record to the handler.
func (l *accessLine) appendJSON(b []byte) ([]byte, bool) {
	if y := l.end.Year(); l.end.IsZero() || y < 0 || y >= 10000 || !plain(l.id) || !plain(l.method) || !plain(l.path) ||
		!plain(l.outcome) || !plain(l.clientIP) || !plain(l.tlsVersion) || !plain(l.tlsCipher) || !plain(l.err) {
		return b, false
	}
	b = append(b, `{"time":"`...)
	b = l.end.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","level":"`...)
	b = append(b, l.level.String()...)
	b = append(b, `","msg":"request","request_id":"`...)
	b = append(b, l.id...)
	b = append(b, `","method":"`...)
	b = append(b, l.method...)
	b = append(b, `","path":"`...)
	b = append(b, l.path...)
	b = append(b, `","status":`...)
	b = strconv.AppendInt(b, int64(l.status), 10)
	b = append(b, `,"duration_us":`...)
	b = strconv.AppendInt(b, l.durationUS, 10)
	b = append(b, `,"outcome":"`...)
	b = append(b, l.outcome...)
	b = append(b, `","client_ip":"`...)
	b = append(b, l.clientIP...)
	b = append(b, `","bytes":`...)
	b = strconv.AppendInt(b, l.bytes, 10)
	if l.tlsVersion != "" {
		b = append(b, `,"tls_version":"`...)
		b = append(b, l.tlsVersion...)
		b = append(b, `","tls_cipher":"`...)
		b = append(b, l.tlsCipher...)
		b = append(b, '"')
	}
	if l.hasUpstream {
		b = append(b, `,"upstream_us":`...)
		b = strconv.AppendInt(b, l.upstreamUS, 10)
	}
	if l.hasErr {
		b = append(b, `,"error":"`...)
		b = append(b, l.err...)
		b = append(b, '"')
	}
	return append(b, "}\n"...), true
}

// plain reports whether s is printable ASCII without '"' and '\\': the
// strings slog's JSON handler writes as they are.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// writeTo writes the line to h's writer and reports whether it did; false
// means the line needs the handler.
func (l *accessLine) writeTo(h *jsonHandler) bool {
	p := linePool.Get().(*[]byte)
	b, ok := l.appendJSON((*p)[:0])
	if ok {
		_, _ = h.out.Write(b)
	}
	if cap(b) <= 4<<10 {
		*p = b
		linePool.Put(p)
	}
	return ok
}
