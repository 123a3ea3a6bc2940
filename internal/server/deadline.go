package server

import (
	"net/http"
	"time"
)

// writeDeadlines gives every write of a response idle time to complete, and
// moves the deadline on after each one. A client that stops reading (to hold
// a connection and its upstream request open) is cut off after idle, while
// a long answer that keeps flowing, such as a subscription stream, is not.
func writeDeadlines(idle time.Duration, next http.Handler) http.Handler {
	if idle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		_ = rc.SetWriteDeadline(time.Now().Add(idle))
		next.ServeHTTP(&deadlineWriter{ResponseWriter: w, rc: rc, idle: idle}, r)
	})
}

type deadlineWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	idle time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	_ = d.rc.SetWriteDeadline(time.Now().Add(d.idle))
	return d.ResponseWriter.Write(p)
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
