package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/certs"
)

// setup is everything the targets share: the temporary folder, the
// development CA, the upstream, the token issuers and their tokens.
type setup struct {
	dir         string
	ca          *certs.DevCA
	up          *upstream
	upstreamURL string
	client      *loadClient
	esIssuer    string
	esToken     string
	rsIssuer    string
	rsToken     string

	mu      sync.Mutex
	closers []func()
}

func (e *setup) onClose(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closers = append(e.closers, f)
}

// close closes the workers' connections, stops every server, last started
// first, and removes the folder.
func (e *setup) close() {
	if e.client != nil {
		e.client.close()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	_ = os.RemoveAll(e.dir)
}

// newSetup starts the upstream and the issuers and obtains the tokens.
func newSetup() (*setup, error) {
	dir, err := os.MkdirTemp(tempRoot(), "gqlguard-bench-")
	if err != nil {
		return nil, err
	}
	e := &setup{dir: dir, up: &upstream{}}
	if err := e.start(); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *setup) start() error {
	var err error
	if e.ca, err = certs.EnsureDevCA(filepath.Join(e.dir, "ca"), certs.DefaultHosts(), time.Now()); err != nil {
		return err
	}
	roots, err := capool.Read(e.ca.CAFile)
	if err != nil {
		return err
	}
	e.client = &loadClient{roots: roots}

	url, srv, err := startUpstream(e.up)
	if err != nil {
		return err
	}
	e.upstreamURL = url
	e.onClose(func() { _ = srv.Close() })

	var iss *http.Server
	e.esIssuer, e.esToken, iss, err = startES256Issuer(e.dir)
	if iss != nil {
		e.onClose(func() { _ = iss.Close() })
	}
	if err != nil {
		return err
	}
	e.rsIssuer, e.rsToken, iss, err = startRS256Issuer()
	if iss != nil {
		e.onClose(func() { _ = iss.Close() })
	}
	return err
}

// headers returns the request headers of a browser-like GraphQL client
// with the given bearer token: JSON, an allowed Origin, Authorization.
func headers(token string) http.Header {
	return http.Header{
		"Content-Type":  {"application/json"},
		"Accept":        {"application/graphql-response+json, application/json"},
		"Origin":        {origin},
		"Authorization": {"Bearer " + token},
	}
}

// check sends one request to t and verifies the answer and what the
// upstream received: every target must pass it before it is measured.
func (e *setup) check(t *target, gqlguard bool) error {
	var lines int64
	if gqlguard {
		lines = t.accessLines()
	}
	taken := e.up.take()
	tr := e.client.newTransport()
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.bodies[0]))
	if err != nil {
		return err
	}
	req.Header = t.header.Clone()
	res, err := tr.RoundTrip(req)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	got, err := io.ReadAll(res.Body)
	_ = res.Body.Close()
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", t.name, err)
	case res.StatusCode != http.StatusOK || string(got) != answer:
		return fmt.Errorf("%s: status %d, answer %.300s", t.name, res.StatusCode, got)
	}
	s := taken()
	if s == nil {
		return fmt.Errorf("%s: the upstream saw no request", t.name)
	}
	if !gqlguard {
		if s.body != string(t.bodies[0]) {
			return fmt.Errorf("%s: the upstream received %.300s", t.name, s.body)
		}
		return nil
	}
	var problems []string
	if !strings.Contains(s.body, `"query":"query Invoices`) {
		problems = append(problems, "the upstream did not receive the document text: "+s.body)
	}
	if s.header.Get("X-User-Id") != "c1" {
		problems = append(problems, fmt.Sprintf("X-User-Id is %q, not c1", s.header.Get("X-User-Id")))
	}
	if s.header.Get("Authorization") != "" {
		problems = append(problems, "the token was forwarded")
	}
	if res.Header.Get("Access-Control-Allow-Origin") != origin {
		problems = append(problems, "no CORS answer for the allowed origin")
	}
	// The access line is written once the answer is out.
	for deadline := time.Now().Add(2 * time.Second); t.accessLines() == lines && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if n := t.accessLines() - lines; n != 1 {
		problems = append(problems, fmt.Sprintf("%d access lines for one request", n))
	}
	if err := e.checkCSRF(t, tr); err != nil {
		problems = append(problems, err.Error())
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", t.name, strings.Join(problems, "; "))
	}
	return nil
}

// checkCSRF sends t's request as a form could (text/plain, no preflight
// header) and fails unless the gateway refuses it before the upstream.
func (e *setup) checkCSRF(t *target, tr http.RoundTripper) error {
	taken := e.up.take()
	req, err := http.NewRequest(http.MethodPost, t.url, bytes.NewReader(t.bodies[0]))
	if err != nil {
		return err
	}
	req.Header = t.header.Clone()
	req.Header.Set("Content-Type", "text/plain")
	res, err := tr.RoundTrip(req)
	if err != nil {
		return err
	}
	got, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !bytes.Contains(got, []byte(`"CSRF_PREFLIGHT_REQUIRED"`)) || taken() != nil {
		return fmt.Errorf("a cross-site request was not refused: status %d, answer %.200s", res.StatusCode, got)
	}
	return nil
}

// mainBody runs the Invoices document.
var mainBody = requestBody(documents.SHA256(invoicesQuery))
