package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/gqlguard/gqlguard/documents"
	"github.com/gqlguard/gqlguard/envelope"
)

// Registration serves the admin API's PUT /v1/documents: CI registers a
// batch of trusted documents (a manifest in any accepted format). The batch
// is checked as a whole (one bad entry and nothing is stored), then stored
// by one Put, each document atomically and durably.
// Putting the same batch again is harmless; a batch that would re-bind a
// registered id to another text is refused whole with 409 and the code
// DOCUMENT_ID_CONFLICT.
type Registration struct {
	// Store receives the documents.
	Store documents.Store
	// Token is the bearer token callers may present. Empty refuses every
	// token.
	Token string
	// ClientCertificates lets a client certificate verified in the TLS
	// handshake register documents in place of the token.
	ClientCertificates bool
	// ClientNames are the certificate names allowed to register: the
	// subject common name or any subject alternative name (DNS name, URI,
	// email address, IP address). Empty allows every verified certificate.
	ClientNames []string
	// Decode reads a request body into entries, verifying every id.
	Decode func(io.Reader) ([]documents.Entry, error)
	// Check refuses documents that break the safety rules; nil checks
	// nothing beyond the ids.
	Check func([]documents.Entry) error
	// MaxBody bounds the request body; 0 means 32 MiB.
	MaxBody int64
	// Logger records registrations.
	Logger *slog.Logger
}

type registrationResult struct {
	Stored int            `json:"stored"`
	IDs    []documents.ID `json:"ids"`
}

type apiError struct {
	Error string `json:"error"`
}

// conflictError is the answer to a batch that would re-bind ids: the
// message, a stable code and the ids.
type conflictError struct {
	Error string         `json:"error"`
	Code  envelope.Code  `json:"code"`
	IDs   []documents.ID `json:"ids"`
}

// ServeHTTP implements http.Handler.
func (reg *Registration) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", "PUT")
		writeJSON(w, http.StatusMethodNotAllowed, apiError{"use PUT with a manifest body"})
		return
	}
	by, status, msg := reg.authenticate(r)
	if status != 0 {
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="gqlguard-admin"`)
		}
		writeJSON(w, status, apiError{msg})
		return
	}
	max := reg.MaxBody
	if max <= 0 {
		max = 32 << 20
	}
	entries, err := reg.Decode(http.MaxBytesReader(w, r.Body, max))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{"the manifest is larger than the limit"})
		return
	case err != nil:
		writeJSON(w, http.StatusBadRequest, apiError{"the manifest was refused, nothing was stored: " + err.Error()})
		return
	case len(entries) == 0:
		writeJSON(w, http.StatusBadRequest, apiError{"the manifest holds no document"})
		return
	}
	if reg.Check != nil {
		if err := reg.Check(entries); err != nil {
			writeJSON(w, http.StatusUnprocessableEntity, apiError{"the documents break the safety rules, nothing was stored:\n" + err.Error()})
			return
		}
	}
	err = reg.Store.Put(r.Context(), entries)
	var conflict *documents.ConflictError
	if errors.As(err, &conflict) {
		reg.Logger.Warn("document registration refused: an id would be re-bound to another text", "ids", conflict.IDs, "remote", r.RemoteAddr)
		writeJSON(w, http.StatusConflict, conflictError{Error: "nothing was stored: " + conflict.Error(), Code: envelope.CodeDocumentIDConflict, IDs: conflict.IDs})
		return
	}
	if err != nil {
		reg.Logger.Error("document registration failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, apiError{"the documents could not be stored; nothing was stored"})
		return
	}
	ids := make([]documents.ID, len(entries))
	for i, e := range entries {
		ids[i] = e.ID
	}
	reg.Logger.Info("documents registered", "count", len(entries), "remote", r.RemoteAddr, "by", by)
	writeJSON(w, http.StatusOK, registrationResult{Stored: len(entries), IDs: ids})
}

// authenticate accepts either credential: an allowed, verified client
// certificate or the admin token, and says which (for the log). Otherwise
// it returns 401 when neither was sent and 403 when one was sent but is
// not good enough, with a message for the caller.
func (reg *Registration) authenticate(r *http.Request) (by string, status int, msg string) {
	cert := reg.verifiedCertificate(r)
	if cert != nil && reg.allows(cert) {
		return "client certificate " + cert.Subject.String(), 0, ""
	}
	status, msg = reg.checkToken(r, cert != nil)
	return "admin token", status, msg
}

// checkToken checks the Authorization header against the admin token;
// hadCert says a verified but not allowed certificate was sent.
func (reg *Registration) checkToken(r *http.Request, hadCert bool) (int, string) {
	values := r.Header.Values("Authorization")
	switch {
	case len(values) == 0 && hadCert:
		return http.StatusForbidden, "the client certificate is not allowed to register documents: add one of its names to admin.client_names"
	case reg.Token == "" && reg.ClientCertificates:
		// 403, not 401: there is no token to challenge for.
		return http.StatusForbidden, "send an allowed client certificate (registration by token is disabled: set admin.token)"
	case reg.Token == "":
		return http.StatusForbidden, "document registration is disabled: set admin.token, or admin.tls.client_ca_file for client certificates"
	case len(values) == 0 && reg.ClientCertificates:
		return http.StatusUnauthorized, "send Authorization: Bearer <admin token> or an allowed client certificate"
	case len(values) == 0:
		return http.StatusUnauthorized, "send Authorization: Bearer <admin token>"
	}
	// RFC 7235: the scheme name is case-insensitive.
	scheme, token, _ := strings.Cut(values[0], " ")
	if len(values) > 1 || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return http.StatusUnauthorized, "send exactly one Authorization: Bearer <admin token> header"
	}
	// Hashes are compared in constant time, so that not even the token's
	// length leaks through timing.
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(reg.Token))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return http.StatusForbidden, "the admin token is not valid"
	}
	return 0, ""
}

// verifiedCertificate returns the client certificate the TLS handshake
// verified, or nil. An unverified certificate is never looked at.
func (reg *Registration) verifiedCertificate(r *http.Request) *x509.Certificate {
	if !reg.ClientCertificates || r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return nil
	}
	return r.TLS.VerifiedChains[0][0]
}

// allows reports whether c names one of ClientNames (any name, when the
// list is empty).
func (reg *Registration) allows(c *x509.Certificate) bool {
	if len(reg.ClientNames) == 0 {
		return true
	}
	return slices.ContainsFunc(certificateNames(c), func(n string) bool {
		return slices.Contains(reg.ClientNames, n)
	})
}

// certificateNames lists the names c is known by: its subject common name
// and every subject alternative name (DNS names, URIs, email addresses, IP
// addresses), as written.
func certificateNames(c *x509.Certificate) []string {
	var names []string
	if c.Subject.CommonName != "" {
		names = append(names, c.Subject.CommonName)
	}
	names = append(names, c.DNSNames...)
	for _, u := range c.URIs {
		names = append(names, u.String())
	}
	names = append(names, c.EmailAddresses...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
