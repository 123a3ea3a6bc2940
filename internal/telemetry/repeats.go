package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// RepeatOptions bound how often one WARN or ERROR line repeats. The zero
// value is the gateway's default: 10 alike lines a second.
type RepeatOptions struct {
	// Window is the period the burst applies to; zero means one second.
	Window time.Duration
	// Burst is how many alike lines a window lets through; zero means 10.
	Burst int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AfterFunc runs f after d, to report a window's suppressed lines when
	// no later line does; nil means time.AfterFunc.
	AfterFunc func(d time.Duration, f func())
}

// maxRepeatKeys bounds the lines a RepeatLimit tells apart. Messages are
// constants of the code, so it is never reached in practice; past it, a new
// kind of line is passed on unlimited rather than tracked.
const maxRepeatKeys = 1024

// RepeatLimit is a slog.Handler that bounds repeated WARN and ERROR lines
// about single requests (lines with a "request_id" attribute): of the lines
// alike (same level, message and "reason" attribute; request ids and error
// texts differ from line to line), the first Burst in each Window are
// passed on, the rest are counted, and one line at the end of the window
// says how many were suppressed. A failure that hits every request (an
// upstream down, clients resetting thousands of streams) then costs a few
// lines a second, not one per request, and still shows in the log.
//
// Every other line passes untouched: lines below WARN, and lines about the
// gateway's own state (a tampered document file, a refused certificate
// reload), which their callers log once per event and whose details (which
// file) must never be summarised away. The observe stage writes its access
// lines (one per request, each its own record) past the limit.
type RepeatLimit struct {
	next slog.Handler
	*repeats
}

// repeats is the state a RepeatLimit shares with the handlers derived from
// it (WithAttrs, WithGroup).
type repeats struct {
	window time.Duration
	burst  int
	now    func() time.Time
	after  func(time.Duration, func())
	// out receives the summary lines: the handler the limit was built on,
	// without attributes a derived handler added.
	out slog.Handler

	mu   sync.Mutex
	seen map[repeatKey]*repeatWindow
}

type repeatKey struct {
	level       slog.Level
	msg, reason string
}

// repeatWindow is one kind of line's current window.
type repeatWindow struct {
	start      time.Time
	n          int // lines in the window, passed or not
	suppressed int
}

// LimitRepeats returns next with repeated WARN and ERROR lines bounded as
// opts say.
func LimitRepeats(next slog.Handler, opts RepeatOptions) *RepeatLimit {
	r := &repeats{window: opts.Window, burst: opts.Burst, now: opts.Now, after: opts.AfterFunc, out: next, seen: map[repeatKey]*repeatWindow{}}
	if r.window <= 0 {
		r.window = time.Second
	}
	if r.burst <= 0 {
		r.burst = 10
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.after == nil {
		r.after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
	}
	return &RepeatLimit{next: next, repeats: r}
}

// Enabled reports whether the wrapped handler logs at level.
func (l *RepeatLimit) Enabled(ctx context.Context, level slog.Level) bool {
	return l.next.Enabled(ctx, level)
}

// Handle passes r on unless it is one too many of its kind in its window.
func (l *RepeatLimit) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return l.next.Handle(ctx, r)
	}
	key := repeatKey{level: r.Level, msg: r.Message}
	perRequest := false
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "reason":
			key.reason = a.Value.String()
		case "request_id":
			perRequest = true
		}
		return true
	})
	if !perRequest {
		return l.next.Handle(ctx, r)
	}
	pass, ended := l.count(key)
	if ended != nil {
		l.summarize(key, ended)
	}
	if !pass {
		return nil
	}
	return l.next.Handle(ctx, r)
}

// count counts a line of key and reports whether it passes, and the
// window it ended with suppressed lines, if any, to report.
func (l *RepeatLimit) count(key repeatKey) (bool, *repeatWindow) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	w := l.seen[key]
	var ended *repeatWindow
	if w != nil && now.Sub(w.start) >= l.window {
		if w.suppressed > 0 {
			ended = w
		}
		w = nil
	}
	if w == nil {
		if len(l.seen) >= maxRepeatKeys && !l.sweep(now) {
			return true, ended
		}
		w = &repeatWindow{start: now}
		l.seen[key] = w
	}
	w.n++
	if w.n <= l.burst {
		return true, ended
	}
	w.suppressed++
	if w.suppressed == 1 {
		// Reported by the window's end even if no line of this kind
		// follows.
		l.after(w.start.Add(l.window).Sub(now), func() { l.windowEnd(key, w) })
	}
	return false, ended
}

// sweep forgets the windows that ended with nothing to report, and reports
// whether that made room. l.mu is held.
func (l *RepeatLimit) sweep(now time.Time) bool {
	for k, w := range l.seen {
		if w.suppressed == 0 && now.Sub(w.start) >= l.window {
			delete(l.seen, k)
		}
	}
	return len(l.seen) < maxRepeatKeys
}

// windowEnd reports w's suppressed lines, unless a later line of key did.
func (l *RepeatLimit) windowEnd(key repeatKey, w *repeatWindow) {
	l.mu.Lock()
	current := l.seen[key] == w && w.suppressed > 0
	if current {
		delete(l.seen, key)
	}
	l.mu.Unlock()
	if current {
		l.summarize(key, w)
	}
}

// Flush reports the suppressed lines of every window now, ended or not:
// at exit, so that none goes unreported.
func (l *RepeatLimit) Flush() {
	l.mu.Lock()
	pending := map[repeatKey]*repeatWindow{}
	for k, w := range l.seen {
		if w.suppressed > 0 {
			pending[k] = w
			delete(l.seen, k)
		}
	}
	l.mu.Unlock()
	for k, w := range pending {
		l.summarize(k, w)
	}
}

// summarize writes the line that says how many lines of key w suppressed.
// w is no longer counted into.
func (l *RepeatLimit) summarize(key repeatKey, w *repeatWindow) {
	r := slog.NewRecord(l.now(), key.level, "similar log lines suppressed", 0)
	r.AddAttrs(slog.String("message", key.msg))
	if key.reason != "" {
		r.AddAttrs(slog.String("reason", key.reason))
	}
	r.AddAttrs(slog.Int("suppressed", w.suppressed), slog.Int("passed", l.burst), slog.String("window", l.window.String()))
	_ = l.out.Handle(context.Background(), r)
}

// WithAttrs returns a handler whose lines carry attrs, limited together
// with l's.
func (l *RepeatLimit) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &RepeatLimit{next: l.next.WithAttrs(attrs), repeats: l.repeats}
}

// WithGroup returns a handler whose attributes go in group name, limited
// together with l's.
func (l *RepeatLimit) WithGroup(name string) slog.Handler {
	return &RepeatLimit{next: l.next.WithGroup(name), repeats: l.repeats}
}

var _ slog.Handler = (*RepeatLimit)(nil)
