package main

import (
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/gqlguard/gqlguard/bench/internal/docfolder"
	"github.com/gqlguard/gqlguard/internal/capool"
	"github.com/gqlguard/gqlguard/internal/certs"
)

// generate writes n trusted documents into dir, laid out as the folder
// store reads them, dated an hour ago as a folder deployed before the start
// would be, and returns the id of one of them.
func generate(dir string, n int) (string, error) {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("query Doc%d($first: Int) { items%d(first: $first) { id name updatedAt } }", i, i%500)
	}
	ids, err := docfolder.Write(dir, texts, time.Now().Add(-time.Hour))
	if err != nil {
		return "", err
	}
	return string(ids[n/2]), nil
}

// certFiles are a development certificate for loopback, its key, and a
// pool that trusts its CA.
type certFiles struct {
	cert, key string
	pool      *x509.CertPool
}

// selfSigned writes a development CA and a certificate for loopback into
// dir, as gqlguard demo does.
func selfSigned(dir string) (certFiles, error) {
	ca, err := certs.EnsureDevCA(dir, certs.DefaultHosts(), time.Now())
	if err != nil {
		return certFiles{}, err
	}
	pool, err := capool.Read(ca.CAFile)
	if err != nil {
		return certFiles{}, err
	}
	return certFiles{cert: ca.CertFile, key: ca.KeyFile, pool: pool}, nil
}

// upstream is a GraphQL endpoint on loopback that answers every request.
type upstream struct {
	url string
	srv *http.Server
}

func startUpstream() (*upstream, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"data":{"items":[]}}`)
	})}
	go func() { _ = srv.Serve(ln) }()
	return &upstream{url: "http://" + ln.Addr().String() + "/graphql", srv: srv}, nil
}

// Close stops the upstream.
func (u *upstream) Close() { _ = u.srv.Close() }
