// Package telemetry is the observe stage: it gives each request an id, records
// its outcome and writes one structured access-log line per request.
package telemetry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gqlguard/gqlguard/envelope"
	"github.com/gqlguard/gqlguard/internal/clientip"
)

// Observer is the observe stage. It creates the request's envelope.Info, sets
// the X-Request-Id response header, calls Next, and logs the access line.
type Observer struct {
	// Logger receives the access lines. Required.
	Logger *slog.Logger
	// Trusted proxies may supply the client address and the request id.
	Trusted clientip.Trusted
	// Next handles the request. Required.
	Next http.Handler
	// Metrics, when set, counts every request by outcome and status and
	// records its duration.
	Metrics *Metrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	ids idSource
}

// ServeHTTP implements http.Handler.
func (o *Observer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	// One allocation holds the request's record and the response recorder.
	st := &state{rec: recorder{ResponseWriter: w}}
	info, rec := &st.info, &st.rec
	info.Begin(o.requestID(r), o.Trusted.ClientIP(r), now())
	w.Header()["X-Request-Id"] = info.IDValues()
	r = r.WithContext(envelope.WithInfo(r.Context(), info))
	// Logged even when a stage aborts the response (the forward stage panics with
	// http.ErrAbortHandler when the client or the upstream goes away
	// mid-body); the panic then continues to net/http.
	defer func() {
		p := recover()
		switch {
		case p == nil:
		case p != http.ErrAbortHandler && rec.status != 0:
			// A bug in a stage after the answer began: the client's
			// connection is cut (a clean end would pass a partial answer
			// for a whole one), the log has the stack, and the request
			// counts as the gateway's failure, whatever status went out.
			o.Logger.Error("request handler panicked", "request_id", info.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			info.Code, info.Status = envelope.CodeInternal, http.StatusInternalServerError
			info.Err = fmt.Errorf("panic after the answer began: %v", p)
			o.log(r, rec, info, now())
			panic(http.ErrAbortHandler) // logged already: net/http need not log it again
		case p == http.ErrAbortHandler:
			// Aborted on purpose: there is nothing left to tell the
			// client; net/http drops the connection. The stage that
			// aborts records why; cut before
			// anything was written without a record, the client is
			// taken to have gone away.
			if rec.status == 0 && info.Status == 0 {
				info.Code, info.Status = envelope.CodeClientClosedRequest, envelope.StatusClientClosedRequest
			}
			if info.Err == nil {
				info.Err = fmt.Errorf("response aborted: %v", p)
			}
			o.log(r, rec, info, now())
			panic(p)
		default:
			// A bug in a stage: the client still gets the error
			// contract, never a reset connection; the log has the stack.
			o.Logger.Error("request handler panicked", "request_id", info.ID, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			envelope.WriteError(rec, r, &envelope.Error{Code: envelope.CodeInternal, Message: "the gateway failed to handle this request; the request id names it in the gateway's log", Err: fmt.Errorf("panic: %v", p)})
		}
		o.log(r, rec, info, now())
	}()
	o.Next.ServeHTTP(rec, r)
}

func (o *Observer) requestID(r *http.Request) string {
	if len(o.Trusted) > 0 && o.Trusted.Contains(clientip.Peer(r)) {
		if id := r.Header.Get("X-Request-Id"); validID(id) {
			return id
		}
	}
	return o.ids.next()
}

func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// log counts and logs the request as it ended at end (on the Observer's
// clock).
func (o *Observer) log(r *http.Request, rec *recorder, info *envelope.Info, end time.Time) {
	d := end.Sub(info.Start)
	status := rec.status
	switch {
	case info.Status != 0:
		status = info.Status
	case status == 0:
		status = http.StatusOK
	}
	if status >= 500 && errors.Is(r.Context().Err(), context.Canceled) {
		// The client went away first (net/http cancels the context when
		// the connection closes or the stream is reset): whatever then
		// failed (the upstream or store request, cancelled with it) is
		// not the dependency's failure.
		info.Code, status = envelope.CodeClientClosedRequest, envelope.StatusClientClosedRequest
	}
	outcome := string(info.Code)
	if outcome == "" {
		outcome = "OK"
	}
	if o.Metrics != nil {
		o.Metrics.Request(outcome, status, d, info.Upstream)
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	if !o.Logger.Enabled(r.Context(), level) {
		return
	}
	line := accessLine{
		end:        end,
		level:      level,
		id:         info.ID,
		method:     r.Method,
		path:       r.URL.Path,
		status:     status,
		durationUS: d.Microseconds(),
		outcome:    outcome,
		clientIP:   info.ClientIPString(),
		bytes:      rec.bytes,
	}
	if info.Upstream > 0 {
		line.upstreamUS, line.hasUpstream = info.Upstream.Microseconds(), true
	}
	if r.TLS != nil {
		line.tlsVersion = TLSVersionName(r.TLS.Version)
		line.tlsCipher = CipherSuiteName(r.TLS.CipherSuite)
	}
	if info.Err != nil {
		line.err, line.hasErr = info.Err.Error(), true
	}
	h := o.Logger.Handler()
	if l, ok := h.(*RepeatLimit); ok {
		// Access lines are one per request, each its own record: none
		// is held back.
		h = l.next
	}
	if jh, ok := h.(*jsonHandler); ok && line.writeTo(jh) {
		return
	}
	// The record goes straight to the handler: Logger.LogAttrs would also
	// walk the stack for a source location the access line does not use.
	var buf [12]slog.Attr
	record := slog.NewRecord(end, level, "request", 0)
	record.AddAttrs(line.attrs(buf[:0])...)
	// The request's own context: a handler may read values from it (a
	// trace id); a cancelled request is still logged.
	_ = h.Handle(r.Context(), record)
}

// idSource makes request ids: a random per-process prefix and a counter, so
// ids are unique without a random read per request.
type idSource struct {
	once   sync.Once
	prefix string
	n      atomic.Uint64
}

func (s *idSource) next() string {
	s.once.Do(func() {
		var b [6]byte
		_, _ = rand.Read(b[:])
		s.prefix = hex.EncodeToString(b[:]) + "-"
	})
	return s.prefix + strconv.FormatUint(s.n.Add(1), 36)
}

// state is what the observe stage keeps for one request.
type state struct {
	info envelope.Info
	rec  recorder
}

// recorder notes the status and size of a response. Unwrap lets
// http.ResponseController reach the real writer's Flush and Hijack.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
