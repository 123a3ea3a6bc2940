package telemetry

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// slogLine is the line slog's JSON handler writes for l.
func slogLine(t testing.TB, l *accessLine) string {
	t.Helper()
	var out bytes.Buffer
	r := slog.NewRecord(l.end, l.level, "request", 0)
	r.AddAttrs(l.attrs(nil)...)
	if err := slog.NewJSONHandler(&out, nil).Handle(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestAccessLineIsWhatSlogWrites(t *testing.T) {
	end := time.Date(2026, 12, 1, 16, 4, 5, 123456789, time.UTC)
	full := accessLine{
		end: end, level: slog.LevelInfo, id: "a1b2c3d4e5f6-1z", method: "POST", path: "/graphql",
		status: 200, durationUS: 1234, outcome: "OK", clientIP: "2001:db8::1", bytes: 512,
		tlsVersion: "TLS 1.3", tlsCipher: "TLS_AES_128_GCM_SHA256", upstreamUS: 987, hasUpstream: true,
	}
	for name, edit := range map[string]func(*accessLine){
		"every field":           func(*accessLine) {},
		"no TLS":                func(l *accessLine) { l.tlsVersion, l.tlsCipher = "", "" },
		"no upstream":           func(l *accessLine) { l.upstreamUS, l.hasUpstream = 0, false },
		"an upstream under 1µs": func(l *accessLine) { l.upstreamUS = 0 },
		"an error": func(l *accessLine) {
			l.err, l.hasErr, l.outcome, l.status = "upstream: dial tcp: refused", true, "UPSTREAM_UNAVAILABLE", 502
		},
		"an empty error":           func(l *accessLine) { l.hasErr = true },
		"warn level":               func(l *accessLine) { l.level = slog.LevelWarn },
		"whole seconds":            func(l *accessLine) { l.end = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) },
		"a zone east of UTC":       func(l *accessLine) { l.end = end.In(time.FixedZone("", 5*3600+30*60)) },
		"a monotonic clock":        func(l *accessLine) { l.end = time.Now() },
		"negative numbers":         func(l *accessLine) { l.durationUS, l.bytes = -1, -9 },
		"HTML characters as given": func(l *accessLine) { l.path = "/graphql?<a>&b" },
		"empty strings":            func(l *accessLine) { l.id, l.method, l.path, l.clientIP = "", "", "", "" },
	} {
		t.Run(name, func(t *testing.T) {
			l := full
			edit(&l)
			got, ok := l.appendJSON(nil)
			if !ok {
				t.Fatal("the fast path declined a line of plain values")
			}
			if want := slogLine(t, &l); string(got) != want {
				t.Errorf("fast path wrote\n%s\nslog writes\n%s", got, want)
			}
		})
	}
}

func TestAccessLineLeavesEscapingToSlog(t *testing.T) {
	end := time.Date(2026, 12, 1, 16, 4, 5, 0, time.UTC)
	for name, l := range map[string]accessLine{
		"a quote in the path":       {end: end, path: `/a"b`},
		"a backslash in the error":  {end: end, err: `C:\x`, hasErr: true},
		"a newline in the method":   {end: end, method: "PO\nST"},
		"a control byte in the id":  {end: end, id: "a\x01"},
		"DEL in the outcome":        {end: end, outcome: "\x7f"},
		"a zero time":               {},
		"UTF-8 in the path":         {end: end, path: "/é"},
		"invalid UTF-8 in the path": {end: end, path: "/\xff"},
		"a year past 9999":          {end: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if _, ok := l.appendJSON(nil); ok {
			t.Errorf("%s: the fast path wrote a line it must leave to slog", name)
		}
	}
}

// TestObserverWritesSlogsLineEitherWay serves requests through the observe
// stage with NewJSONLogger, one with a plain path (the fast path) and one
// whose path needs escaping (the handler), and checks each line is the one
// slog's JSON handler writes.
func TestObserverWritesSlogsLineEitherWay(t *testing.T) {
	for _, path := range []string{"/graphql", `/graph"ql`, "/grä"} {
		var out bytes.Buffer
		clock := time.Date(2026, 12, 1, 16, 4, 5, 0, time.UTC)
		o := &Observer{
			Logger: NewJSONLogger(&out, slog.LevelInfo),
			Next:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }),
			Now:    func() time.Time { return clock },
		}
		r := httptest.NewRequest(http.MethodPost, "https://localhost/", nil)
		r.URL.Path = path
		o.ServeHTTP(httptest.NewRecorder(), r)
		var logged struct {
			ID string `json:"request_id"`
		}
		if err := json.Unmarshal(out.Bytes(), &logged); err != nil {
			t.Fatalf("path %q: %v: %s", path, err, out.String())
		}
		want := slogLine(t, &accessLine{
			end: clock, level: slog.LevelInfo, id: logged.ID, method: "POST", path: path, status: 200, outcome: "OK",
			clientIP: "192.0.2.1", bytes: 2, tlsVersion: TLSVersionName(r.TLS.Version), tlsCipher: CipherSuiteName(r.TLS.CipherSuite),
		})
		if out.String() != want {
			t.Errorf("path %q: logged\n%s\nslog writes\n%s", path, out.String(), want)
		}
	}
}

// TestJSONLoggerLinesDoNotInterleave logs from many goroutines through the
// handler and the fast path at once; every line must be one JSON object.
func TestJSONLoggerLinesDoNotInterleave(t *testing.T) {
	var out bytes.Buffer
	logger := NewJSONLogger(&out, slog.LevelInfo)
	jh := logger.Handler().(*jsonHandler)
	line := accessLine{end: time.Now(), path: strings.Repeat("p", 3000)}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if !line.writeTo(jh) {
					t.Error("the fast path declined a plain line")
					return
				}
				logger.Info("other", "value", strings.Repeat("v", 3000))
			}
		})
	}
	wg.Wait()
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	n := 0
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Fatalf("line %d is not one JSON object: %.80s…", n, sc.Text())
		}
		n++
	}
	if n != 8*200*2 {
		t.Errorf("%d lines, want %d", n, 8*200*2)
	}
}

// TestDerivedLoggerKeepsItsAttributes checks that a logger made from
// NewJSONLogger's with With is not mistaken for it: its access lines carry
// its attributes.
func TestDerivedLoggerKeepsItsAttributes(t *testing.T) {
	var out bytes.Buffer
	o := &Observer{
		Logger: NewJSONLogger(&out, slog.LevelInfo).With("service", "billing"),
		Next:   http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}),
	}
	o.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(out.String(), `"service":"billing"`) {
		t.Errorf("access line lost the logger's attribute: %s", out.String())
	}
}

func FuzzAccessLine(f *testing.F) {
	f.Add("a1-1", "POST", "/graphql", "OK", "127.0.0.1", "", false, 200, int64(5), int64(3), int64(1700000000123456789), 0, 0, "TLS 1.3", int64(7), true)
	f.Add("x", "GET", `/"\`, "UPSTREAM_UNAVAILABLE", "::1", "boom", true, 502, int64(-1), int64(0), int64(0), 3600, 4, "", int64(0), false)
	f.Add("", "", "", "", "", "", false, 0, int64(0), int64(0), int64(-62135596800000000), 0, 0, "", int64(0), false)
	f.Fuzz(func(t *testing.T, id, method, path, outcome, clientIP, errText string, hasErr bool, status int, duration, size, nanos int64, zone, level int, tlsVersion string, upstream int64, hasUpstream bool) {
		end := time.Unix(0, nanos).In(time.FixedZone("", zone%(18*3600)))
		if nanos == -62135596800000000 {
			end = time.Time{} // beyond time.Unix(0, n)'s years: the zero time
		}
		l := accessLine{
			end: end, level: slog.Level(level % 20),
			id: id, method: method, path: path, status: status, durationUS: duration, outcome: outcome,
			clientIP: clientIP, bytes: size, err: errText, hasErr: hasErr,
			upstreamUS: upstream, hasUpstream: hasUpstream,
		}
		if tlsVersion != "" {
			l.tlsVersion, l.tlsCipher = tlsVersion, "TLS_AES_128_GCM_SHA256"
		}
		got, ok := l.appendJSON(nil)
		if !ok {
			if !l.end.IsZero() && l.end.Year() >= 0 && l.end.Year() < 10000 &&
				plain(id) && plain(method) && plain(path) && plain(outcome) && plain(clientIP) && plain(errText) && plain(tlsVersion) {
				t.Fatal("the fast path declined a line of plain values")
			}
			return
		}
		if want := slogLine(t, &l); string(got) != want {
			t.Fatalf("fast path wrote\n%s\nslog writes\n%s", got, want)
		}
	})
}
