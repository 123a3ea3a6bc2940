package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// generate writes n trusted documents into dir, laid out as the folder
// store reads them, dated an hour ago as a folder deployed before the start
// would be, and returns the id of one of them.
func generate(dir string, n int) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	old := time.Now().Add(-time.Hour)
	var id string
	for i := range n {
		text := fmt.Sprintf("query Doc%d($first: Int) { items%d(first: $first) { id name updatedAt } }", i, i%500)
		sum := sha256.Sum256([]byte(text))
		hash := hex.EncodeToString(sum[:])
		path := filepath.Join(dir, hash+".graphql")
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			return "", err
		}
		if err := os.Chtimes(path, old, old); err != nil {
			return "", err
		}
		if i == n/2 {
			id = "sha256:" + hash
		}
	}
	return id, os.Chtimes(dir, old, old)
}

// certFiles are a self-signed certificate for 127.0.0.1 and its key.
type certFiles struct {
	cert, key string
	pool      *x509.CertPool
}

// selfSigned writes a self-signed ECDSA certificate for 127.0.0.1 into dir.
func selfSigned(dir string) (certFiles, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return certFiles{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "gqlguard scale measurement"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return certFiles{}, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return certFiles{}, err
	}
	c := certFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	if err := os.WriteFile(c.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return certFiles{}, err
	}
	if err := os.WriteFile(c.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return certFiles{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return certFiles{}, err
	}
	c.pool.AddCert(leaf)
	return c, nil
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
