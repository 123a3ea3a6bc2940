package main

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// answer is what the upstream returns for every POST: a realistic GraphQL
// result of about 400 bytes.
const answer = `{"data":{"invoices":[` +
	`{"number":"INV-0001","amountCents":12000,"status":"PAID","customer":{"name":"Ada Lovelace"}},` +
	`{"number":"INV-0002","amountCents":4500,"status":"OPEN","customer":{"name":"Grace Hopper"}},` +
	`{"number":"INV-0003","amountCents":9900,"status":"OPEN","customer":{"name":"Ada Lovelace"}},` +
	`{"number":"INV-0004","amountCents":31250,"status":"OVERDUE","customer":{"name":"Katherine Johnson"}}` +
	`]}}`

var (
	answerType   = []string{"application/graphql-response+json; charset=utf-8"}
	answerLength = []string{strconv.Itoa(len(answer))}
)

// upstream is a fast GraphQL upstream on plain HTTP: it reads the body and
// answers every POST with the same result. While sampling is on, it keeps
// a copy of the next request it gets, so the bench can check what a proxy
// forwards.
type upstream struct {
	sampling atomic.Bool
	mu       sync.Mutex
	sample   *sampled
}

// sampled is one request as the upstream saw it.
type sampled struct {
	header http.Header
	body   string
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if u.sampling.Load() {
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		if u.sample == nil && !strings.Contains(string(body), "__typename") {
			u.sample = &sampled{header: r.Header.Clone(), body: string(body)}
		}
		u.mu.Unlock()
	} else {
		_, _ = io.Copy(io.Discard, r.Body)
	}
	h := w.Header()
	h["Content-Type"] = answerType
	h["Content-Length"] = answerLength
	_, _ = io.WriteString(w, answer)
}

// take starts sampling and returns a function that waits for the sampled
// request and stops sampling.
func (u *upstream) take() func() *sampled {
	u.mu.Lock()
	u.sample = nil
	u.mu.Unlock()
	u.sampling.Store(true)
	return func() *sampled {
		defer u.sampling.Store(false)
		u.mu.Lock()
		defer u.mu.Unlock()
		return u.sample
	}
}

// startUpstream serves an upstream on a loopback port and returns its
// GraphQL URL.
func startUpstream(u *upstream) (string, *http.Server, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: u, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go labeled("upstream", func() { _ = srv.Serve(ln) })
	return "http://" + ln.Addr().String() + "/graphql", srv, nil
}
