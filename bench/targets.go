package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/internal/config"
)

// Target and section names accepted by -only.
const (
	nameUpstream      = "upstream"
	nameBaseline      = "baseline"
	nameRS256         = "gqlguard-rs256"
	nameES256         = "gqlguard-es256"
	nameRS256Uncached = "gqlguard-rs256-uncached"
	nameES256Uncached = "gqlguard-es256-uncached"
	nameDocs1k        = "docs-1k"
	nameDocs100kHot   = "docs-100k-hot"
	nameDocs100kCold  = "docs-100k-cold"
	sectionConns      = "conns"
	sectionDocs       = "docs"
)

// Sizes of the generated document stores, and how many documents of the
// large store the hot mix requests.
const (
	smallStore = 1_000
	largeStore = 100_000
	hotSet     = 1_000
)

// targets builds every target; servers start on first use.
func (e *setup) targets() map[string]*target {
	ts := map[string]*target{}
	add := func(t *target) { ts[t.name] = t }
	plain := func(name, token string) *target {
		return &target{name: name, header: headers(token), bodies: [][]byte{mainBody}}
	}

	// served is a target whose server start starts.
	served := func(name string, start func() (string, *http.Server, error)) *target {
		t := plain(name, e.esToken)
		t.start = func() error {
			url, srv, err := start()
			if err != nil {
				return err
			}
			e.onClose(func() { _ = srv.Close() })
			t.url = url
			return e.check(t, false)
		}
		return t
	}
	add(served(nameUpstream, func() (string, *http.Server, error) {
		return serveTLS("upstream", e.up, e.ca.CertFile, e.ca.KeyFile)
	}))
	add(served(nameBaseline, func() (string, *http.Server, error) {
		return startBaseline(e.upstreamURL, e.ca.CertFile, e.ca.KeyFile)
	}))

	mainDocs := filepath.Join(e.dir, "documents-main")
	var writeMain sync.Once
	var writeErr error
	for _, g := range []struct {
		name          string
		issuer, token string
		cache         bool
	}{
		{nameRS256, e.rsIssuer, e.rsToken, true},
		{nameES256, e.esIssuer, e.esToken, true},
		{nameRS256Uncached, e.rsIssuer, e.rsToken, false},
		{nameES256Uncached, e.esIssuer, e.esToken, false},
	} {
		t := plain(g.name, g.token)
		t.start = func() error {
			writeMain.Do(func() { _, writeErr = writeStore(mainDocs, []string{invoicesQuery}) })
			if writeErr != nil {
				return writeErr
			}
			return e.startGatewayTarget(t, gatewaySpec{name: g.name, issuer: g.issuer, docsDir: mainDocs, tokenCache: g.cache})
		}
		add(t)
	}
	for _, t := range e.docTargets() {
		add(t)
	}
	return ts
}

// startGatewayTarget starts a gateway for t and checks it.
func (e *setup) startGatewayTarget(t *target, spec gatewaySpec) error {
	g, err := startGateway(e, spec)
	if err != nil {
		return err
	}
	e.onClose(func() { _ = g.stop() })
	t.url, t.accessLines = g.url, g.accessLines.n.Load
	return e.check(t, true)
}

// docTargets are the document-store targets: a store of 1 000 documents
// requested uniformly, and one gateway on a store of 100 000 requested two
// ways: uniformly among 1 000 of them (all cached after warm-up) and
// uniformly among all of them (mostly cache misses with the default cache
// of 10 000 parsed documents).
func (e *setup) docTargets() []*target {
	small := &target{name: nameDocs1k, header: headers(e.esToken)}
	small.start = func() error {
		ids, err := generatedStore(filepath.Join(e.dir, "documents-1k"), smallStore)
		if err != nil {
			return err
		}
		small.bodies = bodies(ids)
		return e.startGatewayTarget(small, gatewaySpec{name: small.name, issuer: e.esIssuer, docsDir: filepath.Join(e.dir, "documents-1k"), tokenCache: true})
	}
	hot := &target{name: nameDocs100kHot, header: headers(e.esToken)}
	cold := &target{name: nameDocs100kCold, header: headers(e.esToken)}
	var once sync.Once
	var err error
	startLarge := func() error {
		once.Do(func() {
			dir := filepath.Join(e.dir, "documents-100k")
			var ids []documents.ID
			if ids, err = generatedStore(dir, largeStore); err != nil {
				return
			}
			cold.bodies = bodies(ids)
			hot.bodies = cold.bodies[:hotSet]
			if err = e.startGatewayTarget(cold, gatewaySpec{name: "docs-100k", issuer: e.esIssuer, docsDir: dir, tokenCache: true}); err != nil {
				return
			}
			hot.url, hot.accessLines = cold.url, cold.accessLines // one gateway
			if err = e.check(hot, true); err != nil {
				return
			}
			// The store's first poll lists the whole folder (about half a
			// second of CPU for 100 000 files): let it pass before measuring.
			time.Sleep(config.Default().Documents.PollInterval + time.Second)
		})
		if err != nil {
			return fmt.Errorf("store of %d documents: %w", largeStore, err)
		}
		return nil
	}
	hot.start, cold.start = startLarge, startLarge
	return []*target{small, hot, cold}
}

func bodies(ids []documents.ID) [][]byte {
	out := make([][]byte, len(ids))
	for i, id := range ids {
		out[i] = requestBody(id)
	}
	return out
}
