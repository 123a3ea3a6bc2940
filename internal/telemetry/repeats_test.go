package telemetry

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gqlguard/gqlguard/envelope"
)

// limited is a JSON logger behind a RepeatLimit of 10 lines a second on a
// clock the test moves, with what it wrote and the functions it asked to
// run at a window's end.
type limited struct {
	out    bytes.Buffer
	clock  time.Time
	timers []func()
	logger *slog.Logger
}

func newLimited() *limited {
	l := &limited{clock: time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)}
	l.logger = slog.New(LimitRepeats(NewJSONLogger(&l.out, slog.LevelDebug).Handler(), RepeatOptions{
		Now:       func() time.Time { return l.clock },
		AfterFunc: func(_ time.Duration, f func()) { l.timers = append(l.timers, f) },
	}))
	return l
}

type logLine struct {
	Level      string `json:"level"`
	Msg        string `json:"msg"`
	Message    string `json:"message"`
	Reason     string `json:"reason"`
	Suppressed int    `json:"suppressed"`
	N          int    `json:"n"`
}

func readLines(t *testing.T, out *bytes.Buffer) []logLine {
	t.Helper()
	var lines []logLine
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var l logLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		lines = append(lines, l)
	}
	out.Reset()
	return lines
}

// count returns how many of lines have msg and reason.
func count(lines []logLine, msg, reason string) int {
	n := 0
	for _, l := range lines {
		if l.Msg == msg && l.Reason == reason {
			n++
		}
	}
	return n
}

func TestRepeatedWarningsAreCappedAndCounted(t *testing.T) {
	l := newLimited()
	logger := l.logger
	derived := logger.With("component", "proxy")

	for i := range 25 {
		logger.Warn("upstream request failed", "reason", "timeout", "n", i, "request_id", "r1")
		derived.Warn("upstream request failed", "reason", "connection refused", "n", i, "request_id", "r2")
		logger.Error("document store failed", "n", i, "request_id", "r3")
		logger.Info("request", "n", i)
		logger.Debug("client went away", "n", i)
	}
	lines := readLines(t, &l.out)
	for _, tt := range []struct {
		msg, reason string
		want        int
	}{
		{"upstream request failed", "timeout", 10},
		{"upstream request failed", "connection refused", 10}, // another reason is another kind of line
		{"document store failed", "", 10},
		{"request", "", 25},          // INFO is never held back
		{"client went away", "", 25}, // nor DEBUG
		{"similar log lines suppressed", "", 0},
	} {
		if got := count(lines, tt.msg, tt.reason); got != tt.want {
			t.Errorf("%d lines %q (reason %q) in the first window; want %d", got, tt.msg, tt.reason, tt.want)
		}
	}
	if len(l.timers) != 3 {
		t.Fatalf("%d window-end reports scheduled; want 3, one for each kind of line held back", len(l.timers))
	}

	// The window ends with no more lines: its reports are written.
	l.clock = l.clock.Add(time.Second)
	for _, f := range l.timers {
		f()
	}
	lines = readLines(t, &l.out)
	if len(lines) != 3 {
		t.Fatalf("%d lines at the window's end; want the 3 reports: %+v", len(lines), lines)
	}
	for _, l := range lines {
		if l.Msg != "similar log lines suppressed" || l.Suppressed != 15 {
			t.Errorf("report %+v; want 15 suppressed", l)
		}
	}
	if l := lines[0]; l.Level != "WARN" || l.Message != "upstream request failed" || l.Reason != "timeout" {
		t.Errorf("report %+v does not name the line it stands for", l)
	}

	// A new window lets lines through again.
	logger.Warn("upstream request failed", "reason", "timeout", "request_id", "r4")
	if lines = readLines(t, &l.out); len(lines) != 1 || lines[0].Msg != "upstream request failed" {
		t.Errorf("the next window's first line: %+v", lines)
	}
}

// A line of the same kind in the next window reports the last window's
// suppressed lines first, and the window-end report then finds nothing left
// to say.
func TestSuppressedLinesAreReportedByTheNextLine(t *testing.T) {
	l := newLimited()
	logger := l.logger
	for i := range 12 {
		logger.Warn("upstream answer cut", "n", i, "request_id", "r")
	}
	l.clock = l.clock.Add(1500 * time.Millisecond)
	logger.Warn("upstream answer cut", "n", 12, "request_id", "r")
	for _, f := range l.timers {
		f()
	}
	lines := readLines(t, &l.out)
	if len(lines) != 12 {
		t.Fatalf("%d lines; want 10, the report, then the new line: %+v", len(lines), lines)
	}
	if l := lines[10]; l.Msg != "similar log lines suppressed" || l.Suppressed != 2 {
		t.Errorf("report %+v; want 2 suppressed", l)
	}
	if l := lines[11]; l.Msg != "upstream answer cut" || l.N != 12 {
		t.Errorf("line after the report %+v", l)
	}
}

// Access lines are one per request: a limited logger holds none back, and
// the observe stage still writes them itself.
func TestAccessLinesAreNeverHeldBack(t *testing.T) {
	l := newLimited()
	o := &Observer{
		Logger: l.logger,
		Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			envelope.WriteError(w, r, envelope.Errorf(envelope.CodeUpstreamUnavailable, "down"))
		}),
		Now: func() time.Time { return l.clock },
	}
	for range 30 {
		o.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "https://localhost/graphql", nil))
	}
	if n := strings.Count(l.out.String(), `"msg":"request"`); n != 30 || len(l.timers) != 0 {
		t.Errorf("%d access lines of 30 (%d held back)", n, len(l.timers))
	}
}

// Flush reports what the current windows held back, as at exit, and the
// window-end reports then have nothing left to say.
func TestFlushReportsPendingWindows(t *testing.T) {
	l := newLimited()
	logger := l.logger
	for range 14 {
		logger.Error("upstream request failed", "reason", "unreadable", "request_id", "r")
	}
	logger.Handler().(*RepeatLimit).Flush()
	for _, f := range l.timers {
		f()
	}
	lines := readLines(t, &l.out)
	if len(lines) != 11 || lines[10].Msg != "similar log lines suppressed" || lines[10].Suppressed != 4 || lines[10].Level != "ERROR" {
		t.Errorf("lines %+v; want 10 and one report of 4", lines)
	}
}

// Lines about the gateway's own state are logged once per event by their
// callers, and each names what it is about: none is held back, however
// many come at once.
func TestLinesNotAboutARequestAreNeverHeldBack(t *testing.T) {
	l := newLimited()
	logger := l.logger
	for i := range 25 {
		logger.Error("trusted document file refused: its content is not what its name says", "file", i)
		logger.Warn("certificate reload refused", "reason", "unreadable", "n", i)
	}
	lines := readLines(t, &l.out)
	if len(lines) != 50 || len(l.timers) != 0 {
		t.Errorf("%d lines of 50 written, %d window reports pending", len(lines), len(l.timers))
	}
}
