package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSPStatus is the state of a certificate's staple.
type OCSPStatus string

// The states of a staple.
const (
	// OCSPGood means the responder vouches for the certificate and its
	// response is stapled.
	OCSPGood OCSPStatus = "good"
	// OCSPRevoked means the responder reports the certificate revoked. The
	// response is stapled all the same, so that clients see it.
	OCSPRevoked OCSPStatus = "revoked"
	// OCSPUnknown means the responder does not know the certificate. Its
	// answer tells clients nothing and is not stapled; the previous staple,
	// if still valid, is kept.
	OCSPUnknown OCSPStatus = "unknown"
	// OCSPNone means there is nothing to staple: the leaf names no OCSP
	// responder, the chain holds no issuer, or stapling is off.
	OCSPNone OCSPStatus = "none"
	// OCSPError means the responder could not be asked or its answer was
	// refused. The previous staple, if still valid, is kept.
	OCSPError OCSPStatus = "error"
)

const (
	// ocspTimeout bounds a whole exchange with the responder when the
	// Stapler has no client of its own.
	ocspTimeout = 10 * time.Second
	// ocspMaxResponse bounds the body read from a responder. Real responses
	// are a few kilobytes; the bound keeps a broken or hostile responder
	// from filling memory.
	ocspMaxResponse = 1 << 20
	// ocspClockSkew is how far in the future a response's ThisUpdate may
	// lie, for responders whose clocks run slightly ahead.
	ocspClockSkew = 5 * time.Minute
	// ocspRetry is how soon to ask again after a failure or an unknown.
	ocspRetry = time.Minute
	// ocspMinRefresh keeps refreshes from following one another too closely.
	ocspMinRefresh = time.Minute
	// ocspDefaultMaxRefresh is the cap when Staple is given none.
	ocspDefaultMaxRefresh = time.Hour
)

// errNoOCSP marks a certificate that cannot be stapled by design; Staple
// reports it as OCSPNone rather than as a failure.
var errNoOCSP = errors.New("nothing to staple")

// Stapler fetches and refreshes OCSP staples.
type Stapler struct {
	// Client makes the requests to the responders. Nil means a client with
	// a 10 s timeout.
	Client *http.Client
	// Now tells the time responses are checked against. Nil means time.Now.
	Now func() time.Time
	// Logger receives why a staple could not be had and revocations. Nil
	// discards.
	Logger *slog.Logger
}

// ocspSubject is what a request about one certificate needs.
type ocspSubject struct {
	leaf      *x509.Certificate
	issuer    *x509.Certificate
	responder string
}

// Staple returns a copy of cert with OCSPStaple set to a fresh, verified
// response when one can be had, the status, and when the staple should next
// be refreshed.
//
// The refresh time is halfway between the response's ThisUpdate and
// NextUpdate, capped at maxRefresh from now (an hour when maxRefresh is not
// positive); after a failure or an unknown status it is a minute from now.
//
// Staple never fails the certificate. When the leaf names no responder or
// the chain holds no issuer it returns cert unchanged with OCSPNone. On any
// failure it logs why and returns cert with OCSPError, keeping its previous
// staple only while that staple verifies for the leaf and its NextUpdate is
// still in the future. A revoked status is stapled and logged as an error.
func (s *Stapler) Staple(ctx context.Context, cert *tls.Certificate, maxRefresh time.Duration) (*tls.Certificate, OCSPStatus, time.Time) {
	now := s.now()
	if maxRefresh <= 0 {
		maxRefresh = ocspDefaultMaxRefresh
	}
	out := *cert
	sub, err := ocspSubjectOf(cert)
	if errors.Is(err, errNoOCSP) {
		s.logger().Debug("OCSP stapling skipped", "reason", err)
		return &out, OCSPNone, now.Add(maxRefresh)
	}
	if err != nil {
		out.OCSPStaple = nil
		return s.fail(&out, err, now)
	}
	der, resp, err := s.fetch(ctx, sub, now)
	if err != nil {
		out.OCSPStaple = ocspKeep(out.OCSPStaple, sub, now)
		return s.fail(&out, err, now)
	}
	switch resp.Status {
	case ocsp.Good:
		out.OCSPStaple = der
		return &out, OCSPGood, ocspRefresh(resp, now, maxRefresh)
	case ocsp.Revoked:
		out.OCSPStaple = der
		s.logger().Error("OCSP responder reports the certificate revoked",
			"subject", sub.leaf.Subject.String(), "serial", sub.leaf.SerialNumber.String(),
			"revoked_at", resp.RevokedAt.UTC().Format(time.RFC3339), "reason", resp.RevocationReason,
			"responder", sub.responder)
		return &out, OCSPRevoked, ocspRefresh(resp, now, maxRefresh)
	default:
		out.OCSPStaple = ocspKeep(out.OCSPStaple, sub, now)
		s.logger().Warn("OCSP responder does not know the certificate",
			"subject", sub.leaf.Subject.String(), "serial", sub.leaf.SerialNumber.String(),
			"responder", sub.responder, "kept_previous_staple", out.OCSPStaple != nil)
		return &out, OCSPUnknown, now.Add(ocspRetry)
	}
}

// fail logs why no fresh staple could be had and schedules a retry.
func (s *Stapler) fail(out *tls.Certificate, err error, now time.Time) (*tls.Certificate, OCSPStatus, time.Time) {
	s.logger().Warn("OCSP staple not refreshed", "error", err, "kept_previous_staple", out.OCSPStaple != nil)
	return out, OCSPError, now.Add(ocspRetry)
}

// ocspSubjectOf finds the leaf, its issuer and the responder to ask. It
// returns an error wrapping errNoOCSP when there is nothing to staple.
func ocspSubjectOf(cert *tls.Certificate) (ocspSubject, error) {
	var sub ocspSubject
	if len(cert.Certificate) == 0 {
		return sub, errors.New("certs: OCSP: the certificate holds no chain")
	}
	sub.leaf = cert.Leaf
	if sub.leaf == nil {
		leaf, err := x509.ParseCertificate(cert.Certificate[0])
		if err != nil {
			return sub, fmt.Errorf("certs: OCSP: parsing the leaf: %w", err)
		}
		sub.leaf = leaf
	}
	if len(sub.leaf.OCSPServer) == 0 {
		return sub, fmt.Errorf("%w: the leaf names no OCSP responder", errNoOCSP)
	}
	sub.responder = ocspResponder(sub.leaf.OCSPServer)
	if sub.responder == "" {
		return sub, fmt.Errorf("%w: the leaf names no http or https OCSP responder: %q", errNoOCSP, sub.leaf.OCSPServer)
	}
	if len(cert.Certificate) < 2 {
		return sub, fmt.Errorf("%w: the chain holds no issuer certificate", errNoOCSP)
	}
	issuer, err := x509.ParseCertificate(cert.Certificate[1])
	if err != nil {
		return sub, fmt.Errorf("certs: OCSP: parsing the issuer: %w", err)
	}
	// A response is verified against this issuer's key, so a chain out of
	// order would only earn an error from the responder; say so plainly.
	if err := sub.leaf.CheckSignatureFrom(issuer); err != nil {
		return sub, fmt.Errorf("certs: OCSP: the second certificate in the chain did not issue the leaf: %w", err)
	}
	sub.issuer = issuer
	return sub, nil
}

// ocspResponder returns the first http or https URL among servers, or "".
// Other schemes (ldap, file) are never contacted.
func ocspResponder(servers []string) string {
	for _, s := range servers {
		u, err := url.Parse(s)
		if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
			return s
		}
	}
	return ""
}

// fetch asks the responder about the leaf and returns the verified response
// with its DER encoding.
func (s *Stapler) fetch(ctx context.Context, sub ocspSubject, now time.Time) ([]byte, *ocsp.Response, error) {
	// Nil options mean a SHA-1 CertID, the one every responder understands.
	reqDER, err := ocsp.CreateRequest(sub.leaf, sub.issuer, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: OCSP: building the request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.responder, bytes.NewReader(reqDER))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: OCSP: %w", err)
	}
	req.Header.Set("Content-Type", "application/ocsp-request")
	req.Header.Set("Accept", "application/ocsp-response")
	res, err := s.client().Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: OCSP: asking %s: %w", sub.responder, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("certs: OCSP: responder %s answered %s", sub.responder, res.Status)
	}
	der, err := io.ReadAll(io.LimitReader(res.Body, ocspMaxResponse+1))
	if err != nil {
		return nil, nil, fmt.Errorf("certs: OCSP: reading the answer of %s: %w", sub.responder, err)
	}
	if len(der) > ocspMaxResponse {
		return nil, nil, fmt.Errorf("certs: OCSP: responder %s answered more than %d bytes", sub.responder, ocspMaxResponse)
	}
	resp, err := ocspVerify(der, sub, now)
	if err != nil {
		return nil, nil, fmt.Errorf("certs: OCSP: response from %s refused: %w", sub.responder, err)
	}
	return der, resp, nil
}

// ocspVerify parses der and checks that it speaks for the leaf, was signed
// by its issuer or a responder the issuer delegated to, and is current.
func ocspVerify(der []byte, sub ocspSubject, now time.Time) (*ocsp.Response, error) {
	resp, err := ocsp.ParseResponseForCert(der, sub.leaf, sub.issuer)
	if err != nil {
		return nil, err
	}
	if resp.SerialNumber == nil || resp.SerialNumber.Cmp(sub.leaf.SerialNumber) != 0 {
		return nil, fmt.Errorf("response is for serial %v, not %v", resp.SerialNumber, sub.leaf.SerialNumber)
	}
	if d := resp.Certificate; d != nil && !d.Equal(sub.issuer) {
		// The parser checks only that an embedded responder certificate was
		// signed by the issuer. Without the checks below, any certificate
		// the CA ever issued, such as another site's server certificate,
		// could sign "good" for a revoked leaf. RFC 6960 §4.2.2.2 requires
		// the id-kp-OCSPSigning usage on a delegated responder.
		if !slices.Contains(d.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return nil, errors.New("the signing certificate is not authorized for OCSP signing")
		}
		if now.Before(d.NotBefore) || now.After(d.NotAfter) {
			return nil, errors.New("the signing certificate is outside its validity period")
		}
	}
	if resp.ThisUpdate.After(now.Add(ocspClockSkew)) {
		return nil, fmt.Errorf("ThisUpdate %s is in the future", resp.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if !resp.NextUpdate.IsZero() {
		if resp.NextUpdate.Before(resp.ThisUpdate) {
			return nil, errors.New("NextUpdate is before ThisUpdate")
		}
		if !now.Before(resp.NextUpdate) {
			return nil, fmt.Errorf("expired: NextUpdate %s has passed", resp.NextUpdate.UTC().Format(time.RFC3339))
		}
	}
	return resp, nil
}

// ocspKeep returns staple if it still verifies for the leaf and its
// NextUpdate is in the future, and nil otherwise.
func ocspKeep(staple []byte, sub ocspSubject, now time.Time) []byte {
	if len(staple) == 0 {
		return nil
	}
	resp, err := ocspVerify(staple, sub, now)
	if err != nil || resp.NextUpdate.IsZero() {
		return nil
	}
	return staple
}

// ocspRefresh returns when to replace resp: halfway through its validity,
// no later than maxRefresh from now and no sooner than ocspMinRefresh.
func ocspRefresh(resp *ocsp.Response, now time.Time, maxRefresh time.Duration) time.Time {
	at := now.Add(maxRefresh)
	if !resp.NextUpdate.IsZero() {
		half := resp.ThisUpdate.Add(resp.NextUpdate.Sub(resp.ThisUpdate) / 2)
		if !half.After(now) {
			// A response cached past its halfway point (by a CDN in front
			// of the responder): ask again halfway through what is left
			// rather than every minute until the cache turns over.
			half = now.Add(resp.NextUpdate.Sub(now) / 2)
		}
		if half.Before(at) {
			at = half
		}
	}
	if earliest := now.Add(ocspMinRefresh); at.Before(earliest) {
		at = earliest
	}
	return at
}

func (s *Stapler) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Stapler) client() *http.Client {
	if s.Client != nil {
		return s.Client
	}
	return &http.Client{Timeout: ocspTimeout}
}

func (s *Stapler) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
