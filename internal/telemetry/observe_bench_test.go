package telemetry

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkObserve measures the observe stage around a handler that writes
// a small answer, with the access line on: through slog's JSON handler as
// NewJSONLogger builds it, and through the same behind the RepeatLimit the
// gateway's logger has, which access lines must pass at no cost.
func BenchmarkObserve(b *testing.B) {
	for name, logger := range map[string]*slog.Logger{
		"json":         NewJSONLogger(io.Discard, slog.LevelInfo),
		"json limited": slog.New(LimitRepeats(NewJSONLogger(io.Discard, slog.LevelInfo).Handler(), RepeatOptions{})),
	} {
		b.Run(name, func(b *testing.B) {
			o := &Observer{Logger: logger, Next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"data":{}}`))
			})}
			r := httptest.NewRequest(http.MethodPost, "https://localhost/graphql", nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				o.ServeHTTP(w, r)
			}
		})
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
