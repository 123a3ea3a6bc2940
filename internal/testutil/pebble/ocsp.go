package pebble

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"time"

	"golang.org/x/crypto/ocsp"
)

// issuer is the certificate that signs Pebble's leaves, with its key.
type issuer struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// Intermediate returns the certificate that issues Pebble's leaves and its
// key, fetched from the management interface once.
func (s *Server) Intermediate() (*x509.Certificate, crypto.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.issuer != nil {
		return s.issuer.cert, s.issuer.key, nil
	}
	client := s.client()
	var certPEM, keyPEM bytes.Buffer
	if err := get(client, s.mgmt+"/intermediates/0", &certPEM); err != nil {
		return nil, nil, err
	}
	if err := get(client, s.mgmt+"/intermediate-keys/0", &keyPEM); err != nil {
		return nil, nil, err
	}
	cb, _ := pem.Decode(certPEM.Bytes())
	kb, _ := pem.Decode(keyPEM.Bytes())
	if cb == nil || kb == nil {
		return nil, nil, errors.New("pebble: the intermediate certificate or key is not PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := x509.ParsePKCS1PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, err
	}
	s.issuer = &issuer{cert: cert, key: key}
	return cert, key, nil
}

// ocspResponder answers every OCSP request "good", signed by Pebble's
// intermediate, valid for an hour.
func (s *Server) ocspResponder() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := ocsp.ParseRequest(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cert, key, err := s.Intermediate()
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		now := time.Now().Truncate(time.Second)
		resp, err := ocsp.CreateResponse(cert, cert, ocsp.Response{
			Status:       ocsp.Good,
			SerialNumber: req.SerialNumber,
			ThisUpdate:   now.Add(-time.Minute),
			NextUpdate:   now.Add(time.Hour),
		}, key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/ocsp-response")
		_, _ = w.Write(resp)
	})
}
