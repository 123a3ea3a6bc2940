package server

import (
	"net/http"
	"time"
)

// writeDeadlines gives every write of a response idle time to complete, and
// moves the deadline on as writes go by. A client that stops reading (to
// hold a connection and its upstream request open) is cut off after idle,
// while a long answer that keeps flowing, such as a subscription stream, is
// not.
//
// The deadline is set when the response starts and moved only when a
// write finds less than three quarters of idle left, so that a short answer
// sets it once. (net/http clears it after every request, so each request
// sets its own.)
func writeDeadlines(idle time.Duration, next http.Handler) http.Handler {
	if idle <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The controller is held by value: one allocation, not two.
		d := &deadlineWriter{ResponseWriter: w, rc: *http.NewResponseController(w), idle: idle}
		d.arm(time.Now())
		next.ServeHTTP(d, r)
	})
}

type deadlineWriter struct {
	http.ResponseWriter
	rc    http.ResponseController
	idle  time.Duration
	armed time.Time // when the deadline was last set
}

// arm sets the write deadline to now+idle.
func (d *deadlineWriter) arm(now time.Time) {
	d.armed = now
	_ = d.rc.SetWriteDeadline(now.Add(d.idle))
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	if now := time.Now(); now.Sub(d.armed) > d.idle/4 {
		d.arm(now)
	}
	return d.ResponseWriter.Write(p)
}

func (d *deadlineWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
